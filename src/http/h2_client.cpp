// The HTTP/2 client (prior knowledge h2c, or TLS ALPN h2) on nghttp2's client session API.
#include <nghttp2/nghttp2.h>

#include <array>
#include <cctype>
#include <cstring>

#include "client_transport.h"
#include "plinth/http/client.h"

namespace plinth::http {
namespace {

struct ClientStream {
  const Request* request = nullptr;
  size_t body_offset = 0;
  Response response;
  const BodyChunkCallback* on_chunk = nullptr;
  bool closed = false;
  bool got_response = false;
  uint32_t error_code = 0;
};

struct ClientSession {
  std::vector<ClientStream> streams;
  size_t open = 0;

  static ClientStream* stream_of(nghttp2_session* session, int32_t id) {
    return static_cast<ClientStream*>(nghttp2_session_get_stream_user_data(session, id));
  }

  static int on_header(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                       size_t name_length, const uint8_t* value, size_t value_length, uint8_t,
                       void*) {
    if (frame->hd.type != NGHTTP2_HEADERS) return 0;
    ClientStream* stream = stream_of(session, frame->hd.stream_id);
    if (!stream) return 0;
    std::string_view n(reinterpret_cast<const char*>(name), name_length);
    std::string_view v(reinterpret_cast<const char*>(value), value_length);
    if (n == ":status") {
      int status = std::atoi(std::string(v).c_str());
      if (status >= 200) {
        stream->got_response = true;
        stream->response.status = status;
        stream->response.headers.clear();  // drop any 1xx headers
      }
    } else {
      stream->response.headers.push_back({std::string(n), std::string(v)});
    }
    return 0;
  }

  static int on_data(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                     size_t length, void*) {
    ClientStream* stream = stream_of(session, stream_id);
    if (!stream) return 0;
    std::string_view bytes(reinterpret_cast<const char*>(data), length);
    if (stream->on_chunk && *stream->on_chunk) {
      (*stream->on_chunk)(bytes);
    } else {
      stream->response.body.append(bytes);
    }
    return 0;
  }

  static int on_close(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                      void* user_data) {
    ClientStream* stream = stream_of(session, stream_id);
    if (!stream || stream->closed) return 0;
    stream->closed = true;
    stream->error_code = error_code;
    static_cast<ClientSession*>(user_data)->open -= 1;
    return 0;
  }

  static ssize_t read_body(nghttp2_session* session, int32_t stream_id, uint8_t* buffer,
                           size_t length, uint32_t* data_flags, nghttp2_data_source*, void*) {
    ClientStream* stream = stream_of(session, stream_id);
    if (!stream) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    const std::string& body = stream->request->body;
    size_t take = std::min(length, body.size() - stream->body_offset);
    std::memcpy(buffer, body.data() + stream->body_offset, take);
    stream->body_offset += take;
    if (stream->body_offset == body.size()) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    return static_cast<ssize_t>(take);
  }
};

bool skip_request_header(std::string_view lower_name) {
  return lower_name == "host" || lower_name == "connection" || lower_name == "transfer-encoding" ||
         lower_name == "keep-alive" || lower_name == "upgrade" ||
         (!lower_name.empty() && lower_name.front() == ':');
}

Result<std::vector<Response>> run_h2(const std::string& host, uint16_t port,
                                     const std::vector<Request>& requests, ClientOptions options,
                                     const BodyChunkCallback* on_chunk) {
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  detail::ClientTransport transport;
  if (auto status = transport.connect(host, port, options, "h2", deadline); !status) {
    return std::unexpected(status.error());
  }
  if (options.tls && transport.negotiated_protocol() != "h2") {
    return fail(ErrorCode::kIo, "http2 client: server did not negotiate h2");
  }

  ClientSession state;
  state.streams.resize(requests.size());
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, ClientSession::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, ClientSession::on_data);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, ClientSession::on_close);
  nghttp2_session* raw_session = nullptr;
  int rv = nghttp2_session_client_new(&raw_session, callbacks, &state);
  nghttp2_session_callbacks_del(callbacks);
  if (rv != 0) return fail(ErrorCode::kInternal, "http2 client: cannot create a session");
  std::unique_ptr<nghttp2_session, decltype(&nghttp2_session_del)> session(raw_session,
                                                                           nghttp2_session_del);
  nghttp2_submit_settings(session.get(), NGHTTP2_FLAG_NONE, nullptr, 0);

  std::string default_authority = host + ":" + std::to_string(port);
  std::string scheme = options.tls ? "https" : "http";
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& request = requests[i];
    ClientStream& stream = state.streams[i];
    stream.request = &request;
    stream.on_chunk = on_chunk;
    const std::string* authority = request.header(":authority");
    std::vector<std::pair<std::string, std::string>> fields = {
        {":method", request.method.empty() ? "GET" : request.method},
        {":scheme", scheme},
        {":authority", authority ? *authority : default_authority},
        {":path", request.target.empty() ? "/" : request.target},
    };
    for (const Header& h : request.headers) {
      std::string name = h.name;
      for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (!skip_request_header(name)) fields.emplace_back(std::move(name), h.value);
    }
    std::vector<nghttp2_nv> nva;
    for (auto& [name, value] : fields) {
      nva.push_back({reinterpret_cast<uint8_t*>(name.data()),
                     reinterpret_cast<uint8_t*>(value.data()), name.size(), value.size(),
                     NGHTTP2_NV_FLAG_NONE});
    }
    nghttp2_data_provider provider{};
    provider.read_callback = ClientSession::read_body;
    int32_t id = nghttp2_submit_request(session.get(), nullptr, nva.data(), nva.size(),
                                        request.body.empty() ? nullptr : &provider, &stream);
    if (id < 0) return fail(ErrorCode::kInternal, "http2 client: cannot submit a request");
    state.open += 1;
  }

  std::array<char, 16384> chunk{};
  while (true) {
    std::string out;
    while (true) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(session.get(), &data);
      if (n < 0) return fail(ErrorCode::kIo, "http2 client: session error");
      if (n == 0) break;
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (!out.empty()) {
      if (auto status = transport.write_all(out, deadline); !status) {
        return std::unexpected(status.error());
      }
    }
    if (state.open == 0) break;
    auto n = transport.read_some(chunk.data(), chunk.size(), deadline);
    if (!n) return std::unexpected(n.error());
    ssize_t used =
        nghttp2_session_mem_recv(session.get(), reinterpret_cast<const uint8_t*>(chunk.data()), *n);
    if (used < 0) {
      return fail(ErrorCode::kIo,
                  std::string("http2 client: ") + nghttp2_strerror(static_cast<int>(used)));
    }
  }
  std::vector<Response> responses;
  responses.reserve(state.streams.size());
  for (ClientStream& stream : state.streams) {
    if (!stream.got_response) {
      return fail(ErrorCode::kIo,
                  "http2 client: stream reset with error " + std::to_string(stream.error_code));
    }
    responses.push_back(std::move(stream.response));
  }
  return responses;
}

}  // namespace

Result<Response> request_h2(const std::string& host, uint16_t port, const Request& request,
                            ClientOptions options, const BodyChunkCallback& on_chunk) {
  std::vector<Request> one{request};
  auto responses = run_h2(host, port, one, std::move(options), on_chunk ? &on_chunk : nullptr);
  if (!responses) return std::unexpected(responses.error());
  return std::move(responses->front());
}

Result<std::vector<Response>> request_h2_concurrent(const std::string& host, uint16_t port,
                                                    const std::vector<Request>& requests,
                                                    ClientOptions options) {
  return run_h2(host, port, requests, std::move(options), nullptr);
}

}  // namespace plinth::http
