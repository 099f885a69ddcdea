// The ledger on both backends (a SQLite file, a PostgreSQL database): costs, grouping, time ranges,
// durability and concurrent writers.
#include "plinth/ledger/ledger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "ledger_backend.h"
#include "plinth/catalog/catalog.h"

namespace plinth::ledger {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kMidnight = 1'764'028'800'000;  // 2025-11-25T00:00:00Z

class LedgerTest : public ::testing::TestWithParam<std::string> {
 protected:
  LedgerTest() : backend_(GetParam()) { reopen(); }
  ~LedgerTest() override { ledger_.reset(); }

  void reopen() {
    ledger_.reset();
    auto ledger = backend_.open();
    ASSERT_TRUE(ledger) << ledger.error().message;
    ledger_ = std::move(*ledger);
  }

  static UsageRecord call(int64_t time_ms, std::string principal, std::string tag,
                          std::string model, std::string operation, int64_t in, int64_t out,
                          int64_t cost) {
    UsageRecord r;
    r.time_ms = time_ms;
    r.account_id = "000000000000";
    r.principal_arn = std::move(principal);
    r.application_tag = std::move(tag);
    r.operation = std::move(operation);
    r.model_requested = model;
    r.model_used = std::move(model);
    r.input_tokens = in;
    r.output_tokens = out;
    r.latency_ms = 12;
    r.cost_micro_usd = cost;
    r.status = "200";
    static std::atomic<int64_t> calls = 0;  // request ids are unique per call, as the gateway's
    r.request_id = "req-" + std::to_string(time_ms) + "-" + std::to_string(++calls);
    return r;
  }

  UsageReport query(GroupBy group_by, int64_t from = 0,
                    int64_t to = std::numeric_limits<int64_t>::max()) {
    auto report = ledger_->query({group_by, from, to});
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : UsageReport{};
  }

  testing::LedgerBackend backend_;
  std::unique_ptr<Ledger> ledger_;
};

const std::string kAlice = "arn:aws:iam::000000000000:user/alice";
const std::string kBob = "arn:aws:iam::000000000000:user/bob";

TEST_P(LedgerTest, RecordsCostsToTheMicroDollarFromCatalogPrices) {
  catalog::ModelEntry haiku{
      "haiku", {}, catalog::ModelKind::kText, catalog::ModelTier::kSmall, 0.25, 1.25, 0};
  catalog::ModelEntry sonnet{
      "sonnet", {}, catalog::ModelKind::kText, catalog::ModelTier::kLarge, 3.0, 15.0, 0};
  // 1234 * 0.25 + 567 * 1.25 = 308.5 + 708.75 = 1017.25 µ$ -> 1017; 3 * 3 + 1 * 15 = 24 µ$.
  int64_t haiku_cost = catalog::compute_cost(haiku, 1234, 567).micro_usd();
  int64_t sonnet_cost = catalog::compute_cost(sonnet, 3, 1).micro_usd();
  ASSERT_EQ(haiku_cost, 1017);
  ASSERT_EQ(sonnet_cost, 24);
  ledger_->record(call(kMidnight + 1, kAlice, "", "haiku", "Converse", 1234, 567, haiku_cost));
  ledger_->record(call(kMidnight + 2, kAlice, "", "haiku", "Converse", 1234, 567, haiku_cost));
  ledger_->record(call(kMidnight + 3, kBob, "", "sonnet", "Converse", 3, 1, sonnet_cost));
  ASSERT_TRUE(ledger_->flush());

  UsageReport report = query(GroupBy::kModel);
  ASSERT_EQ(report.groups.size(), 2u);
  EXPECT_EQ(report.groups[0].key, "haiku");
  EXPECT_EQ(report.groups[0].totals.requests, 2);
  EXPECT_EQ(report.groups[0].totals.input_tokens, 2468);
  EXPECT_EQ(report.groups[0].totals.output_tokens, 1134);
  EXPECT_EQ(report.groups[0].totals.cost_micro_usd, 2034);
  EXPECT_EQ(report.groups[1].key, "sonnet");
  EXPECT_EQ(report.groups[1].totals.cost_micro_usd, 24);
  EXPECT_EQ(report.total.requests, 3);
  EXPECT_EQ(report.total.cost_micro_usd, 2058);
  EXPECT_DOUBLE_EQ(report.total.cost_usd(), 0.002058);
}

TEST_P(LedgerTest, GroupsByEveryKeySortedByKey) {
  ledger_->record(call(kMidnight + 10, kBob, "billing", "m2", "InvokeModel", 1, 2, 3));
  ledger_->record(call(kMidnight + kDay + 10, kAlice, "search", "m1", "Converse", 10, 20, 30));
  UsageRecord escalated = call(kMidnight + 20, kAlice, "billing", "m1", "Converse", 100, 200, 300);
  escalated.escalated = true;
  escalated.escalation_reason = "max_tokens";
  ledger_->record(escalated);

  UsageReport by_model = query(GroupBy::kModel);
  ASSERT_EQ(by_model.groups.size(), 2u);
  EXPECT_EQ(by_model.groups[0].key, "m1");
  EXPECT_EQ(by_model.groups[0].totals.requests, 2);
  EXPECT_EQ(by_model.groups[0].totals.input_tokens, 110);
  EXPECT_EQ(by_model.groups[0].totals.escalations, 1);
  EXPECT_EQ(by_model.groups[1].key, "m2");
  EXPECT_EQ(by_model.total.escalations, 1);
  EXPECT_EQ(by_model.total.cost_micro_usd, 333);

  UsageReport by_principal = query(GroupBy::kPrincipal);
  ASSERT_EQ(by_principal.groups.size(), 2u);
  EXPECT_EQ(by_principal.groups[0].key, kAlice);
  EXPECT_EQ(by_principal.groups[0].totals.output_tokens, 220);
  EXPECT_EQ(by_principal.groups[1].key, kBob);

  UsageReport by_tag = query(GroupBy::kTag);
  ASSERT_EQ(by_tag.groups.size(), 2u);
  EXPECT_EQ(by_tag.groups[0].key, "billing");
  EXPECT_EQ(by_tag.groups[0].totals.requests, 2);
  EXPECT_EQ(by_tag.groups[0].totals.cost_micro_usd, 303);
  EXPECT_EQ(by_tag.groups[1].key, "search");

  UsageReport by_day = query(GroupBy::kDay);
  ASSERT_EQ(by_day.groups.size(), 2u);
  EXPECT_EQ(by_day.groups[0].key, "2025-11-25");
  EXPECT_EQ(by_day.groups[0].totals.requests, 2);
  EXPECT_EQ(by_day.groups[1].key, "2025-11-26");
  EXPECT_EQ(by_day.groups[1].totals.cost_micro_usd, 30);

  UsageReport by_operation = query(GroupBy::kOperation);
  ASSERT_EQ(by_operation.groups.size(), 2u);
  EXPECT_EQ(by_operation.groups[0].key, "Converse");
  EXPECT_EQ(by_operation.groups[1].key, "InvokeModel");
  EXPECT_EQ(by_operation.groups[1].totals.requests, 1);
}

TEST_P(LedgerTest, TimeRangeIsFromInclusiveToExclusive) {
  for (int i = 0; i < 5; ++i) {
    ledger_->record(call(kMidnight + i * 1000, kAlice, "", "m", "Converse", 1, 1, 1));
  }
  EXPECT_EQ(query(GroupBy::kModel, kMidnight + 1000, kMidnight + 3000).total.requests, 2);
  EXPECT_EQ(query(GroupBy::kModel, kMidnight + 1000, kMidnight + 3001).total.requests, 3);
  EXPECT_EQ(query(GroupBy::kModel, kMidnight + 4001).total.requests, 0);
  EXPECT_TRUE(query(GroupBy::kModel, kMidnight + 4001).groups.empty());
  EXPECT_EQ(query(GroupBy::kModel).total.requests, 5);
}

TEST_P(LedgerTest, RangesAcrossWholeAndPartialHoursCountEveryCallOnce) {
  // One call every 10 minutes for 5 hours, committed in several batches.
  constexpr int64_t kMinute = 60'000;
  for (int i = 0; i < 30; ++i) {
    ledger_->record(
        call(kMidnight + i * 10 * kMinute, i % 2 ? kAlice : kBob, "", "m", "Converse", i, 1, 2));
    if (i % 7 == 0) {
      ASSERT_TRUE(ledger_->flush());
    }
  }
  auto expect_range = [&](int64_t from_minute, int64_t to_minute) {
    int64_t requests = 0, input_tokens = 0;
    for (int i = 0; i < 30; ++i) {
      if (i * 10 >= from_minute && i * 10 < to_minute) {
        ++requests;
        input_tokens += i;
      }
    }
    UsageReport report = query(GroupBy::kPrincipal, kMidnight + from_minute * kMinute,
                               kMidnight + to_minute * kMinute);
    EXPECT_EQ(report.total.requests, requests) << from_minute << ".." << to_minute;
    EXPECT_EQ(report.total.input_tokens, input_tokens) << from_minute << ".." << to_minute;
    EXPECT_EQ(report.total.cost_micro_usd, 2 * requests) << from_minute << ".." << to_minute;
  };
  expect_range(25, 215);  // partial hour, two whole hours, partial hour
  expect_range(60, 180);  // whole hours only
  expect_range(0, 300);
  expect_range(5, 55);   // inside one hour
  expect_range(50, 70);  // across one hour boundary, no whole hour
  expect_range(120, 120);
  expect_range(200, 100);  // to before from: nothing
  EXPECT_EQ(query(GroupBy::kPrincipal).total.requests, 30);
}

TEST_P(LedgerTest, FlushedRecordsSurviveReopeningTheStore) {
  UsageRecord r = call(kMidnight, kAlice, "app", "m", "ConverseStream", 7, 8, 9);
  r.role_session = "session-1";
  r.escalated = true;
  r.escalation_reason = "invalid_output";
  r.model_requested = "small";
  ledger_->record(r);
  ASSERT_TRUE(ledger_->flush());
  reopen();
  auto records = ledger_->recent(10);
  ASSERT_TRUE(records) << records.error().message;
  ASSERT_EQ(records->size(), 1u);
  const UsageRecord& back = (*records)[0];
  EXPECT_EQ(back.time_ms, r.time_ms);
  EXPECT_EQ(back.account_id, r.account_id);
  EXPECT_EQ(back.principal_arn, kAlice);
  EXPECT_EQ(back.role_session, "session-1");
  EXPECT_EQ(back.application_tag, "app");
  EXPECT_EQ(back.operation, "ConverseStream");
  EXPECT_EQ(back.model_requested, "small");
  EXPECT_EQ(back.model_used, "m");
  EXPECT_EQ(back.input_tokens, 7);
  EXPECT_EQ(back.output_tokens, 8);
  EXPECT_EQ(back.latency_ms, 12);
  EXPECT_EQ(back.cost_micro_usd, 9);
  EXPECT_TRUE(back.escalated);
  EXPECT_EQ(back.escalation_reason, "invalid_output");
  EXPECT_EQ(back.status, "200");
  EXPECT_EQ(back.request_id, r.request_id);
}

TEST_P(LedgerTest, DestructorFlushesWhatWasQueued) {
  for (int i = 0; i < 100; ++i) {
    ledger_->record(call(kMidnight + i, kAlice, "", "m", "Converse", 1, 2, 3));
  }
  reopen();  // destroys the ledger without an explicit flush
  EXPECT_EQ(query(GroupBy::kModel).total.requests, 100);
}

TEST_P(LedgerTest, ConcurrentRecordsFromEightThreadsLoseNothing) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        ledger_->record(
            call(kMidnight + i, "principal-" + std::to_string(t), "", "m", "Converse", 1, t, 1));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  UsageReport report = query(GroupBy::kPrincipal);
  ASSERT_EQ(report.groups.size(), static_cast<size_t>(kThreads));
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(report.groups[t].key, "principal-" + std::to_string(t));
    EXPECT_EQ(report.groups[t].totals.requests, kPerThread);
    EXPECT_EQ(report.groups[t].totals.output_tokens, int64_t{kPerThread} * t);
  }
  EXPECT_EQ(report.total.requests, kThreads * kPerThread);
}

TEST_P(LedgerTest, RecordIsCheapOnTheCallersThread) {
  constexpr int kCalls = 2000;
  std::vector<int64_t> nanos;
  nanos.reserve(kCalls);
  for (int i = 0; i < kCalls; ++i) {
    UsageRecord r = call(kMidnight + i, kAlice, "tag", "m", "Converse", 10, 20, 30);
    auto start = std::chrono::steady_clock::now();
    ledger_->record(std::move(r));
    nanos.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count());
  }
  std::nth_element(nanos.begin(), nanos.begin() + kCalls / 2, nanos.end());
  EXPECT_LT(nanos[kCalls / 2], 100'000) << "p50 record() above 100 µs";
  EXPECT_EQ(query(GroupBy::kModel).total.requests, kCalls);
}

TEST_P(LedgerTest, RecordsARequestIdOnceEvenWhenRecordedAgain) {
  // A redelivered job's stage records the same request id again; the charge must not double.
  UsageRecord first = call(kMidnight, kAlice, "app", "m", "Converse", 10, 20, 30);
  first.request_id = "job:1:extract";
  ledger_->record(first);
  ledger_->record(first);  // same batch
  ASSERT_TRUE(ledger_->flush());
  ledger_->record(first);  // a later batch
  UsageRecord anonymous = call(kMidnight + 1, kAlice, "app", "m", "Converse", 1, 1, 1);
  anonymous.request_id.clear();
  ledger_->record(anonymous);
  ledger_->record(anonymous);  // empty ids are never deduplicated
  ASSERT_TRUE(ledger_->flush());
  UsageReport report = query(GroupBy::kModel);
  EXPECT_EQ(report.total.requests, 3);
  EXPECT_EQ(report.total.cost_micro_usd, 32);
  auto records = ledger_->recent(10);
  ASSERT_TRUE(records);
  EXPECT_EQ(records->size(), 3u);
}

TEST_P(LedgerTest, RecordsTheProviderAndPromptCacheTokens) {
  UsageRecord upstream = call(kMidnight, kAlice, "app", "m", "Converse", 1000, 20, 30);
  upstream.provider = "aws";
  upstream.cache_read_input_tokens = 600;
  upstream.cache_write_input_tokens = 300;
  ledger_->record(upstream);
  ASSERT_TRUE(ledger_->flush());
  auto records = ledger_->recent(1);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].provider, "aws");
  EXPECT_EQ((*records)[0].cache_read_input_tokens, 600);
  EXPECT_EQ((*records)[0].cache_write_input_tokens, 300);
  std::string json = usage_calls_json(*records);
  EXPECT_NE(json.find(R"("cache_read_input_tokens":600)"), std::string::npos) << json;
}

INSTANTIATE_TEST_SUITE_P(Backends, LedgerTest, testing::kLedgerBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace plinth::ledger
