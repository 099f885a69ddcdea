// A small blocking HTTP client: HTTP/1.1 (optionally TLS) and HTTP/2 prior knowledge (h2c).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/http/message.h"

namespace plinth::http {

struct ClientOptions {
  std::chrono::milliseconds timeout{30000};  // whole exchange
  // Longest wait for the connection (resolve, connect, TLS) and for each next piece of a
  // response; 0 = bounded by `timeout` only. A streamed answer may run longer than either.
  std::chrono::milliseconds connect_timeout{0};
  std::chrono::milliseconds read_timeout{0};
  bool tls = false;
  bool verify_peer = true;  // TLS only
  std::string ca_file;      // TLS only; empty = system store
  std::string server_name;  // SNI / verification name; empty = host
};

// Called with each piece of a response body as it arrives (streaming responses).
using BodyChunkCallback = std::function<void(std::string_view bytes)>;
// Called with each piece of a successful (2xx) response body; false stops reading (the
// connection is closed and send_streaming answers kCancelled).
using BodySink = std::function<bool(std::string_view bytes)>;

// A keep-alive HTTP/1.1 connection to one host:port. Not thread-safe: one exchange at a time.
// Reconnects transparently when the server closed the previous connection.
class Client {
 public:
  Client(std::string host, uint16_t port, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Sends request.method/target/headers/body ("host" and "content-length" are added when
  // missing). With on_chunk, body bytes are handed over as they arrive and Response::body stays
  // empty.
  Result<Response> send(const Request& request, const BodyChunkCallback& on_chunk = {});
  // Like send(), but only a 2xx body goes to `sink` as it arrives; any other status comes back
  // whole in Response::body (an upstream's error message). Not retried once a byte went to sink.
  Result<Response> send_streaming(const Request& request, const BodySink& sink);
  // True when the last exchange left the connection open for reuse.
  bool connected() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// One-shot HTTP/1.1 exchange on a fresh connection.
Result<Response> request(const std::string& host, uint16_t port, const Request& request,
                         ClientOptions options = {});

// One-shot HTTP/2 exchange with prior knowledge over cleartext (h2c), or over TLS with ALPN "h2"
// when options.tls. Request headers named ":authority" set that pseudo-header (default
// host:port). With on_chunk, DATA is handed over as it arrives.
Result<Response> request_h2(const std::string& host, uint16_t port, const Request& request,
                            ClientOptions options = {}, const BodyChunkCallback& on_chunk = {});

// Sends every request at once as concurrent streams of one HTTP/2 connection (h2c prior
// knowledge, or TLS with ALPN "h2" when options.tls); responses come back in request order.
Result<std::vector<Response>> request_h2_concurrent(const std::string& host, uint16_t port,
                                                    const std::vector<Request>& requests,
                                                    ClientOptions options = {});

}  // namespace plinth::http
