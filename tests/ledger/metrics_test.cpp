// Prometheus metrics: well-formed text, counters and histogram fed by usage records, budget
// gauges, registered gauges and the bound on label sets.
#include "plinth/ledger/metrics.h"

#include <gtest/gtest.h>

#include "pg/test_database.h"
#include "plinth/ledger/budgets.h"
#include "plinth/pg/pool.h"
#include "prometheus_text.h"

namespace plinth::ledger {
namespace {

UsageRecord converse(int64_t latency_ms, std::string status = "200") {
  UsageRecord r;
  r.operation = "Converse";
  r.model_requested = "qwen2-small";
  r.model_used = "qwen2-small";
  r.principal_arn = "arn:aws:iam::111122223333:user/alice";
  r.request_id = "d7a1c6b0-0000-4000-8000-000000000000";
  r.input_tokens = 12;
  r.output_tokens = 3;
  r.cost_micro_usd = 250;
  r.latency_ms = latency_ms;
  r.status = std::move(status);
  return r;
}

TEST(Metrics, EmptyRegistryRendersWellFormedText) {
  Metrics metrics;
  auto text = testing::parse_prometheus_text(metrics.render());
  EXPECT_EQ(text.error, "");
  EXPECT_EQ(text.types["plinth_requests_total"], "counter");
  EXPECT_EQ(text.types["plinth_request_duration_seconds"], "histogram");
}

TEST(Metrics, CountsRequestsTokensCostAndLatencyPerCall) {
  Metrics metrics;
  metrics.observe(converse(3));
  metrics.observe(converse(700));
  metrics.observe(converse(40, "429"));
  UsageRecord escalated = converse(2000);
  escalated.model_used = "llama-large";
  escalated.escalated = true;
  escalated.escalation_reason = "invalid_output";
  metrics.observe(escalated);
  std::string rendered = metrics.render();
  auto text = testing::parse_prometheus_text(rendered);
  ASSERT_EQ(text.error, "") << rendered;
  EXPECT_EQ(
      text.value(R"(plinth_requests_total{operation="Converse",model="qwen2-small",status="2xx"})"),
      2);
  EXPECT_EQ(
      text.value(R"(plinth_requests_total{operation="Converse",model="qwen2-small",status="4xx"})"),
      1);
  EXPECT_EQ(text.value(R"(plinth_tokens_total{model="qwen2-small",direction="input"})"), 36);
  EXPECT_EQ(text.value(R"(plinth_tokens_total{model="llama-large",direction="output"})"), 3);
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_cost_usd_total{model="qwen2-small"})"), 0.00075);
  EXPECT_EQ(
      text.value(
          R"(plinth_escalations_total{model_requested="qwen2-small",reason="invalid_output"})"),
      1);
  EXPECT_EQ(text.value(R"(plinth_request_duration_seconds_count{operation="Converse"})"), 4);
  EXPECT_EQ(
      text.value(R"(plinth_request_duration_seconds_bucket{operation="Converse",le="0.005"})"), 1);
  EXPECT_EQ(text.value(R"(plinth_request_duration_seconds_bucket{operation="Converse",le="1"})"),
            3);
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_request_duration_seconds_sum{operation="Converse"})"),
                   2.743);
  EXPECT_EQ(rendered.find("alice"), std::string::npos);  // never a principal
  EXPECT_EQ(rendered.find("d7a1c6b0"), std::string::npos);
}

TEST(Metrics, RegisteredGaugesAreReadAtEachRender) {
  Metrics metrics;
  double depth = 3;
  metrics.add_gauge("plinth_queue_depth", "Jobs waiting in a queue.", {{"queue", "documents"}},
                    [&] { return depth; });
  metrics.add_gauge("plinth_queue_depth", "Jobs waiting in a queue.", {{"queue", "other"}},
                    [] { return 1.0; });
  auto text = testing::parse_prometheus_text(metrics.render());
  ASSERT_EQ(text.error, "");
  EXPECT_EQ(text.types["plinth_queue_depth"], "gauge");
  EXPECT_EQ(text.value(R"(plinth_queue_depth{queue="documents"})"), 3);
  depth = 7;
  text = testing::parse_prometheus_text(metrics.render());
  EXPECT_EQ(text.value(R"(plinth_queue_depth{queue="documents"})"), 7);
  EXPECT_EQ(text.value(R"(plinth_queue_depth{queue="other"})"), 1);
}

TEST(Metrics, RegisteredCountersRenderAsCounters) {
  Metrics metrics;
  double claimed = 5;
  metrics.add_counter("plinth_queue_claimed_total", "Jobs claimed.", {}, [&] { return claimed; });
  auto text = testing::parse_prometheus_text(metrics.render());
  ASSERT_EQ(text.error, "");
  EXPECT_EQ(text.types["plinth_queue_claimed_total"], "counter");
  EXPECT_EQ(text.value("plinth_queue_claimed_total"), 5);
}

TEST(Metrics, PoolMetricsShowThisReplicasConnections) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = pg::Pool::open({db.url(), 3, std::chrono::milliseconds(50)});
  ASSERT_TRUE(pool) << pool.error().message;
  Metrics metrics;
  add_pool_metrics(metrics, *pool);
  auto first = (*pool)->acquire(), second = (*pool)->acquire(), third = (*pool)->acquire();
  ASSERT_TRUE(first && second && third);
  EXPECT_FALSE((*pool)->acquire());  // full: a timeout after 50 ms
  auto text = testing::parse_prometheus_text(metrics.render());
  ASSERT_EQ(text.error, "");
  EXPECT_EQ(text.types["plinth_db_pool_size"], "gauge");
  EXPECT_EQ(text.value("plinth_db_pool_size"), 3);
  EXPECT_EQ(text.value(R"(plinth_db_pool_connections{state="open"})"), 3);
  EXPECT_EQ(text.value(R"(plinth_db_pool_connections{state="in_use"})"), 3);
  EXPECT_EQ(text.value("plinth_db_pool_waiting"), 0);
  EXPECT_EQ(text.types["plinth_db_pool_acquired_total"], "counter");
  EXPECT_EQ(text.value("plinth_db_pool_acquired_total"), 3);
  EXPECT_EQ(text.value("plinth_db_pool_timeouts_total"), 1);
  EXPECT_EQ(text.value("plinth_db_pool_errors_total"), 0);
}

TEST(Metrics, BudgetGaugesShowEachBudgetsUse) {
  ManualClock clock(1'764'028'800);
  Budgets budgets({BudgetSpec{"team-a-daily", BudgetScope::kTag, "team-a", BudgetPeriod::kDay,
                              5'000'000, 4'000'000},
                   BudgetSpec{"per-user", BudgetScope::kPrincipal, "*", BudgetPeriod::kMonth,
                              1'000'000, std::nullopt}},
                  clock);
  Metrics metrics;
  metrics.attach_budgets(budgets);
  budgets.on_soft_limit([&](const BudgetState& s) { metrics.count_soft_limit_crossing(s); });
  BudgetSubject subject{"111122223333", "arn:aws:iam::111122223333:user/alice", "team-a"};
  budgets.reserve(subject, 0)->settle(4'500'000);
  std::string rendered = metrics.render();
  auto text = testing::parse_prometheus_text(rendered);
  ASSERT_EQ(text.error, "") << rendered;
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_budget_used_fraction{budget="team-a-daily"})"), 0.9);
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_budget_spent_usd{budget="team-a-daily"})"), 4.5);
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_budget_limit_usd{budget="team-a-daily"})"), 5);
  EXPECT_DOUBLE_EQ(text.value(R"(plinth_budget_used_fraction{budget="per-user"})"), 4.5);
  EXPECT_EQ(text.value(R"(plinth_budget_soft_limit_crossings_total{budget="team-a-daily"})"), 1);
  EXPECT_EQ(rendered.find("alice"), std::string::npos);
}

TEST(Metrics, LabelSetsAreBoundedAndValuesEscaped) {
  Metrics metrics;
  for (size_t i = 0; i < Metrics::kMaxSeriesPerFamily + 50; ++i) {
    UsageRecord r = converse(1);
    r.model_used = "model-" + std::to_string(i) + "\"\\\n";
    metrics.observe(r);
  }
  std::string rendered = metrics.render();
  auto text = testing::parse_prometheus_text(rendered);
  ASSERT_EQ(text.error, "") << rendered.substr(0, 2000);
  EXPECT_EQ(text.value(R"(plinth_requests_total{operation="other",model="other",status="other"})"),
            50);
  size_t series = 0;
  for (const auto& [name, value] : text.samples)
    series += name.starts_with("plinth_requests_total");
  EXPECT_EQ(series, Metrics::kMaxSeriesPerFamily + 1);
}

}  // namespace
}  // namespace plinth::ledger
