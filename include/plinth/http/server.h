// The HTTP server: HTTP/1.1, h2c with prior knowledge and TLS (ALPN h2/http1.1) on one port.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/http/message.h"

namespace plinth::http {

// A streaming response body (HTTP/1.1 chunked, HTTP/2 DATA frames, flushed promptly).
class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  // Queues bytes for the client; blocks while about 1 MiB is already queued for a slow client.
  // False once the client has gone (then stop writing).
  virtual bool write(std::string_view bytes) = 0;
  // End of body (also done by the destructor).
  virtual void finish() = 0;
};

// One request/response exchange, handed to the handler. The exchange and any stream it starts
// are valid only until the handler returns: handlers stream from their own thread.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // Sends the whole response. Call exactly once, or call start_stream instead.
  virtual void respond(Response response) = 0;
  virtual std::unique_ptr<ResponseStream> start_stream(int status, std::vector<Header> headers) = 0;
  // True once the client disconnected or reset the stream.
  virtual bool client_gone() const = 0;
};

// Called on a worker thread (never an I/O thread): handlers may block (model inference).
// A handler that neither responds nor streams gets a 500; one that throws gets a 500 too.
using Handler = std::function<void(const Request&, Exchange&)>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral (tests)
  int io_threads = 1;
  int worker_threads = 8;
  size_t max_body_bytes = 8 << 20;
  size_t max_header_bytes = 64 << 10;
  size_t max_headers = 100;
  int max_concurrent_requests = 256;
  int max_connections = 1024;
  std::chrono::seconds request_timeout{300};
  std::chrono::seconds idle_timeout{60};
  // Both set: TLS with ALPN choosing h2 or http/1.1.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // Builds the body of errors the server itself produces (413 body too large, 431 headers,
  // 429 too many concurrent requests, 408 timeout, 400 malformed, 500 handler failure), so the
  // API layer can give them its own wire shape. When empty, a plain-text body is used.
  std::function<Response(int status, std::string_view message)> error_response;
};

class Server {
 public:
  // Bound and listening on return.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  // Graceful: stop accepting, let in-flight requests finish (for at most request_timeout,
  // capped at 30 s), then close what is left and join threads. Idempotent. Never call it from
  // a handler (it joins the worker threads).
  virtual void stop() = 0;
};

}  // namespace plinth::http
