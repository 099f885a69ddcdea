// A circuit breaker per upstream provider: closed, open after consecutive failures, half-open.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>

#include "plinth/core/clock.h"

namespace plinth::upstream {

struct BreakerOptions {
  // Consecutive failures (connection errors, timeouts, 5xx) that open the circuit.
  int failure_threshold = 5;
  // How long an open circuit refuses calls before it lets one probe through (half-open).
  std::chrono::milliseconds open_for{30000};
};

// Closed: calls go through; a run of failure_threshold failures opens it. Open: calls are
// refused without touching the network until open_for has passed. Half-open: one probe call at
// a time goes through; its success closes the circuit, its failure opens it again.
class CircuitBreaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };

  CircuitBreaker(BreakerOptions options, std::shared_ptr<Clock> clock);

  // Whether a call may go out now. In half-open, true for one caller until it reports back.
  bool allow();
  void record_success();
  void record_failure();
  State state() const;

 private:
  const BreakerOptions options_;
  const std::shared_ptr<Clock> clock_;
  mutable std::mutex mutex_;
  State state_ = State::kClosed;                       // guarded by mutex_
  int consecutive_failures_ = 0;                       // guarded by mutex_
  bool probe_out_ = false;                             // guarded by mutex_
  std::chrono::steady_clock::time_point opened_at_{};  // guarded by mutex_
};

std::string_view to_string(CircuitBreaker::State state);

}  // namespace plinth::upstream
