// Prompt routers through the Gateway on the real engine (the fixture models): escalation when the
// small model cannot satisfy the caller's checks, none when it can, who answered (headers, trace,
// OpenAI "model"), router authorization, and the ledger row with every attempt's exact cost.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/ledger.h"
#include "plinth/providers/local_provider.h"
#include "plinth/router/router.h"
#include "plinth/store/database.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kSmallArn = "arn:aws:bedrock:us-east-1::foundation-model/qwen2-small";
constexpr std::string_view kLargeArn = "arn:aws:bedrock:us-east-1::foundation-model/llama-large";
constexpr std::string_view kChecksRouterArn =
    "arn:aws:bedrock:us-east-1:000000000000:prompt-router/router.checks";

std::string allow_policy(std::string_view resource) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)"
         R"(["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":")" +
         std::string(resource) + R"("}]})";
}

// A greedy Converse body; `checks` (JSON) goes to additionalModelRequestFields.plinth.checks.
std::string converse_body(int max_tokens, std::string_view checks = "") {
  std::string body = R"({"messages":[{"role":"user","content":[{"text":"Total of invoice 42?"}]}],)"
                     R"("inferenceConfig":{"maxTokens":)" +
                     std::to_string(max_tokens) + R"(,"temperature":0})";
  if (!checks.empty()) {
    body += R"(,"additionalModelRequestFields":{"plinth":{"checks":)" + std::string(checks) + "}}";
  }
  return body + "}";
}

ModelConfig model(std::string id, std::string file, std::string tier, double in, double out) {
  ModelConfig config;
  config.id = std::move(id);
  config.file = fs::path(PLINTH_TEST_DATA_DIR) / "models" / file;
  config.tier = std::move(tier);
  config.price_input_per_mtok = in;
  config.price_output_per_mtok = out;
  return config;
}

RouterConfig router_config(std::string id, std::vector<std::string> escalate_on) {
  RouterConfig config;
  config.id = std::move(id);
  config.small = "qwen2-small";
  config.large = "llama-large";
  config.escalate_on = std::move(escalate_on);
  return config;
}

class RouterGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    config_ = new Config;
    config_->models = {model("qwen2-small", "qwen2-32-tied-q8_0.gguf", "small", 0.25, 1.25),
                       model("llama-large", "llama-spm-256-tied-q4_k_m.gguf", "large", 3.0, 15.0)};
    // Prompt-cache prices on the small model only (the large one bills them as input).
    config_->models[0].price_cache_read_per_mtok = 0.025;
    config_->models[0].price_cache_write_per_mtok = 0.5;
    config_->routers = {router_config("router.default", {"invalid_output", "max_tokens", "checks"}),
                        router_config("router.checks", {"checks"})};
    auto provider = providers::LocalProvider::load(config_->models, 1);
    ASSERT_TRUE(provider) << provider.error().message;
    provider_ = provider->release();
  }
  static void TearDownTestSuite() {
    delete provider_;
    delete config_;
  }

  RouterGatewayTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-router-gateway-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    ledger_ = std::move(*ledger::open_sqlite_ledger(*database_));
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    credentials_->principal.identity_policies = {allow_policy("*")};
    catalog_ = *catalog::Catalog::from_config(*config_);
    routers_ = *router::RouterSet::from_config(*config_, catalog_);
    gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = catalog_,
                                                                    .provider = *provider_,
                                                                    .ledger = ledger_.get(),
                                                                    .routers = &routers_});
  }
  ~RouterGatewayTest() override {
    gateway_.reset();
    ledger_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  FakeExchange converse(std::string_view model_id, std::string body,
                        std::string_view op = "converse") {
    return call(
        signed_request("/model/" + uri_encode(model_id) + "/" + std::string(op), std::move(body)));
  }
  // The usage a model reports for `body` when called directly (greedy, so repeatable).
  providers::Usage direct_usage(std::string_view model_id, const std::string& body) {
    FakeExchange exchange = converse(model_id, body);
    EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
    json::value usage = json::parse(exchange.response->body).at("usage");
    return {usage.at("inputTokens").as_int64(), usage.at("outputTokens").as_int64()};
  }
  int64_t pico_cost(std::string_view model_id, providers::Usage usage) {
    return catalog::compute_cost(*catalog_.find(model_id), usage.input_tokens, usage.output_tokens)
        .pico_usd;
  }
  std::vector<ledger::UsageRecord> recorded() {
    auto records = ledger_->recent(100);
    EXPECT_TRUE(records) << records.error().message;
    return records ? std::vector(records->rbegin(), records->rend())
                   : std::vector<ledger::UsageRecord>{};
  }

  static Config* config_;
  static providers::LocalProvider* provider_;
  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  router::RouterSet routers_;
  std::unique_ptr<Gateway> gateway_;
};

Config* RouterGatewayTest::config_ = nullptr;
providers::LocalProvider* RouterGatewayTest::provider_ = nullptr;

TEST_F(RouterGatewayTest, SatisfiableRequestStaysOnTheSmallModel) {
  // max_tokens is in escalate_on, but the caller expects a max-tokens stop: no escalation.
  std::string body = converse_body(4, R"({"stop_reason":"max_tokens","min_length":1})");
  FakeExchange exchange = converse("router.default", body);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("x-plinth-invoked-model"), "qwen2-small");
  EXPECT_EQ(exchange.header("x-plinth-escalated"), "false");
  EXPECT_EQ(exchange.header("x-plinth-escalation-reason"), "");
  json::value response = json::parse(exchange.response->body);
  EXPECT_EQ(response.at("trace").at("promptRouter").at("invokedModelId").as_string(), kSmallArn);
  EXPECT_EQ(response.at("stopReason").as_string(), "max_tokens");

  providers::Usage small = direct_usage("qwen2-small", body);
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 2u);
  const ledger::UsageRecord& routed = records[0];
  EXPECT_EQ(routed.model_requested, "router.default");
  EXPECT_EQ(routed.model_used, "qwen2-small");
  EXPECT_FALSE(routed.escalated);
  EXPECT_EQ(routed.escalation_reason, "");
  EXPECT_EQ(routed.input_tokens, small.input_tokens);
  EXPECT_EQ(routed.output_tokens, small.output_tokens);
  EXPECT_EQ(routed.cost_micro_usd, catalog::Cost{pico_cost("qwen2-small", small)}.micro_usd());
}

TEST_F(RouterGatewayTest, FailedCheckEscalatesAndBothAttemptsArePaidFor) {
  std::string body = converse_body(6, R"({"min_length":100000})");
  FakeExchange exchange = converse(kChecksRouterArn, body);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("x-plinth-invoked-model"), "llama-large");
  EXPECT_EQ(exchange.header("x-plinth-escalated"), "true");
  EXPECT_EQ(exchange.header("x-plinth-escalation-reason"), "checks");
  json::value response = json::parse(exchange.response->body);
  EXPECT_EQ(response.at("trace").at("promptRouter").at("invokedModelId").as_string(), kLargeArn);

  providers::Usage small = direct_usage("qwen2-small", body);
  providers::Usage large = direct_usage("llama-large", body);
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 3u);
  const ledger::UsageRecord& routed = records[0];
  EXPECT_EQ(routed.model_requested, kChecksRouterArn);
  EXPECT_EQ(routed.model_used, "llama-large");
  EXPECT_TRUE(routed.escalated);
  EXPECT_EQ(routed.escalation_reason, "checks");
  EXPECT_EQ(routed.input_tokens, small.input_tokens + large.input_tokens);
  EXPECT_EQ(routed.output_tokens, small.output_tokens + large.output_tokens);
  int64_t pico = pico_cost("qwen2-small", small) + pico_cost("llama-large", large);
  EXPECT_EQ(routed.cost_micro_usd, catalog::Cost{pico}.micro_usd());
  EXPECT_GT(routed.cost_micro_usd, records[1].cost_micro_usd);  // more than the small call alone
}

TEST_F(RouterGatewayTest, CachePointTokensAreBilledAtTheAnsweringModelsCachePrices) {
  std::string contract;
  for (int i = 0; i < 15; ++i)  // ~170 tokens, well inside the fixture's context
    contract += "Clause " + std::to_string(i) + " of the routed contract applies. ";
  const std::string body =
      R"({"system":[{"text":")" + contract +
      R"("},{"cachePoint":{"type":"default"}}],)"
      R"("messages":[{"role":"user","content":[{"text":"Which clause is first?"}]}],)"
      R"("inferenceConfig":{"maxTokens":3,"temperature":0},)"
      R"("additionalModelRequestFields":{"plinth":{"checks":{"stop_reason":"max_tokens"}}}})";
  FakeExchange first = converse("router.default", body);
  ASSERT_EQ(first.response->status, 200) << first.response->body;
  ASSERT_EQ(first.header("x-plinth-invoked-model"), "qwen2-small");
  FakeExchange second = converse("router.default", body);
  ASSERT_EQ(second.response->status, 200) << second.response->body;
  const json::value written = json::parse(first.response->body).at("usage");
  const json::value read = json::parse(second.response->body).at("usage");
  ASSERT_GT(written.at("cacheWriteInputTokens").as_int64(), 100) << written;
  EXPECT_EQ(read.at("cacheReadInputTokens").as_int64(),
            written.at("cacheWriteInputTokens").as_int64());

  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 2u);
  const catalog::ModelEntry& small = *catalog_.find("qwen2-small");
  for (const ledger::UsageRecord& r : records) {
    const catalog::TokenCounts tokens{r.input_tokens, r.output_tokens, r.cache_read_input_tokens,
                                      r.cache_write_input_tokens};
    EXPECT_EQ(r.cost_micro_usd, catalog::compute_cost(small, tokens).micro_usd());
  }
  EXPECT_EQ(records[0].cache_write_input_tokens, written.at("cacheWriteInputTokens").as_int64());
  EXPECT_EQ(records[1].cache_read_input_tokens, read.at("cacheReadInputTokens").as_int64());
  // The write costs twice the input price, the read a tenth of it.
  EXPECT_LT(records[1].cost_micro_usd, records[0].cost_micro_usd);
}

TEST_F(RouterGatewayTest, MaxTokensStopEscalatesOnTheDefaultRouter) {
  FakeExchange exchange = converse("router.default", converse_body(4));
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("x-plinth-invoked-model"), "llama-large");
  EXPECT_EQ(exchange.header("x-plinth-escalation-reason"), "max_tokens");
}

TEST_F(RouterGatewayTest, ConverseStreamReportsTheInvokedModelInHeadersAndMetadataTrace) {
  FakeExchange exchange =
      converse("router.checks", converse_body(5, R"({"min_length":100000})"), "converse-stream");
  ASSERT_EQ(exchange.stream_status, 200) << (exchange.response ? exchange.response->body : "");
  EXPECT_EQ(exchange.header("x-plinth-invoked-model"), "llama-large");
  EXPECT_EQ(exchange.header("x-plinth-escalated"), "true");
  EXPECT_NE(exchange.streamed.find(R"("promptRouter":{"invokedModelId":")" +
                                   std::string(kLargeArn) + "\"}"),
            std::string::npos);
  EXPECT_TRUE(exchange.finished);
  EXPECT_TRUE(recorded().at(0).escalated);
}

TEST_F(RouterGatewayTest, ChatCompletionsNamesTheAnsweringModelAndTakesChecksFromAHeader) {
  http::Request request = signed_request(
      "/v1/chat/completions", R"({"model":"router.checks","max_tokens":4,"temperature":0,)"
                              R"("messages":[{"role":"user","content":"hi"}]})");
  request.headers.push_back({"x-plinth-checks", R"({"required_fields":["total"]})"});
  FakeExchange exchange = call(request);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(json::parse(exchange.response->body).at("model").as_string(), "llama-large");
  EXPECT_EQ(exchange.header("x-plinth-escalation-reason"), "checks");

  request.headers.back().value = R"({"min_length":"long"})";
  FakeExchange bad = call(request);
  EXPECT_EQ(bad.response->status, 400) << bad.response->body;
}

TEST_F(RouterGatewayTest, InvokeModelTakesChecksFromAHeaderAndNamesTheAnsweringModel) {
  std::string body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":4,"temperature":0,)"
                     R"("messages":[{"role":"user","content":"hi"}]})";
  for (std::string_view op : {"invoke", "invoke-with-response-stream"}) {
    http::Request request = signed_request("/model/router.checks/" + std::string(op), body);
    request.headers.push_back({"x-plinth-checks", R"({"min_length":100000})"});
    FakeExchange escalated = call(request);
    EXPECT_EQ(escalated.header("x-plinth-invoked-model"), "llama-large") << op;
    EXPECT_EQ(escalated.header("x-plinth-escalation-reason"), "checks") << op;
    request.headers.back().value = R"({"min_length":0})";
    FakeExchange kept = call(request);
    EXPECT_EQ(kept.header("x-plinth-invoked-model"), "qwen2-small") << op;
    EXPECT_EQ(kept.header("x-plinth-escalated"), "false") << op;
  }
  FakeExchange invoked = call([&] {
    http::Request request = signed_request("/model/router.checks/invoke", body);
    request.headers.push_back({"x-plinth-checks", R"({"required_fields":["total"]})"});
    return request;
  }());
  ASSERT_EQ(invoked.response->status, 200) << invoked.response->body;
  EXPECT_EQ(json::parse(invoked.response->body).at("model").as_string(), "llama-large");
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 5u);
  EXPECT_EQ(records[2].operation, "InvokeModelWithResponseStream");
  EXPECT_TRUE(records[2].escalated);
  EXPECT_FALSE(records[3].escalated);
  EXPECT_EQ(records[3].model_used, "qwen2-small");
}

TEST_F(RouterGatewayTest, RouterIsAuthorizedByItsOwnArn) {
  credentials_->principal.identity_policies = {allow_policy(kChecksRouterArn)};
  EXPECT_EQ(converse("router.checks", converse_body(2)).response->status, 200);
  EXPECT_EQ(converse(kChecksRouterArn, converse_body(2)).response->status, 200);
  // The router's grant does not extend to calling its models directly, nor to other routers.
  EXPECT_EQ(converse("llama-large", converse_body(2)).response->status, 403);
  EXPECT_EQ(converse("router.default", converse_body(2)).response->status, 403);
  credentials_->principal.identity_policies = {
      allow_policy("arn:aws:bedrock:us-east-1::foundation-model/*")};
  FakeExchange denied = converse("router.checks", converse_body(2));
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_NE(denied.response->body.find(kChecksRouterArn), std::string::npos);
}

}  // namespace
}  // namespace plinth::api
