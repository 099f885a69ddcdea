// Injectable time: production code asks a Clock, tests substitute a ManualClock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace plinth {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time (for signatures, expiry, ledger timestamps).
  virtual std::chrono::system_clock::time_point now() const = 0;
  // Monotonic time (for latency and timeouts).
  virtual std::chrono::steady_clock::time_point steady_now() const = 0;

  int64_t unix_seconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(now().time_since_epoch()).count();
  }

  // The process-wide real clock.
  static std::shared_ptr<Clock> real();
};

// A clock that only moves when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t unix_seconds = 0) : micros_(unix_seconds * 1'000'000) {}
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::time_point(std::chrono::microseconds(micros_.load()));
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::time_point(std::chrono::microseconds(micros_.load()));
  }
  void set_unix_seconds(int64_t s) { micros_ = s * 1'000'000; }
  void advance(std::chrono::microseconds d) { micros_ += d.count(); }

 private:
  std::atomic<int64_t> micros_;
};

}  // namespace plinth
