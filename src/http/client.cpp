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

// send_streaming() reads a non-2xx answer whole (the upstream's error message): at most this.
constexpr size_t kMaxErrorBodyBytes = 1 << 20;

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
  using Deadline = detail::ClientTransport::Deadline;
  std::string host;
  uint16_t port;
  ClientOptions options;
  detail::ClientTransport transport;
  boost::beast::flat_buffer buffer;
  bool connected = false;

  // The sooner of the exchange's deadline and now + `step` (0: the exchange's deadline).
  static Deadline step_deadline(Deadline deadline, std::chrono::milliseconds step) {
    if (step.count() <= 0) return deadline;
    return std::min(deadline, std::chrono::steady_clock::now() + step);
  }

  // Reads the header, then the body piece by piece (each read within options.read_timeout).
  // `deliver` receives body pieces as they arrive and returns false to stop (kCancelled); when
  // it is empty, or only_success and the status is not 2xx, the body stays in Response::body.
  Result<Response> exchange(const bhttp::request<bhttp::string_body>& request,
                            const BodySink& deliver, bool only_success, Deadline deadline,
                            bool* nothing_received) {
    *nothing_received = true;
    auto written = transport.run(
        [&request](auto& stream, auto handler) { bhttp::async_write(stream, request, handler); },
        deadline);
    if (!written) return std::unexpected(written.error());
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (request.method() == bhttp::verb::head) parser.skip(true);
    auto header = transport.run(
        [this, &parser](auto& stream, auto handler) {
          bhttp::async_read_header(stream, buffer, parser, handler);
        },
        step_deadline(deadline, options.read_timeout));
    if (!header) {
      *nothing_received = !parser.got_some();
      return std::unexpected(header.error());
    }
    *nothing_received = false;
    const int status = static_cast<int>(parser.get().result_int());
    const bool streamed = deliver && (!only_success || (status >= 200 && status <= 299));
    bool error_too_large = false;
    auto hand_over = [&]() -> bool {
      std::string& body = parser.get().body();
      if (!streamed && only_success && body.size() > kMaxErrorBodyBytes) {
        error_too_large = true;  // an error answer is read whole: it gets a bound
        return false;
      }
      if (!streamed || body.empty()) return true;
      bool more = deliver(body);
      body.clear();  // the string body reader appends at the current size: reading goes on
      return more;
    };
    while (!parser.is_done()) {
      auto read = transport.run(
          [this, &parser](auto& stream, auto handler) {
            bhttp::async_read_some(stream, buffer, parser, handler);
          },
          step_deadline(deadline, options.read_timeout));
      if (!read) return std::unexpected(read.error());
      if (!hand_over()) {
        connected = false;
        transport.close();
        if (error_too_large) {
          return fail(ErrorCode::kIo, "http client: an HTTP " + std::to_string(status) +
                                          " answer's body is over 1 MiB");
        }
        return fail(ErrorCode::kCancelled, "http client: the receiver stopped reading");
      }
    }
    auto& message = parser.get();
    Response response;
    response.status = status;
    for (const auto& field : message) {
      response.headers.push_back({lowercase(field.name_string()), std::string(field.value())});
    }
    response.body = std::move(message.body());
    connected = message.keep_alive();
    if (!connected) transport.close();
    return response;
  }

  Result<Response> send(const Request& request, const BodySink& deliver, bool only_success) {
    auto deadline = std::chrono::steady_clock::now() + options.timeout;
    auto beast_request = to_beast(request, host, port);
    bool reused = connected && transport.is_open();
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!(connected && transport.is_open())) {
        buffer.clear();
        auto status = transport.connect(host, port, options, "http/1.1",
                                        step_deadline(deadline, options.connect_timeout));
        if (!status) return std::unexpected(status.error());
        connected = true;
      }
      bool nothing_received = false;
      auto response = exchange(beast_request, deliver, only_success, deadline, &nothing_received);
      if (response) return response;
      connected = false;
      transport.close();
      // A kept-alive connection the server closed meanwhile: retry once on a fresh one.
      if (!(reused && nothing_received && response.error().code == ErrorCode::kIo)) {
        return response;
      }
      reused = false;
    }
    return fail(ErrorCode::kIo, "http client: unreachable");
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
  if (!on_chunk) return state_->send(request, {}, false);
  return state_->send(
      request,
      [&on_chunk](std::string_view bytes) {
        on_chunk(bytes);
        return true;
      },
      false);
}

Result<Response> Client::send_streaming(const Request& request, const BodySink& sink) {
  return state_->send(request, sink, true);
}

Result<Response> request(const std::string& host, uint16_t port, const Request& request,
                         ClientOptions options) {
  Client client(host, port, std::move(options));
  return client.send(request);
}

}  // namespace plinth::http
