// The circuit breaker's states on a manual clock.
#include "plinth/upstream/circuit_breaker.h"

#include <gtest/gtest.h>

namespace plinth::upstream {
namespace {

using State = CircuitBreaker::State;

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndRefusesUntilTheWaitPassed) {
  auto clock = std::make_shared<ManualClock>(1000);
  CircuitBreaker breaker({.failure_threshold = 3, .open_for = std::chrono::seconds(10)}, clock);
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(breaker.allow());
    breaker.record_failure();
  }
  EXPECT_EQ(breaker.state(), State::kClosed);
  ASSERT_TRUE(breaker.allow());
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.allow());
  clock->advance(std::chrono::seconds(9));
  EXPECT_FALSE(breaker.allow());
  clock->advance(std::chrono::seconds(1));
  EXPECT_TRUE(breaker.allow());  // the probe
  EXPECT_EQ(breaker.state(), State::kHalfOpen);
  EXPECT_FALSE(breaker.allow());  // one probe at a time
  breaker.record_success();
  EXPECT_EQ(breaker.state(), State::kClosed);
  EXPECT_TRUE(breaker.allow());
}

TEST(CircuitBreaker, AFailedProbeOpensItAgain) {
  auto clock = std::make_shared<ManualClock>(1000);
  CircuitBreaker breaker({.failure_threshold = 1, .open_for = std::chrono::seconds(5)}, clock);
  breaker.record_failure();
  clock->advance(std::chrono::seconds(5));
  ASSERT_TRUE(breaker.allow());
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), State::kOpen);
  EXPECT_FALSE(breaker.allow());
}

TEST(CircuitBreaker, ASuccessResetsTheFailureCount) {
  auto clock = std::make_shared<ManualClock>(1000);
  CircuitBreaker breaker({.failure_threshold = 2, .open_for = std::chrono::seconds(5)}, clock);
  breaker.record_failure();
  breaker.record_success();
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), State::kClosed);
  breaker.record_failure();
  EXPECT_EQ(breaker.state(), State::kOpen);
}

}  // namespace
}  // namespace plinth::upstream
