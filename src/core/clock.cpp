// The real clock.
#include "plinth/core/clock.h"

namespace plinth {
namespace {

class RealClock final : public Clock {
 public:
  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }
  std::chrono::steady_clock::time_point steady_now() const override {
    return std::chrono::steady_clock::now();
  }
};

}  // namespace

std::shared_ptr<Clock> Clock::real() {
  static const auto clock = std::make_shared<RealClock>();
  return clock;
}

}  // namespace plinth
