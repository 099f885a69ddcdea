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

// What kind of work a request is, so that one kind can never starve another of threads.
enum class RequestClass {
  kOrdinary,   // model calls and the rest: worker_threads, then a bounded queue, then 429
  kControl,    // /health, /metrics: own threads, never shed, never queued behind model work
  kLongLived,  // responses that stay open for minutes (job events): own bounded pool, then 429
};

// Counters for tests, benchmarks and metrics.
struct ServerStats {
  size_t buffered_body_bytes = 0;       // request body bytes received but not yet handed over
  size_t peak_buffered_body_bytes = 0;  // the most ever buffered at once
  int open_connections = 0;
  uint64_t shed_requests = 0;        // answered 429 because their class of work was full
  uint64_t evicted_connections = 0;  // idle connections closed to make room at max_connections
  uint64_t refused_bodies = 0;       // requests refused because a body budget was spent
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = ephemeral (tests)
  int io_threads = 1;
  int worker_threads = 8;
  size_t max_body_bytes = 8 << 20;
  size_t max_header_bytes = 64 << 10;
  size_t max_headers = 100;
  int max_concurrent_requests = 256;
  // Ordinary requests that may wait for a worker; beyond worker_threads + this, 429 at once
  // (a queue that grows without bound only turns overload into timeouts for everyone).
  int max_queued_requests = 64;
  // An ordinary request expected to wait longer than this for a worker (queue ahead times the
  // recent handler time) is answered 429 at once, and one that did wait longer is answered 429
  // instead of run (0: no limit).
  std::chrono::milliseconds max_queue_wait{0};
  int control_threads = 2;
  // Threads for long-lived responses, and so also how many may be open at once (429 beyond).
  int long_lived_threads = 16;
  // Picks the class of a request (called on an I/O thread: keep it cheap). Empty: all ordinary.
  std::function<RequestClass(const Request&)> classify;
  // Must stay below the process's file descriptor limit (raised at start when it can be).
  int max_connections = 1024;
  // From a request's first byte until its headers are complete, not reset by each byte, so a
  // peer trickling bytes cannot hold a connection slot for longer.
  std::chrono::seconds header_timeout{10};
  std::chrono::seconds request_timeout{300};
  // Once a request's headers are in, its body must arrive at this average rate after the grace
  // period (408 / RST_STREAM otherwise); 0 turns the check off.
  size_t min_body_bytes_per_second = 240;
  std::chrono::seconds body_rate_grace{5};
  // Between requests (HTTP/1.1) or while no stream is open (HTTP/2).
  std::chrono::seconds idle_timeout{60};
  // Request body bytes buffered while receiving, per connection (all its HTTP/2 streams) and
  // across the server; a request that would exceed either is refused (413 / 503).
  size_t connection_body_budget = 32 << 20;
  size_t total_body_budget = 512 << 20;
  uint32_t max_concurrent_streams = 100;  // HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS
  // Both set: TLS with ALPN choosing h2 or http/1.1.
  std::string tls_certificate_file;
  std::string tls_private_key_file;
  // Builds the body of errors the server itself produces (413 body too large, 431 headers,
  // 429 too many requests, 503 body budget spent, 408 timeout, 400 malformed, 500 handler
  // failure), so the API layer can give them its own wire shape. When empty, a plain-text body is
  // used.
  std::function<Response(int status, std::string_view message)> error_response;
};

class Server {
 public:
  // Bound and listening on return.
  static Result<std::unique_ptr<Server>> start(ServerOptions options, Handler handler);
  virtual ~Server() = default;
  virtual uint16_t port() const = 0;
  virtual ServerStats stats() const = 0;
  // Graceful: stop accepting, let in-flight requests finish (for at most request_timeout,
  // capped at 30 s), then close what is left and join threads. Idempotent. Never call it from
  // a handler (it joins the worker threads).
  virtual void stop() = 0;
};

}  // namespace plinth::http
