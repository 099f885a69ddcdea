// The Gateway with budgets and metrics: reservation before the model call, settlement when the
// call is recorded (also after errors and cancelled streams), ThrottlingException refusals,
// GET /v1/budgets (plinth:GetBudgets) and GET /metrics (open, or SigV4 plinth:GetMetrics).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <thread>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/metrics.h"
#include "plinth/router/router.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
// 25 text bytes + 8 for the message + 16 = 49 estimated input tokens; 100 output tokens.
constexpr std::string_view kConverseBody =
    R"({"messages":[{"role":"user","content":[{"text":"Extract the invoice total"}]}],)"
    R"("inferenceConfig":{"maxTokens":100}})";
// 49 * 0.25 + 100 * 1.25 micro-dollars = 137.25, rounded up.
constexpr int64_t kEstimate = 138;
// The fake provider answers 10 tokens in, 2 out: 10 * 0.25 + 2 * 1.25 = 5 micro-dollars.
constexpr int64_t kActual = 5;

std::string allow_policy(std::string_view actions) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
         std::string(actions) + R"(,"Resource":"*"}]})";
}

class GatewayBudgetsTest : public ::testing::Test {
 protected:
  GatewayBudgetsTest() {
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.name = "alice";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    set_policy(allow_policy(R"(["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream",)"
                            R"("plinth:GetBudgets"])"));
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.price_input_per_mtok = 0.25;
    haiku.price_output_per_mtok = 1.25;
    ModelConfig sonnet;  // the large tier: ten times the prices
    sonnet.id = "sonnet";
    sonnet.tier = "large";
    sonnet.price_input_per_mtok = 2.5;
    sonnet.price_output_per_mtok = 12.5;
    config.models = {haiku, sonnet};
    catalog_ = *catalog::Catalog::from_config(config);
    start({ledger::BudgetSpec{"daily", ledger::BudgetScope::kAccount, "*",
                              ledger::BudgetPeriod::kDay, 1'000'000, std::nullopt}});
  }

  void start(std::vector<ledger::BudgetSpec> specs, GatewayOptions options = {}) {
    gateway_.reset();
    router::RouterDefinition extract;
    extract.id = "router.extract";
    extract.small = std::string(kHaiku);
    extract.large = "sonnet";
    routers_ = *router::RouterSet::from_definitions({extract}, catalog_);
    budgets_ = std::make_unique<ledger::Budgets>(std::move(specs), *clock_);
    metrics_.attach_budgets(*budgets_);
    gateway_ = std::make_unique<Gateway>(options, GatewayServices{.authenticator = authenticator_,
                                                                  .clock = *clock_,
                                                                  .random = *random_,
                                                                  .catalog = catalog_,
                                                                  .provider = provider_,
                                                                  .budgets = budgets_.get(),
                                                                  .metrics = &metrics_,
                                                                  .routers = &routers_});
  }

  void set_policy(std::string policy) { credentials_->principal.identity_policies = {policy}; }

  FakeExchange call(const http::Request& request, int gone_after_writes = -1) {
    FakeExchange exchange;
    exchange.gone_after_writes = gone_after_writes;
    gateway_->handle(request, exchange);
    return exchange;
  }

  static std::string path(std::string_view op) {
    return "/model/" + uri_encode(kHaiku) + "/" + std::string(op);
  }

  // The one key's state; all zero once a "*" budget has forgotten an idle key.
  ledger::BudgetState daily() {
    auto states = budgets_->snapshot();
    EXPECT_LE(states.size(), 1u);
    return states.empty() ? ledger::BudgetState{} : states[0];
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  ledger::Metrics metrics_;
  router::RouterSet routers_;
  std::unique_ptr<ledger::Budgets> budgets_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayBudgetsTest, ConverseHoldsItsEstimateWhileRunningAndSettlesTheActualCost) {
  provider_.hold = true;
  std::thread running([&] {
    FakeExchange exchange = call(signed_request(path("converse"), std::string(kConverseBody)));
    EXPECT_EQ(exchange.response->status, 200);
  });
  provider_.wait_running(1);
  EXPECT_EQ(daily().reserved_micro_usd, kEstimate);
  EXPECT_EQ(daily().spent_micro_usd, 0);
  provider_.release();
  running.join();
  EXPECT_EQ(daily().reserved_micro_usd, 0);
  EXPECT_EQ(daily().spent_micro_usd, kActual);
}

TEST_F(GatewayBudgetsTest, RoutedCallReservesTheSmallAndTheLargeAttempt) {
  // An escalated call pays for both tiers, so the hold covers both: 138 + 49 * 2.5 + 100 * 12.5.
  set_policy(allow_policy(R"(["bedrock:InvokeModel"])"));
  provider_.hold = true;
  std::thread running([&] {
    FakeExchange exchange =
        call(signed_request("/model/router.extract/converse", std::string(kConverseBody)));
    EXPECT_EQ(exchange.response->status, 200);
  });
  provider_.wait_running(1);
  EXPECT_EQ(daily().reserved_micro_usd, (137'250'000 + 1'372'500'000 + 999'999) / 1'000'000);
  provider_.release();
  running.join();
  EXPECT_EQ(daily().reserved_micro_usd, 0);
}

TEST_F(GatewayBudgetsTest, FailedCallsAndCancelledStreamsReleaseTheirReservation) {
  provider_.fail_before_output = Error(ErrorCode::kInternal, "engine fault");
  EXPECT_EQ(call(signed_request(path("converse"), std::string(kConverseBody))).response->status,
            500);
  provider_.fail_before_output.reset();
  provider_.deltas = {"a", "b", "c", "d"};
  FakeExchange cancelled =
      call(signed_request(path("converse-stream"), std::string(kConverseBody)), 2);
  EXPECT_TRUE(provider_.cancelled_by_callback);
  EXPECT_EQ(daily().reserved_micro_usd, 0);
  EXPECT_EQ(daily().spent_micro_usd, 0);
}

TEST_F(GatewayBudgetsTest, ExhaustedBudgetRefusesWithThrottlingExceptionBeforeTheModelRuns) {
  start({ledger::BudgetSpec{"tiny", ledger::BudgetScope::kPrincipal, "*",
                            ledger::BudgetPeriod::kMonth, kEstimate - 1, std::nullopt}});
  FakeExchange bedrock = call(signed_request(path("converse"), std::string(kConverseBody)));
  ASSERT_TRUE(bedrock.response);
  EXPECT_EQ(bedrock.response->status, 429);
  EXPECT_TRUE(bedrock.header("x-amzn-ErrorType").starts_with("ThrottlingException"));
  EXPECT_NE(bedrock.response->body.find("Budget tiny"), std::string::npos);
  EXPECT_NE(bedrock.response->body.find("0.000137 USD per month"), std::string::npos);
  FakeExchange openai = call(
      signed_request("/v1/chat/completions",
                     R"({"model":"anthropic.claude-3-haiku-20240307-v1:0","max_tokens":100,)"
                     R"("messages":[{"role":"user","content":"Extract the invoice total"}]})"));
  EXPECT_EQ(openai.response->status, 429);
  EXPECT_EQ(json::parse(openai.response->body).at("error").at("type").as_string(),
            "rate_limit_error");
  EXPECT_TRUE(provider_.requests.empty());
}

TEST_F(GatewayBudgetsTest, BudgetsEndpointNeedsGetBudgets) {
  call(signed_request(path("converse"), std::string(kConverseBody)));
  FakeExchange allowed = call(signed_get("/v1/budgets"));
  ASSERT_EQ(allowed.response->status, 200) << allowed.response->body;
  auto row = json::parse(allowed.response->body).at("budgets").at(0).as_object();
  EXPECT_EQ(row.at("id").as_string(), "daily");
  EXPECT_EQ(row.at("key").as_string(), "000000000000");
  EXPECT_DOUBLE_EQ(row.at("spent_usd").as_double(), 0.000005);
  set_policy(allow_policy(R"(["plinth:GetUsage"])"));
  FakeExchange denied = call(signed_get("/v1/budgets"));
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_NE(denied.response->body.find("plinth:GetBudgets"), std::string::npos);
}

TEST_F(GatewayBudgetsTest, MetricsAreOpenByDefaultAndCountEachCall) {
  call(signed_request(path("converse"), std::string(kConverseBody)));
  call(signed_request(path("converse"), std::string(kConverseBody), "bedrock", "wrong-secret"));
  http::Request scrape;
  scrape.method = "GET";
  scrape.target = "/metrics";
  FakeExchange exchange = call(scrape);
  ASSERT_EQ(exchange.response->status, 200);
  EXPECT_EQ(exchange.header("content-type"), ledger::kMetricsContentType);
  EXPECT_NE(exchange.response->body.find(
                R"(plinth_requests_total{operation="Converse",model="anthropic.claude-3-haiku-)"
                R"(20240307-v1:0",status="2xx"} 1)"),
            std::string::npos)
      << exchange.response->body;
  // A refused signature is counted too, with no model resolved.
  EXPECT_NE(exchange.response->body.find(
                R"(plinth_requests_total{operation="Converse",model="none",status="4xx"} 1)"),
            std::string::npos);
}

TEST_F(GatewayBudgetsTest, MetricsNeedSigV4AndGetMetricsWhenConfigured) {
  GatewayOptions options;
  options.metrics_require_auth = true;
  start({}, options);
  http::Request scrape;
  scrape.method = "GET";
  scrape.target = "/metrics";
  EXPECT_EQ(call(scrape).response->status, 403);  // Bedrock answers a missing signature with 403
  EXPECT_EQ(call(signed_get("/metrics")).response->status, 403);  // no plinth:GetMetrics
  set_policy(allow_policy(R"(["plinth:GetMetrics"])"));
  EXPECT_EQ(call(signed_get("/metrics")).response->status, 200);
}

}  // namespace
}  // namespace plinth::api
