// The HTTP/1.1 client: Beast serialisation and parsing over a deadline-bound connection.
#include "plinth/http/client.h"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cctype>

#include "client_transport.h"

namespace plinth::http {
namespace {

namespace bhttp = boost::beast::http;
namespace asio = boost::asio;

std::string lowercase(std::string_view s) {
  std::string out(s);
  for (char& ch : out) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return out;
}

bhttp::request<bhttp::string_body> to_beast(const Request& request, const std::string& host,
                                            uint16_t port) {
  bhttp::request<bhttp::string_body> out;
  out.method_string(request.method.empty() ? "GET" : request.method);
  out.target(request.target.empty() ? "/" : request.target);
  out.version(11);
  bool has_length = false;
  for (const Header& h : request.headers) {
    if (!h.name.empty() && h.name.front() == ':') continue;  // HTTP/2 pseudo-headers
    if (boost::beast::iequals(h.name, "content-length")) has_length = true;
    out.insert(h.name, h.value);
  }
  if (out.find(bhttp::field::host) == out.end())
    out.set(bhttp::field::host, host + ":" + std::to_string(port));
  out.body() = request.body;
  if (!has_length && out.find(bhttp::field::transfer_encoding) == out.end()) {
    if (!request.body.empty() || request.method == "POST" || request.method == "PUT") {
      out.content_length(request.body.size());
    }
  }
  return out;
}

}  // namespace

struct Client::State {
  std::string host;
  uint16_t port;
  ClientOptions options;
  detail::ClientTransport transport;
  boost::beast::flat_buffer buffer;
  bool connected = false;

  Result<Response> exchange(const bhttp::request<bhttp::string_body>& request,
                            const BodyChunkCallback& on_chunk,
                            detail::ClientTransport::Deadline deadline, bool* nothing_received) {
    *nothing_received = true;
    auto written = transport.run(
        [&request](auto& stream, auto handler) { bhttp::async_write(stream, request, handler); },
        deadline);
    if (!written) return std::unexpected(written.error());
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request.method() == bhttp::verb::head) parser.skip(true);
    auto on_chunk_body = [&on_chunk](std::uint64_t, boost::string_view body,
                                     boost::system::error_code&) -> std::size_t {
      on_chunk(std::string_view(body.data(), body.size()));
      return body.size();
    };
    if (on_chunk) parser.on_chunk_body(on_chunk_body);
    auto read = transport.run(
        [this, &parser](auto& stream, auto handler) {
          bhttp::async_read(stream, buffer, parser, handler);
        },
        deadline);
    if (!read) {
      *nothing_received = parser.got_some() == false;
      return std::unexpected(read.error());
    }
    *nothing_received = false;
    auto& message = parser.get();
    Response response;
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.push_back({lowercase(field.name_string()), std::string(field.value())});
    }
    response.body = std::move(message.body());
    if (on_chunk && !response.body.empty()) {
      on_chunk(response.body);  // not chunked: delivered whole
      response.body.clear();
    }
    connected = message.keep_alive();
    if (!connected) transport.close();
    return response;
  }
};

Client::Client(std::string host, uint16_t port, ClientOptions options)
    : state_(std::make_unique<State>()) {
  state_->host = std::move(host);
  state_->port = port;
  state_->options = std::move(options);
}

Client::~Client() = default;

bool Client::connected() const { return state_->connected && state_->transport.is_open(); }

Result<Response> Client::send(const Request& request, const BodyChunkCallback& on_chunk) {
  auto deadline = std::chrono::steady_clock::now() + state_->options.timeout;
  auto beast_request = to_beast(request, state_->host, state_->port);
  bool reused = connected();
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!connected()) {
      state_->buffer.clear();
      auto status = state_->transport.connect(state_->host, state_->port, state_->options,
                                              "http/1.1", deadline);
      if (!status) return std::unexpected(status.error());
      state_->connected = true;
    }
    bool nothing_received = false;
    auto response = state_->exchange(beast_request, on_chunk, deadline, &nothing_received);
    if (response) return response;
    state_->connected = false;
    state_->transport.close();
    // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
    if (!(reused && nothing_received && response.error().code == ErrorCode::kIo)) return response;
    reused = false;
  }
  return fail(ErrorCode::kIo, "http client: unreachable");
}

Result<Response> request(const std::string& host, uint16_t port, const Request& request,
                         ClientOptions options) {
  Client client(host, port, std::move(options));
  return client.send(request);
}

}  // namespace plinth::http
