// A front Gateway whose models are answered by a back Gateway (the real Plinth stack on the
// fixture models, behind a real http::Server) through the openai provider kind: Converse and
// ConverseStream, OpenAI chat + SSE, a router with a local small and an upstream large tier,
// fallbacks, the error types upstream faults become, and budgets under 50 concurrent calls.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>
#include <thread>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"
#include "plinth/providers/local_provider.h"
#include "plinth/router/router.h"
#include "plinth/store/database.h"
#include "plinth/structured/structured.h"
#include "plinth/upstream/upstream.h"

namespace plinth::upstream {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace plinth::api::testing;
using api::Gateway;
using api::GatewayOptions;
using api::GatewayServices;

ModelConfig local_model(std::string id, std::string file, std::string tier) {
  ModelConfig config;
  config.id = std::move(id);
  config.file = fs::path(PLINTH_TEST_DATA_DIR) / "models" / file;
  config.tier = std::move(tier);
  config.price_input_per_mtok = 1.0;
  config.price_output_per_mtok = 2.0;
  return config;
}

ModelConfig upstream_model(std::string id, std::string provider, std::string name,
                           std::string tier) {
  ModelConfig config;
  config.id = std::move(id);
  config.provider = std::move(provider);
  config.upstream_model = std::move(name);
  config.tier = std::move(tier);
  config.price_input_per_mtok = 3.0;
  config.price_output_per_mtok = 15.0;
  return config;
}

ProviderConfig openai_provider(std::string id, uint16_t port, int max_retries = 1) {
  ProviderConfig config;
  config.id = std::move(id);
  config.kind = "openai";
  config.base_url = "http://127.0.0.1:" + std::to_string(port) + "/v1";
  config.api_key_env = "BACK_PLINTH_KEY";
  config.timeout_seconds = 2;
  config.max_retries = max_retries;
  return config;
}

// An OpenAI answer the model called complete (finish_reason tool_calls) whose arguments break
// the `record` tool's schema (total must be an integer), 12 + 5 tokens.
constexpr std::string_view kSchemaBreakingAnswer =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[)"
    R"({"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1",)"
    R"("type":"function","function":{"name":"record","arguments":"{\"total\":\"nine\"}"}}]},)"
    R"("finish_reason":"tool_calls"}],"usage":{"prompt_tokens":12,"completion_tokens":5,)"
    R"("total_tokens":17}})";

// A loopback server that answers every request with one fixed status, or stalls.
class FaultyUpstream {
 public:
  // Answers every request with `status` and `body` (by default an OpenAI error naming status).
  explicit FaultyUpstream(int status, std::chrono::milliseconds stall = {}, std::string body = {}) {
    if (body.empty()) {
      body = R"({"error":{"message":"upstream says )" + std::to_string(status) + R"("}})";
    }
    http::ServerOptions options;
    auto server =
        http::Server::start(options, [=, this](const http::Request&, http::Exchange& out) {
          ++calls;
          if (stall.count() > 0) std::this_thread::sleep_for(stall);
          http::Response response;
          response.status = status;
          response.headers = {{"content-type", "application/json"}};
          response.body = body;
          out.respond(std::move(response));
        });
    EXPECT_TRUE(server);
    server_ = std::move(*server);
  }
  ~FaultyUpstream() { server_->stop(); }
  uint16_t port() const { return server_->port(); }
  std::atomic<int> calls{0};

 private:
  std::unique_ptr<http::Server> server_;
};

class UpstreamGatewayTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    back_config_ = new Config;
    back_config_->models = {local_model("qwen2-small", "qwen2-32-tied-q8_0.gguf", "small"),
                            local_model("llama-large", "llama-spm-256-tied-q4_k_m.gguf", "large")};
    auto back = providers::LocalProvider::load(back_config_->models, 1);
    ASSERT_TRUE(back) << back.error().message;
    back_provider_ = back->release();
    // The front's own local small tier, the same fixture model.
    auto front = providers::LocalProvider::load(
        {local_model("local-small", "qwen2-32-tied-q8_0.gguf", "small")}, 1);
    ASSERT_TRUE(front);
    front_local_ = front->release();
  }
  static void TearDownTestSuite() {
    delete back_provider_;
    delete front_local_;
    delete back_config_;
  }

  UpstreamGatewayTest() {
    sign_in_as_alice(*credentials_);
    back_catalog_ = *catalog::Catalog::from_config(*back_config_);
    back_gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = back_catalog_,
                                                                    .provider = *back_provider_});
    http::ServerOptions options;
    options.worker_threads = 8;
    auto server = http::Server::start(options, back_gateway_->handler());
    EXPECT_TRUE(server) << server.error().message;
    back_server_ = std::move(*server);

    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-upstream-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    ledger_ = std::move(*ledger::open_sqlite_ledger(*database_));
  }
  ~UpstreamGatewayTest() override {
    front_gateway_.reset();
    front_provider_.reset();
    back_server_->stop();
    ledger_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  // The front: `models` on top of the default set, answered through `providers`.
  void start_front(std::vector<ModelConfig> models = {}, std::vector<ProviderConfig> providers = {},
                   std::optional<int64_t> budget_micro_usd = std::nullopt) {
    front_config_ = Config{};
    front_config_.models = {local_model("local-small", "qwen2-32-tied-q8_0.gguf", "small"),
                            upstream_model("up-small", "back", "qwen2-small", "small"),
                            upstream_model("up-large", "back", "llama-large", "large")};
    for (auto& m : models) front_config_.models.push_back(m);
    front_config_.providers = {openai_provider("back", back_server_->port())};
    for (auto& p : providers) front_config_.providers.push_back(p);
    front_catalog_ = *catalog::Catalog::from_config(front_config_);
    RouterConfig router;
    router.id = "router.split";
    router.small = "local-small";
    router.large = "up-large";
    router.escalate_on = {"invalid_output"};
    front_config_.routers = {router};
    routers_ = *router::RouterSet::from_config(front_config_, front_catalog_);
    ProviderDeps deps;
    deps.getenv = [](const std::string& name) -> std::optional<std::string> {
      if (name == "BACK_PLINTH_KEY") return std::string(kBearer);
      return std::nullopt;
    };
    deps.breaker = {.failure_threshold = 2, .open_for = std::chrono::seconds(60)};
    auto made = CatalogProvider::create(front_config_, front_catalog_, *front_local_, deps);
    ASSERT_TRUE(made) << made.error().message;
    front_provider_ = std::move(*made);
    if (budget_micro_usd) {
      budgets_ = std::make_unique<ledger::Budgets>(
          std::vector<ledger::BudgetSpec>{{"daily", ledger::BudgetScope::kAccount, "*",
                                           ledger::BudgetPeriod::kDay, *budget_micro_usd,
                                           std::nullopt}},
          *clock_);
    }
    front_gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = front_catalog_,
                                                                    .provider = *front_provider_,
                                                                    .ledger = ledger_.get(),
                                                                    .budgets = budgets_.get(),
                                                                    .routers = &routers_});
  }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    front_gateway_->handle(request, exchange);
    return exchange;
  }
  FakeExchange converse(std::string_view model, std::string body,
                        std::string_view op = "converse") {
    return call(signed_request("/model/" + uri_encode(model) + "/" + std::string(op), body));
  }
  FakeExchange chat(std::string body) {
    http::Request request;
    request.method = "POST";
    request.target = "/v1/chat/completions";
    request.headers = {{"content-type", "application/json"},
                       {"authorization", "Bearer " + std::string(kBearer)}};
    request.body = std::move(body);
    return call(request);
  }
  std::vector<ledger::UsageRecord> recorded() {
    auto records = ledger_->recent(200);
    EXPECT_TRUE(records) << records.error().message;
    return records ? std::vector(records->rbegin(), records->rend())
                   : std::vector<ledger::UsageRecord>{};
  }

  static std::string converse_body(int max_tokens) {
    return R"({"messages":[{"role":"user","content":[{"text":"Total of invoice 42?"}]}],)"
           R"("system":[{"text":"Answer briefly."}],"inferenceConfig":{"maxTokens":)" +
           std::to_string(max_tokens) + R"(,"temperature":0}})";
  }

  static Config* back_config_;
  static providers::LocalProvider* back_provider_;
  static providers::LocalProvider* front_local_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog back_catalog_;
  std::unique_ptr<Gateway> back_gateway_;
  std::unique_ptr<http::Server> back_server_;
  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<ledger::Ledger> ledger_;
  Config front_config_;
  catalog::Catalog front_catalog_;
  router::RouterSet routers_;
  std::unique_ptr<ledger::Budgets> budgets_;
  std::unique_ptr<CatalogProvider> front_provider_;
  std::unique_ptr<Gateway> front_gateway_;
};

Config* UpstreamGatewayTest::back_config_ = nullptr;
providers::LocalProvider* UpstreamGatewayTest::back_provider_ = nullptr;
providers::LocalProvider* UpstreamGatewayTest::front_local_ = nullptr;

TEST_F(UpstreamGatewayTest, ConverseIsAnsweredByTheUpstreamWithItsOwnUsage) {
  start_front();
  FakeExchange front = converse("up-small", converse_body(8));
  ASSERT_EQ(front.response->status, 200) << front.response->body;
  // The same request straight to the back: a greedy model gives the same answer and counts.
  FakeExchange back;
  back_gateway_->handle(signed_request("/model/qwen2-small/converse", converse_body(8)), back);
  ASSERT_EQ(back.response->status, 200);
  json::value f = json::parse(front.response->body);
  json::value b = json::parse(back.response->body);
  EXPECT_EQ(f.at("output"), b.at("output"));
  EXPECT_EQ(f.at("usage").at("inputTokens"), b.at("usage").at("inputTokens"));
  EXPECT_EQ(f.at("usage").at("outputTokens"), b.at("usage").at("outputTokens"));
  auto records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].model_used, "up-small");
  EXPECT_EQ(records[0].provider, "back");
  EXPECT_EQ(records[0].input_tokens, b.at("usage").at("inputTokens").as_int64());
  EXPECT_EQ(records[0].cost_micro_usd,
            catalog::compute_cost(*front_catalog_.find("up-small"), records[0].input_tokens,
                                  records[0].output_tokens)
                .micro_usd());
}

TEST_F(UpstreamGatewayTest, TheUpstreamsPromptCacheCountsReachTheResponseAndTheLedger) {
  start_front();
  // A prompt no other test sends, past the engine's 32-token minimum: the back's prefix cache
  // serves most of its second call, which the back reports as OpenAI does (cached_tokens).
  std::string body =
      R"({"model":"up-small","max_tokens":3,"temperature":0,"messages":[{"role":"user",)"
      R"("content":"Cache me: invoice 7731 of March lists twelve boxes of nails, four hammers, )"
      R"(two ladders, nine tins of paint and a wheelbarrow, delivered to the north depot."}]})";
  FakeExchange first = chat(body);
  FakeExchange second = chat(body);
  ASSERT_EQ(second.response->status, 200) << second.response->body;
  json::value usage = json::parse(second.response->body).at("usage");
  int64_t cached = usage.at("prompt_tokens_details").at("cached_tokens").as_int64();
  EXPECT_GT(cached, 0) << usage;
  auto records = recorded();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].cache_read_input_tokens, 0);
  EXPECT_EQ(records[1].cache_read_input_tokens, cached);
  EXPECT_EQ(records[1].provider, "back");
  // Cache reads are part of the input, as the upstream counted it.
  EXPECT_EQ(records[1].input_tokens, usage.at("prompt_tokens").as_int64());
  EXPECT_EQ(records[1].input_tokens, records[0].input_tokens);
}

// The caller's cachePoint travels through the anthropic kind as cache_control; the back's local
// engine honours it, so the second call reads the checkpoint and the front bills the read.
TEST_F(UpstreamGatewayTest, ACallersCachePointReachesAnAnthropicUpstream) {
  ProviderConfig anthropic;
  anthropic.id = "back-anthropic";
  anthropic.kind = "anthropic";
  anthropic.base_url = "http://127.0.0.1:" + std::to_string(back_server_->port());
  anthropic.api_key_env = "BACK_PLINTH_KEY";
  anthropic.timeout_seconds = 2;
  anthropic.max_retries = 1;
  start_front({upstream_model("up-anthropic", "back-anthropic", "qwen2-small", "small")},
              {anthropic});
  // A prefix no other test sends, past the engine's 32-token minimum for a checkpoint.
  const std::string body =
      R"({"messages":[{"role":"user","content":[{"text":"Delivery note 5519: sixteen crates )"
      R"(of pears, three sacks of flour, eleven jars of honey, a crate of lemons and two )"
      R"(barrels of cider for the harbour warehouse."},{"cachePoint":{"type":"default"}},)"
      R"({"text":"How many crates?"}]}],"inferenceConfig":{"maxTokens":3,"temperature":0}})";
  FakeExchange first = converse("up-anthropic", body);
  ASSERT_EQ(first.response->status, 200) << first.response->body;
  FakeExchange second = converse("up-anthropic", body);
  ASSERT_EQ(second.response->status, 200) << second.response->body;
  json::value usage = json::parse(second.response->body).at("usage");
  const int64_t read = usage.at("cacheReadInputTokens").as_int64();
  EXPECT_GT(read, 0) << usage;
  auto records = recorded();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].provider, "back-anthropic");
  EXPECT_EQ(records[1].cache_read_input_tokens, read);
  EXPECT_GT(records[1].cache_read_input_tokens, 0);
}

TEST_F(UpstreamGatewayTest, ConverseStreamAndChatCompletionsStreamEndToEnd) {
  start_front();
  FakeExchange stream = converse("up-small", converse_body(8), "converse-stream");
  ASSERT_EQ(stream.stream_status, 200);
  EXPECT_NE(stream.streamed.find("contentBlockDelta"), std::string::npos);
  EXPECT_NE(stream.streamed.find("messageStop"), std::string::npos);
  EXPECT_NE(stream.streamed.find("metadata"), std::string::npos);

  FakeExchange sse = chat(R"({"model":"up-small","stream":true,"max_tokens":6,"temperature":0,)"
                          R"("stream_options":{"include_usage":true},)"
                          R"("messages":[{"role":"user","content":"Hello"}]})");
  ASSERT_EQ(sse.stream_status, 200);
  EXPECT_NE(sse.streamed.find("\"delta\""), std::string::npos);
  EXPECT_NE(sse.streamed.find("data: [DONE]"), std::string::npos);
  EXPECT_NE(sse.streamed.find("\"prompt_tokens\""), std::string::npos);

  FakeExchange plain = chat(R"({"model":"up-small","max_tokens":6,"temperature":0,)"
                            R"("messages":[{"role":"system","content":"Be brief."},)"
                            R"({"role":"user","content":"Hello"}]})");
  ASSERT_EQ(plain.response->status, 200) << plain.response->body;
  EXPECT_EQ(json::parse(plain.response->body).at("model"), "up-small");
  for (const auto& record : recorded()) EXPECT_EQ(record.provider, "back");
}

TEST_F(UpstreamGatewayTest, ForcedToolOnAnUpstreamModelIsValidatedAndComesBackAsToolUse) {
  start_front();
  std::string body =
      R"({"messages":[{"role":"user","content":[{"text":"Invoice 42 totals 9."}]}],)"
      R"("inferenceConfig":{"maxTokens":64,"temperature":0},"toolConfig":{"tools":[{"toolSpec":)"
      R"({"name":"record","inputSchema":{"json":{"type":"object","properties":{"total":)"
      R"({"type":"integer"}},"required":["total"],"additionalProperties":false}}}}],)"
      R"("toolChoice":{"tool":{"name":"record"}}}})";
  FakeExchange exchange = converse("up-small", body);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value response = json::parse(exchange.response->body);
  EXPECT_EQ(response.at("stopReason"), "tool_use");
  const json::value& use = response.at("output").at("message").at("content").at(0).at("toolUse");
  EXPECT_EQ(use.at("name"), "record");
  EXPECT_TRUE(use.at("input").at("total").is_int64());
}

TEST_F(UpstreamGatewayTest, RouterEscalatesFromLocalToUpstreamOnInvalidOutputAndPaysBoth) {
  start_front();
  // Two tokens cannot hold the forced tool's JSON: the local small answer is invalid.
  std::string body =
      R"({"messages":[{"role":"user","content":[{"text":"Invoice 42 totals 9."}]}],)"
      R"("inferenceConfig":{"maxTokens":2,"temperature":0},"toolConfig":{"tools":[{"toolSpec":)"
      R"({"name":"record","inputSchema":{"json":{"type":"object","properties":{"total":)"
      R"({"type":"integer"}},"required":["total"]}}}}],"toolChoice":{"tool":{"name":"record"}}}})";
  FakeExchange exchange = converse("router.split", body);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("x-plinth-invoked-model"), "up-large");
  EXPECT_EQ(exchange.header("x-plinth-escalation-reason"), "invalid_output");
  auto records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(records[0].escalated);
  EXPECT_EQ(records[0].model_used, "up-large");
  EXPECT_EQ(records[0].provider, "back");
  // Both attempts are in the row: more input than either model's prompt alone.
  FakeExchange small_alone = converse("local-small", body);
  int64_t small_input =
      json::parse(small_alone.response->body).at("usage").at("inputTokens").as_int64();
  EXPECT_GT(records[0].input_tokens, small_input);
}

TEST_F(UpstreamGatewayTest, AFailingProviderFallsBackToTheNextModel) {
  FaultyUpstream down(503);
  ModelConfig flaky = upstream_model("flaky", "down", "whatever", "small");
  flaky.fallbacks = {"up-small"};
  start_front({flaky}, {openai_provider("down", down.port(), 1)});
  FakeExchange exchange = converse("flaky", converse_body(6));
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(down.calls.load(), 2);  // the try and one retry
  auto records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].model_requested, "flaky");
  EXPECT_EQ(records[0].model_used, "up-small");
  EXPECT_EQ(records[0].provider, "back");
  // The breaker (threshold 2) is open now: the next call skips the dead provider entirely.
  FakeExchange again = converse("flaky", converse_body(6));
  ASSERT_EQ(again.response->status, 200);
  EXPECT_EQ(down.calls.load(), 2);
}

TEST_F(UpstreamGatewayTest, UpstreamFaultsBecomeTheCallersErrorTypes) {
  FaultyUpstream throttled(429), broken(500), invalid(400);
  FaultyUpstream slow(200, std::chrono::milliseconds(3500));
  start_front(
      {upstream_model("throttled", "t", "m", "small"), upstream_model("broken", "b", "m", "small"),
       upstream_model("invalid", "i", "m", "small"), upstream_model("slow", "s", "m", "small"),
       upstream_model("dead", "d", "m", "small")},
      {openai_provider("t", throttled.port(), 2), openai_provider("b", broken.port(), 0),
       openai_provider("i", invalid.port(), 2), openai_provider("s", slow.port(), 0),
       openai_provider("d", 1, 0)});
  struct Case {
    std::string model;
    int status;
    std::string type;
  };
  for (const Case& c :
       {Case{"throttled", 429, "ThrottlingException"},
        Case{"broken", 503, "ServiceUnavailableException"},
        Case{"invalid", 400, "ValidationException"}, Case{"slow", 408, "ModelTimeoutException"},
        Case{"dead", 503, "ServiceUnavailableException"}}) {
    FakeExchange exchange = converse(c.model, converse_body(4));
    ASSERT_TRUE(exchange.response) << c.model;
    EXPECT_EQ(exchange.response->status, c.status) << c.model << exchange.response->body;
    EXPECT_EQ(exchange.header("x-amzn-errortype").substr(0, c.type.size()), c.type) << c.model;
  }
  EXPECT_EQ(throttled.calls.load(), 3);  // the try and two retries
  EXPECT_EQ(invalid.calls.load(), 1);    // never retried
  FakeExchange validation = converse("invalid", converse_body(4));
  EXPECT_NE(validation.response->body.find("upstream says 400"), std::string::npos);
}

TEST_F(UpstreamGatewayTest, AnAnswerBreakingTheSchemaIsAModelErrorAndStillPaidFor) {
  FaultyUpstream sloppy(200, {}, std::string(kSchemaBreakingAnswer));
  start_front({upstream_model("sloppy", "s", "m", "small")},
              {openai_provider("s", sloppy.port(), 0)});
  const std::string schema =
      R"({"type":"object","properties":{"total":{"type":"integer"}},"required":["total"]})";
  FakeExchange converse_call = converse(
      "sloppy", R"({"messages":[{"role":"user","content":[{"text":"Invoice 42 totals 9."}]}],)"
                R"("toolConfig":{"tools":[{"toolSpec":{"name":"record","inputSchema":{"json":)" +
                    schema + R"(}}}],"toolChoice":{"tool":{"name":"record"}}}})");
  ASSERT_TRUE(converse_call.response);
  EXPECT_EQ(converse_call.response->status, 424) << converse_call.response->body;
  EXPECT_EQ(converse_call.header("x-amzn-errortype").substr(0, 19), "ModelErrorException");
  EXPECT_NE(converse_call.response->body.find("does not match the requested JSON schema"),
            std::string::npos);
  EXPECT_EQ(converse_call.response->body.find("nine"), std::string::npos);  // never the JSON

  FakeExchange chat_call =
      chat(R"({"model":"sloppy","messages":[{"role":"user","content":"Invoice 42 totals 9."}],)"
           R"("tools":[{"type":"function","function":{"name":"record","parameters":)" +
           schema + R"(}}],"tool_choice":{"type":"function","function":{"name":"record"}}})");
  ASSERT_TRUE(chat_call.response);
  EXPECT_EQ(chat_call.response->status, 500) << chat_call.response->body;
  json::value error = json::parse(chat_call.response->body).at("error");
  EXPECT_EQ(error.at("code"), "model_error");
  EXPECT_NE(error.at("message").as_string().find("JSON schema"), std::string::npos);

  // The upstream's tokens were spent: both calls are in the ledger, with their status.
  auto records = recorded();
  ASSERT_EQ(records.size(), 2u);
  for (const auto& record : records) {
    EXPECT_EQ(record.input_tokens, 12);
    EXPECT_EQ(record.output_tokens, 5);
    EXPECT_GT(record.cost_micro_usd, 0);
  }
  EXPECT_EQ(records[0].status, "424");
  EXPECT_EQ(records[1].status, "500");
}

TEST_F(UpstreamGatewayTest, AnAnswerBreakingTheSchemaFallsBackToTheNextModelAndBothArePaid) {
  FaultyUpstream sloppy(200, {}, std::string(kSchemaBreakingAnswer));
  ModelConfig first = upstream_model("sloppy", "s", "m", "small");
  first.price_input_per_mtok = 100.0;  // unlike the fallback's: each answer at its own prices
  first.price_output_per_mtok = 300.0;
  first.fallbacks = {"up-small"};
  start_front({first}, {openai_provider("s", sloppy.port(), 0)});
  const std::string schema =
      R"({"type":"object","properties":{"total":{"type":"integer"}},"required":["total"]})";
  const std::string tools =
      R"("toolConfig":{"tools":[{"toolSpec":{"name":"record","inputSchema":{"json":)" + schema +
      R"(}}}],"toolChoice":{"tool":{"name":"record"}}})";
  FakeExchange exchange = converse(
      "sloppy", R"({"messages":[{"role":"user","content":[{"text":"Invoice 42 totals 9."}]}],)"
                R"("inferenceConfig":{"maxTokens":200,"temperature":0},)" +
                    tools + "}");
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(sloppy.calls.load(), 1);
  // The fallback's answer, valid against the caller's schema.
  json::value body = json::parse(exchange.response->body);
  const json::value& block = body.at("output").at("message").at("content").at(0);
  EXPECT_TRUE(structured::validate(schema, json::serialize(block.at("toolUse").at("input"))));

  // One record, for both answers: the tokens of each, at each model's prices. (The back may
  // report a reused prompt prefix as cached tokens: those are the fallback's, at its cache price.)
  auto records = recorded();
  ASSERT_EQ(records.size(), 1u);
  const ledger::UsageRecord& record = records[0];
  EXPECT_EQ(record.model_requested, "sloppy");
  EXPECT_EQ(record.model_used, "up-small");
  const int64_t fallback_in = record.input_tokens - 12, fallback_out = record.output_tokens - 5;
  EXPECT_GT(fallback_in, 0);
  EXPECT_GT(fallback_out, 0);
  EXPECT_EQ(fallback_out, body.at("usage").at("outputTokens").as_int64());
  const int64_t pico =
      catalog::compute_cost(*front_catalog_.find("sloppy"), 12, 5).pico_usd +
      catalog::compute_cost(*front_catalog_.find("up-small"),
                            {fallback_in, fallback_out, record.cache_read_input_tokens,
                             record.cache_write_input_tokens})
          .pico_usd;
  EXPECT_EQ(record.cost_micro_usd, catalog::Cost{pico}.micro_usd());
}

TEST_F(UpstreamGatewayTest, BudgetsSettleExactlyUnderFiftyConcurrentUpstreamCalls) {
  start_front({}, {}, 1'000'000'000);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 50; ++i) {
    threads.emplace_back([&] {
      FakeExchange exchange = converse("up-small", converse_body(4));
      if (exchange.response && exchange.response->status == 200) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 50);
  auto records = recorded();
  ASSERT_EQ(records.size(), 50u);
  int64_t booked = 0;
  for (const auto& r : records) booked += r.cost_micro_usd;
  auto states = budgets_->snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].spent_micro_usd, booked);
  EXPECT_EQ(states[0].reserved_micro_usd, 0);
  EXPECT_GT(booked, 0);
}

}  // namespace
}  // namespace plinth::upstream
