// Group-by names, time bounds and the usage report's JSON shape.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/ledger/ledger.h"

namespace plinth::ledger {
namespace {

namespace json = boost::json;

TEST(GroupBy, ParsesEveryDocumentedNameAndRejectsOthers) {
  for (std::string_view name : {"model", "principal", "tag", "day", "operation"}) {
    auto parsed = parse_group_by(name);
    ASSERT_TRUE(parsed) << name;
    EXPECT_EQ(to_string(*parsed), name);
  }
  auto bad = parse_group_by("region");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  EXPECT_FALSE(parse_group_by("Model"));
}

TEST(TimeBound, AcceptsUnixSecondsAndIso8601) {
  EXPECT_EQ(*parse_time_bound("1764065503"), 1'764'065'503'000);
  EXPECT_EQ(*parse_time_bound("2025-11-25T10:11:43Z"), 1'764'065'503'000);
  EXPECT_EQ(*parse_time_bound("2025-11-25T10:11:43.250Z"), 1'764'065'503'250);
  EXPECT_EQ(*parse_time_bound("2025-11-25T12:11:43+02:00"), 1'764'065'503'000);
  EXPECT_EQ(*parse_time_bound("2025-11-25"), 1'764'028'800'000);
  EXPECT_EQ(*parse_time_bound("1970-01-01"), 0);
}

TEST(TimeBound, RejectsMalformedTimes) {
  for (std::string_view bad :
       {"", "yesterday", "2025-13-01", "2025-02-30", "2025-11-25T25:00:00Z", "2025-11-25T10:11",
        "2025-11-25T10:11:43Zjunk", "-5", "99999999999999999999"}) {
    EXPECT_FALSE(parse_time_bound(bad)) << bad;
  }
}

TEST(UsageReportJson, HasExactlyTheDocumentedShape) {
  UsageReport report;
  report.groups.push_back({"a", {2, 30, 40, 1'500'000, 1}});
  report.groups.push_back({"b", {1, 5, 6, 7, 0}});
  report.total = {3, 35, 46, 1'500'007, 1};
  json::value body = json::parse(usage_report_json(report));
  json::value expected = json::parse(R"({
    "groups": [
      {"key": "a", "requests": 2, "input_tokens": 30, "output_tokens": 40, "cost_usd": 1.5,
       "escalations": 1},
      {"key": "b", "requests": 1, "input_tokens": 5, "output_tokens": 6, "cost_usd": 0.000007,
       "escalations": 0}],
    "total": {"requests": 3, "input_tokens": 35, "output_tokens": 46, "cost_usd": 1.500007,
              "escalations": 1}})");
  EXPECT_EQ(body, expected) << json::serialize(body);
}

}  // namespace
}  // namespace plinth::ledger
