// The per-provider circuit breaker's state machine.
#include "plinth/upstream/circuit_breaker.h"

namespace plinth::upstream {

CircuitBreaker::CircuitBreaker(BreakerOptions options, std::shared_ptr<Clock> clock)
    : options_(options), clock_(std::move(clock)) {}

bool CircuitBreaker::allow() {
  std::lock_guard lock(mutex_);
  switch (state_) {
    case State::kClosed:
      return true;
    case State::kOpen:
      if (clock_->steady_now() - opened_at_ < options_.open_for) return false;
      state_ = State::kHalfOpen;
      probe_out_ = true;
      return true;
    case State::kHalfOpen:
      if (probe_out_) return false;
      probe_out_ = true;
      return true;
  }
  return false;
}

void CircuitBreaker::record_success() {
  std::lock_guard lock(mutex_);
  state_ = State::kClosed;
  consecutive_failures_ = 0;
  probe_out_ = false;
}

void CircuitBreaker::record_failure() {
  std::lock_guard lock(mutex_);
  ++consecutive_failures_;
  if (state_ == State::kHalfOpen || consecutive_failures_ >= options_.failure_threshold) {
    state_ = State::kOpen;
    opened_at_ = clock_->steady_now();
    probe_out_ = false;
  }
}

CircuitBreaker::State CircuitBreaker::state() const {
  std::lock_guard lock(mutex_);
  return state_;
}

std::string_view to_string(CircuitBreaker::State state) {
  switch (state) {
    case CircuitBreaker::State::kClosed:
      return "closed";
    case CircuitBreaker::State::kOpen:
      return "open";
    case CircuitBreaker::State::kHalfOpen:
      return "half-open";
  }
  return "closed";
}

}  // namespace plinth::upstream
