// The SQLite ledger's time series (hour and day buckets, per model or tag) on a real database
// file, and the JSON bodies of GET /v1/usage/series and /v1/usage/recent.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "ledger_backend.h"
#include "plinth/ledger/ledger.h"

namespace plinth::ledger {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kHour = 3'600'000;
constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMidnight = 1'764'028'800'000;  // 2025-11-25T00:00:00Z

class UsageSeriesTest : public ::testing::TestWithParam<std::string> {
 protected:
  UsageSeriesTest() : backend_(GetParam()) {
    auto ledger = backend_.open();
    EXPECT_TRUE(ledger) << ledger.error().message;
    if (ledger) ledger_ = std::move(*ledger);
  }
  ~UsageSeriesTest() override { ledger_.reset(); }

  void record(int64_t time_ms, std::string model, std::string tag, int64_t in, bool escalated) {
    UsageRecord r;
    r.time_ms = time_ms;
    r.principal_arn = "arn:aws:iam::000000000000:user/alice";
    r.application_tag = std::move(tag);
    r.operation = "Converse";
    r.model_requested = model;
    r.model_used = std::move(model);
    r.input_tokens = in;
    r.output_tokens = 2 * in;
    r.cost_micro_usd = 10 * in;
    r.escalated = escalated;
    r.status = "200";
    r.request_id = "req-" + std::to_string(++calls_);
    ledger_->record(std::move(r));
  }

  UsageSeries series(SeriesBucket bucket, GroupBy by, int64_t from, int64_t to) {
    auto answer = ledger_->series({bucket, by, from, to});
    EXPECT_TRUE(answer) << answer.error().message;
    return answer ? *answer : UsageSeries{};
  }

  testing::LedgerBackend backend_;
  std::unique_ptr<Ledger> ledger_;
  int calls_ = 0;
};

TEST_P(UsageSeriesTest, HourBucketsAreDenseWithOneLinePerModelSortedByKey) {
  record(kMidnight + 5 * kMinute, "small", "invoices", 1, false);
  record(kMidnight + 50 * kMinute, "small", "support", 2, false);
  record(kMidnight + 2 * kHour + 1, "large", "invoices", 4, true);

  UsageSeries s = series(SeriesBucket::kHour, GroupBy::kModel, kMidnight, kMidnight + 3 * kHour);
  EXPECT_EQ(s.bucket, SeriesBucket::kHour);
  EXPECT_EQ(s.buckets, (std::vector<int64_t>{kMidnight, kMidnight + kHour, kMidnight + 2 * kHour}));
  ASSERT_EQ(s.series.size(), 2u);
  EXPECT_EQ(s.series[0].key, "large");
  EXPECT_EQ(s.series[1].key, "small");
  const auto& large = s.series[0].points;
  const auto& small = s.series[1].points;
  ASSERT_EQ(large.size(), 3u);
  ASSERT_EQ(small.size(), 3u);
  EXPECT_EQ(small[0].requests, 2);
  EXPECT_EQ(small[0].input_tokens, 3);
  EXPECT_EQ(small[0].output_tokens, 6);
  EXPECT_EQ(small[0].cost_micro_usd, 30);
  EXPECT_EQ(small[1].requests, 0);
  EXPECT_EQ(small[2].requests, 0);
  EXPECT_EQ(large[0].requests, 0);
  EXPECT_EQ(large[2].requests, 1);
  EXPECT_EQ(large[2].escalations, 1);
  EXPECT_EQ(large[2].cost_micro_usd, 40);
}

TEST_P(UsageSeriesTest, EveryCallLandsInItsBucketOnceAcrossWholeAndPartialHours) {
  // One call every 10 minutes for 5 hours, committed in several batches, alternating tags.
  for (int i = 0; i < 30; ++i) {
    record(kMidnight + i * 10 * kMinute, "m", i % 2 ? "a" : "b", i, false);
    if (i % 7 == 0) {
      ASSERT_TRUE(ledger_->flush());
    }
  }
  auto check = [&](int64_t from_minute, int64_t to_minute) {
    int64_t from = kMidnight + from_minute * kMinute;
    int64_t to = kMidnight + to_minute * kMinute;
    UsageSeries s = series(SeriesBucket::kHour, GroupBy::kTag, from, to);
    ASSERT_FALSE(s.buckets.empty());
    EXPECT_EQ(s.buckets.front(), kMidnight + from_minute / 60 * kHour);
    for (const SeriesLine& line : s.series) {
      for (size_t b = 0; b < s.buckets.size(); ++b) {
        int64_t requests = 0, input_tokens = 0;
        for (int i = 0; i < 30; ++i) {
          int64_t t = kMidnight + i * 10 * kMinute;
          if (t >= from && t < to && t >= s.buckets[b] && t < s.buckets[b] + kHour &&
              line.key == (i % 2 ? "a" : "b")) {
            ++requests;
            input_tokens += i;
          }
        }
        EXPECT_EQ(line.points[b].requests, requests)
            << line.key << " bucket " << b << " range " << from_minute << ".." << to_minute;
        EXPECT_EQ(line.points[b].input_tokens, input_tokens) << line.key << " bucket " << b;
      }
    }
    // The series adds up to the grouped report over the same range.
    auto report = ledger_->query({GroupBy::kTag, from, to});
    ASSERT_TRUE(report);
    int64_t total = 0;
    for (const SeriesLine& line : s.series) {
      for (const UsageTotals& point : line.points) total += point.requests;
    }
    EXPECT_EQ(total, report->total.requests) << from_minute << ".." << to_minute;
  };
  check(25, 215);  // partial hour, two whole hours, partial hour
  check(60, 180);  // whole hours only
  check(0, 300);
  check(5, 55);   // inside one hour
  check(50, 70);  // across one hour boundary, no whole hour
}

TEST_P(UsageSeriesTest, DayBucketsStartAtUtcMidnight) {
  record(kMidnight - kMinute, "m", "", 1, false);     // the day before
  record(kMidnight + 10 * kHour, "m", "", 2, false);  // read from the hourly roll-up
  record(kMidnight + kDay + kMinute, "m", "", 4, false);
  UsageSeries s =
      series(SeriesBucket::kDay, GroupBy::kTag, kMidnight - kHour, kMidnight + 2 * kDay);
  EXPECT_EQ(s.buckets, (std::vector<int64_t>{kMidnight - kDay, kMidnight, kMidnight + kDay}));
  ASSERT_EQ(s.series.size(), 1u);
  EXPECT_EQ(s.series[0].key, "");
  EXPECT_EQ(s.series[0].points[0].input_tokens, 1);
  EXPECT_EQ(s.series[0].points[1].input_tokens, 2);
  EXPECT_EQ(s.series[0].points[2].input_tokens, 4);
}

TEST_P(UsageSeriesTest, RejectsEmptyNegativeAndTooLongRanges) {
  for (SeriesQuery bad : {SeriesQuery{SeriesBucket::kHour, GroupBy::kModel, kMidnight, kMidnight},
                          SeriesQuery{SeriesBucket::kHour, GroupBy::kModel, kMidnight, 0},
                          SeriesQuery{SeriesBucket::kDay, GroupBy::kModel, -kDay, kMidnight},
                          SeriesQuery{SeriesBucket::kHour, GroupBy::kModel, 0, kMidnight}}) {
    auto answer = ledger_->series(bad);
    ASSERT_FALSE(answer);
    EXPECT_EQ(answer.error().code, ErrorCode::kInvalidArgument);
  }
  auto longest = ledger_->series(
      {SeriesBucket::kDay, GroupBy::kModel, kMidnight, kMidnight + kMaxSeriesBuckets * kDay});
  ASSERT_TRUE(longest) << longest.error().message;
  EXPECT_EQ(static_cast<int64_t>(longest->buckets.size()), kMaxSeriesBuckets);
}

TEST(SeriesBucket, ParsesHourAndDayOnly) {
  EXPECT_EQ(*parse_series_bucket("hour"), SeriesBucket::kHour);
  EXPECT_EQ(*parse_series_bucket("day"), SeriesBucket::kDay);
  EXPECT_EQ(bucket_ms(SeriesBucket::kDay), kDay);
  auto bad = parse_series_bucket("week");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST(UsageSeriesJson, HasTheDocumentedShape) {
  UsageSeries s;
  s.bucket = SeriesBucket::kHour;
  s.buckets = {kMidnight, kMidnight + kHour};
  s.series.push_back({"small", {UsageTotals{2, 30, 6, 1'500'000, 1}, UsageTotals{}}});
  EXPECT_EQ(json::parse(usage_series_json(s)), json::parse(R"({
    "bucket": "hour", "buckets": [1764028800000, 1764032400000],
    "series": [{"key": "small", "requests": [2, 0], "input_tokens": [30, 0],
                "output_tokens": [6, 0], "cost_usd": [1.5, 0.0], "escalations": [1, 0]}]})"));
}

TEST(UsageCallsJson, NamesEveryRecordFieldInSnakeCase) {
  UsageRecord r;
  r.time_ms = kMidnight;
  r.principal_arn = "arn:aws:iam::000000000000:user/alice";
  r.application_tag = "invoices";
  r.model_requested = "small";
  r.model_used = "qwen2-small";
  r.input_tokens = 7;
  r.cost_micro_usd = 250;
  r.escalated = true;
  r.escalation_reason = "schema";
  r.status = "200";
  json::value body = json::parse(usage_calls_json({r}));
  const json::object& call = body.at("calls").at(0).as_object();
  EXPECT_EQ(call.at("time_ms"), kMidnight);
  EXPECT_EQ(call.at("application_tag"), "invoices");
  EXPECT_EQ(call.at("model_requested"), "small");
  EXPECT_EQ(call.at("model_used"), "qwen2-small");
  EXPECT_EQ(call.at("cost_micro_usd"), 250);
  EXPECT_EQ(call.at("cost_usd").as_double(), 0.00025);
  EXPECT_EQ(call.at("escalated"), true);
  EXPECT_EQ(call.at("escalation_reason"), "schema");
  for (std::string_view field : {"account_id", "role_session", "operation", "output_tokens",
                                 "latency_ms", "status", "request_id"}) {
    EXPECT_TRUE(call.contains(field)) << field;
  }
  EXPECT_EQ(json::parse(usage_calls_json({})), json::parse(R"({"calls":[]})"));
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageSeriesTest, testing::kLedgerBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace plinth::ledger
