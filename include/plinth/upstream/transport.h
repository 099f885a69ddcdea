// The HTTP transport every upstream provider kind uses: a bounded pool of keep-alive
// connections, connect/read timeouts, retries with exponential backoff and full jitter, and a
// circuit breaker; upstream failures as Errors that each API maps to its own error types.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/http/client.h"
#include "plinth/http/message.h"
#include "plinth/upstream/circuit_breaker.h"

namespace plinth::upstream {

// Where an upstream answers: "https://host[:port][/base/path]".
struct Endpoint {
  std::string host;
  uint16_t port = 80;
  bool tls = false;
  std::string base_path;  // without a trailing '/', e.g. "/v1"; "" for the root
};

// kInvalidArgument on anything but http(s)://host[:port][/path] (no query, no user info).
Result<Endpoint> parse_endpoint(std::string_view url);

struct TransportOptions {
  std::string provider_id;  // named in error messages
  Endpoint endpoint;
  // Connect, and each wait for the next bytes of an answer (a long stream may run longer).
  std::chrono::milliseconds timeout{60000};
  // The longest a whole exchange may take (streams included).
  std::chrono::milliseconds exchange_timeout{600000};
  int max_retries = 2;       // retries after the first try, on 429, 5xx and connection errors
  int max_connections = 64;  // open at once; callers beyond it wait up to `timeout`
  std::chrono::milliseconds backoff_base{100};  // retry n sleeps rand[0, min(cap, base * 2^n)]
  std::chrono::milliseconds backoff_cap{2000};
  BreakerOptions breaker;
  std::shared_ptr<Clock> clock;    // default: the real clock
  std::shared_ptr<Random> random;  // default: secure randomness (jitter)
  // How a retry waits (tests record instead of sleeping); default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// 429, 5xx: worth another try (elsewhere or later).
bool retryable_status(int status);
// Whether an Error from a provider call is worth a fallback: throttled, unavailable, timed out,
// or a connection failure.
bool retryable_error(const Error& error);

// An upstream's non-2xx answer as an Error with its message: 429 -> kThrottled (Bedrock
// ThrottlingException), 5xx -> kUnavailable (ServiceUnavailableException), 408/504 -> kTimeout
// (ModelTimeoutException), 413 -> kPayloadTooLarge, 404 -> kNotFound, 401/403 -> kUnavailable
// (the gateway's own credentials were refused upstream: not the caller's fault, and a fallback
// may answer), other 4xx -> kInvalidArgument (ValidationException) passing the upstream's
// message through.
Error status_error(std::string_view provider_id, int status, std::string_view message);

class Transport {
 public:
  explicit Transport(TransportOptions options);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Sends `request` (its target is appended to the endpoint's base path). Retries on 429, 5xx,
  // connection errors and timeouts, at most max_retries times, never once a byte of the body
  // went to `sink` (a stream that reached the caller is not replayed). With `sink`, a 2xx body
  // goes to it as it arrives and Response::body stays empty. Answers the final Response for any
  // status the upstream gave (the caller reads its error format), or an Error when no answer
  // came: kUnavailable (connection failed, circuit open), kTimeout, kCancelled.
  Result<http::Response> send(http::Request request, const http::BodySink& sink = {},
                              const std::atomic<bool>* cancel = nullptr);
  // send() collecting a 2xx body into Response::body, refusing (kUnavailable) an answer over
  // max_body_bytes instead of buffering it.
  Result<http::Response> send_bounded(http::Request request, size_t max_body_bytes,
                                      const std::atomic<bool>* cancel = nullptr);

  CircuitBreaker& breaker();
  const TransportOptions& options() const;
  // Connections open now (busy or idle), for tests of the pool's bound.
  int open_connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::upstream
