// plinth::compat::expected, the std::expected stand-in result.h uses on clang 14 + libstdc++ 12.
#include "plinth/core/expected_compat.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "plinth/core/result.h"

namespace plinth::compat {
namespace {

struct Base {
  virtual ~Base() = default;
};
struct Derived : Base {};

expected<std::string, Error> name(bool good) {
  if (good) return "plinth";  // converts like std::expected: const char* -> std::string
  return unexpected(Error(ErrorCode::kNotFound, "no name"));
}

TEST(ExpectedCompat, HoldsAValueOrAnError) {
  auto good = name(true);
  ASSERT_TRUE(good);
  EXPECT_EQ(*good, "plinth");
  EXPECT_EQ(good->size(), 6u);
  EXPECT_EQ(good.value_or("other"), "plinth");
  auto bad = name(false);
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(bad.value_or("other"), "other");
  EXPECT_THROW((void)bad.value(), bad_expected_access<Error>);
}

TEST(ExpectedCompat, ConvertsMoveOnlyAndDerivedValues) {
  expected<std::unique_ptr<Base>, Error> held = std::make_unique<Derived>();
  ASSERT_TRUE(held);
  std::unique_ptr<Base> taken = std::move(*held);
  EXPECT_NE(taken, nullptr);
  expected<long, Error> widened = expected<int, Error>(7);
  EXPECT_EQ(*widened, 7);
}

TEST(ExpectedCompat, VoidCarriesOnlyAnError) {
  expected<void, Error> fine;
  EXPECT_TRUE(fine);
  expected<void, Error> failed = unexpected(Error(ErrorCode::kIo, "disk"));
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "disk");
  EXPECT_THROW(failed.value(), bad_expected_access<Error>);
}

TEST(ExpectedCompat, ValueAndErrorMayShareAType) {
  expected<int, int> value(std::in_place, 1);
  expected<int, int> error(unexpect, 2);
  EXPECT_TRUE(value);
  EXPECT_EQ(*value, 1);
  EXPECT_FALSE(error);
  EXPECT_EQ(error.error(), 2);
}

TEST(ExpectedCompat, MonadicOperationsFollowTheStandard) {
  expected<int, std::string> three = 3;
  auto doubled = three.transform([](int v) { return v * 2; });
  EXPECT_EQ(*doubled, 6);
  auto chained =
      three.and_then([](int v) -> expected<std::string, std::string> { return std::to_string(v); });
  EXPECT_EQ(*chained, "3");
  expected<int, std::string> missing = unexpected(std::string("gone"));
  EXPECT_EQ(missing.transform([](int v) { return v + 1; }).error(), "gone");
  auto recovered =
      missing.or_else([](const std::string&) { return expected<int, std::string>(9); });
  EXPECT_EQ(*recovered, 9);
  EXPECT_EQ(missing.transform_error([](const std::string& e) { return e.size(); }).error(), 4u);
}

TEST(ExpectedCompat, AssignmentSwitchesBetweenValueAndError) {
  expected<std::string, Error> r = std::string("a");
  r = unexpected(Error(ErrorCode::kIo, "x"));
  EXPECT_FALSE(r);
  r = std::string("b");
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "b");
  EXPECT_TRUE(r == std::string("b"));
}

TEST(ExpectedCompat, FailFromResultHIsAcceptedByBothImplementations) {
  // Result<T> is std::expected on GCC 12 and this class on clang 14: plinth::fail fits both.
  Result<int> r = fail(ErrorCode::kThrottled, "slow down");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kThrottled);
}

}  // namespace
}  // namespace plinth::compat
