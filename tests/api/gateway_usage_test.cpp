// The Gateway and the ledger: every model call is recorded with its cost, and GET /v1/usage
// (SigV4 for "plinth", plinth:GetUsage) answers the grouped report.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/database.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kTitan = "amazon.titan-embed-text-v2:0";
constexpr std::string_view kConverseBody =
    R"({"messages":[{"role":"user","content":[{"text":"Extract the invoice total"}]}]})";
constexpr std::string_view kAliceArn = "arn:aws:iam::000000000000:user/alice";

std::string allow_policy(std::string_view actions) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
         std::string(actions) + R"(,"Resource":"*"}]})";
}

class GatewayUsageTest : public ::testing::Test {
 protected:
  GatewayUsageTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-gateway-usage-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    ledger_ = std::move(*ledger::open_sqlite_ledger(*database_));

    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = std::string(kAliceArn);
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.name = "alice";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    set_policy(allow_policy(
        R"(["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream","plinth:GetUsage"])"));
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.aliases = {"small"};
    haiku.price_input_per_mtok = 0.25;
    haiku.price_output_per_mtok = 1.25;
    haiku.price_cache_read_per_mtok = 0.1;
    haiku.price_cache_write_per_mtok = 2.0;
    ModelConfig titan;
    titan.id = std::string(kTitan);
    titan.kind = "embedding";
    titan.price_input_per_mtok = 0.02;
    config.models = {haiku, titan};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = catalog_,
                                                                    .provider = provider_,
                                                                    .ledger = ledger_.get()});
  }
  ~GatewayUsageTest() override {
    gateway_.reset();
    ledger_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  void set_policy(std::string policy) { credentials_->principal.identity_policies = {policy}; }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }

  static std::string model_path(std::string_view model, std::string_view op) {
    return "/model/" + uri_encode(model) + "/" + std::string(op);
  }

  std::vector<ledger::UsageRecord> recorded() {
    auto records = ledger_->recent(100);
    EXPECT_TRUE(records) << records.error().message;
    return records ? std::vector(records->rbegin(), records->rend())
                   : std::vector<ledger::UsageRecord>{};
  }

  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(11);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayUsageTest, ConverseIsRecordedWithCatalogCostAndApplicationTag) {
  http::Request request =
      signed_request(model_path("small", "converse"), std::string(kConverseBody));
  request.headers.push_back({std::string(ledger::kApplicationTagHeader), "invoices"});
  FakeExchange exchange = call(request);
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;

  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 1u);
  const ledger::UsageRecord& r = records[0];
  EXPECT_EQ(r.time_ms, kNow * 1000);
  EXPECT_EQ(r.account_id, "000000000000");
  EXPECT_EQ(r.principal_arn, kAliceArn);
  EXPECT_EQ(r.role_session, "");
  EXPECT_EQ(r.application_tag, "invoices");
  EXPECT_EQ(r.operation, "Converse");
  EXPECT_EQ(r.model_requested, "small");
  EXPECT_EQ(r.model_used, kHaiku);
  // The fake provider reports 10 tokens in and one per delta out: 10 * 0.25 + 2 * 1.25 µ$.
  EXPECT_EQ(r.input_tokens, 10);
  EXPECT_EQ(r.output_tokens, 2);
  EXPECT_EQ(r.cost_micro_usd, 5);
  EXPECT_FALSE(r.escalated);
  EXPECT_EQ(r.status, "200");
  EXPECT_EQ(r.request_id, exchange.header("x-amzn-RequestId"));
}

TEST_F(GatewayUsageTest, PromptCacheTokensAreReportedAndBilledAtTheirPrices) {
  provider_.cache_read = 6;
  provider_.cache_write = 3;
  FakeExchange exchange =
      call(signed_request(model_path("small", "converse"), std::string(kConverseBody)));
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(json::parse(exchange.response->body).at("usage"),
            json::parse(R"({"inputTokens":1,"outputTokens":2,"totalTokens":12,
                            "cacheReadInputTokens":6,"cacheWriteInputTokens":3})"));
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].input_tokens, 10);
  EXPECT_EQ(records[0].cache_read_input_tokens, 6);
  EXPECT_EQ(records[0].cache_write_input_tokens, 3);
  // 1 * 0.25 + 6 * 0.1 + 3 * 2.0 + 2 * 1.25 = 9.35 µ$ (without the cache prices it would be 5).
  EXPECT_EQ(records[0].cost_micro_usd, 9);
}

TEST_F(GatewayUsageTest, CountTokensIsNotBilledAndCohereBatchesAreBilledPerToken) {
  set_policy(allow_policy(R"(["bedrock:InvokeModel","bedrock:CountTokens"])"));
  FakeExchange counted =
      call(signed_request(model_path("small", "count-tokens"),
                          R"({"input":{"converse":)" + std::string(kConverseBody) + "}}"));
  ASSERT_EQ(counted.response->status, 200) << counted.response->body;
  EXPECT_TRUE(recorded().empty());
  FakeExchange cohere = call(signed_request(
      model_path(kTitan, "invoke"), R"({"texts":["a","b","c"],"input_type":"clustering"})"));
  ASSERT_EQ(cohere.response->status, 200) << cohere.response->body;
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].operation, "InvokeModel");
  EXPECT_EQ(records[0].input_tokens, 9);  // three texts, three tokens each
}

TEST_F(GatewayUsageTest, EveryOperationIsRecordedSuccessOrFailure) {
  call(signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)));
  call(signed_request(model_path(kHaiku, "invoke"),
                      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":20,)"
                      R"("messages":[{"role":"user","content":"hi"}]})"));
  call(signed_request(model_path(kTitan, "invoke"), R"({"inputText":"hello"})"));
  http::Request chat = signed_request(
      "/v1/chat/completions", R"({"model":"small","messages":[{"role":"user","content":"hi"}]})");
  call(chat);
  call(signed_request("/v1/embeddings", std::string(R"({"model":")") + std::string(kTitan) +
                                            R"(","input":["a","b"]})"));
  call(signed_request(model_path("no-such-model", "converse"), std::string(kConverseBody)));
  provider_.fail_before_output = Error(ErrorCode::kUnavailable, "engine busy");
  call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));

  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[0].operation, "ConverseStream");
  EXPECT_EQ(records[0].output_tokens, 2);
  EXPECT_EQ(records[0].status, "200");
  EXPECT_EQ(records[1].operation, "InvokeModel");
  EXPECT_EQ(records[1].input_tokens, 10);
  EXPECT_EQ(records[2].operation, "InvokeModel");
  EXPECT_EQ(records[2].model_used, kTitan);
  EXPECT_EQ(records[2].input_tokens, 3);
  EXPECT_EQ(records[3].operation, "ChatCompletions");
  EXPECT_EQ(records[3].model_requested, "small");
  EXPECT_EQ(records[3].model_used, kHaiku);
  EXPECT_EQ(records[3].cost_micro_usd, 5);
  EXPECT_EQ(records[4].operation, "Embeddings");
  EXPECT_EQ(records[4].input_tokens, 6);
  EXPECT_EQ(records[4].status, "200");
  EXPECT_EQ(records[5].operation, "Converse");
  EXPECT_EQ(records[5].model_requested, "no-such-model");
  EXPECT_EQ(records[5].model_used, "");
  EXPECT_EQ(records[5].status, "404");
  EXPECT_EQ(records[6].model_used, kHaiku);
  EXPECT_EQ(records[6].status, "503");
  EXPECT_EQ(records[6].input_tokens, 0);
  EXPECT_EQ(records[6].cost_micro_usd, 0);
}

TEST_F(GatewayUsageTest, AnthropicMessagesAreRecordedWithTheirEndUser) {
  http::Request request;
  request.method = "POST";
  request.target = "/v1/messages";
  request.headers = {{"x-api-key", std::string(kBearer)}, {"anthropic-version", "2023-06-01"}};
  request.body = R"({"model":"small","max_tokens":20,"metadata":{"user_id":"u-7"},)"
                 R"("messages":[{"role":"user","content":"hi"}]})";
  FakeExchange ok = call(request);
  ASSERT_EQ(ok.response->status, 200) << ok.response->body;
  request.body = R"({"model":"small","max_tokens":20,"stream":true,)"
                 R"("messages":[{"role":"user","content":"hi"}]})";
  call(request);
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].operation, "Messages");
  EXPECT_EQ(records[0].model_requested, "small");
  EXPECT_EQ(records[0].model_used, kHaiku);
  EXPECT_EQ(records[0].principal_arn, kAliceArn);
  EXPECT_EQ(records[0].cost_micro_usd, 5);
  EXPECT_EQ(records[0].request_metadata, (ledger::Labels{{"user_id", "u-7"}}));
  EXPECT_EQ(records[1].operation, "Messages");
  EXPECT_EQ(records[1].output_tokens, 2);
  EXPECT_EQ(records[1].status, "200");
}

TEST_F(GatewayUsageTest, UsageAnswersTheGroupedReport) {
  call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  call(signed_request(model_path("small", "converse"), std::string(kConverseBody)));
  call(signed_request("/v1/embeddings",
                      std::string(R"({"model":")") + std::string(kTitan) + R"(","input":"a"})"));

  FakeExchange exchange = call(signed_get(
      "/v1/usage", "group_by=model&from=2025-11-25&to=" + uri_encode("2025-11-26T00:00:00Z")));
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("content-type"), "application/json");
  // Titan's 3 tokens at 0.02 $/Mtok round to 0 µ$.
  json::value expected = json::parse(R"({
    "groups": [
      {"key": "amazon.titan-embed-text-v2:0", "requests": 1, "input_tokens": 3,
       "output_tokens": 0, "cost_usd": 0.0, "escalations": 0},
      {"key": "anthropic.claude-3-haiku-20240307-v1:0", "requests": 2, "input_tokens": 20,
       "output_tokens": 4, "cost_usd": 0.00001, "escalations": 0}],
    "total": {"requests": 3, "input_tokens": 23, "output_tokens": 4, "cost_usd": 0.00001,
              "escalations": 0}})");
  EXPECT_EQ(json::parse(exchange.response->body), expected) << exchange.response->body;

  FakeExchange later = call(signed_get("/v1/usage", "group_by=principal&from=1764115200"));
  ASSERT_EQ(later.response->status, 200) << later.response->body;
  EXPECT_EQ(json::parse(later.response->body),
            json::parse(R"({"groups":[],"total":{"requests":0,"input_tokens":0,)"
                        R"("output_tokens":0,"cost_usd":0.0,"escalations":0}})"));

  FakeExchange by_principal = call(signed_get("/v1/usage", "group_by=principal"));
  json::value body = json::parse(by_principal.response->body);
  EXPECT_EQ(body.at("groups").at(0).at("key").as_string(), kAliceArn);
  EXPECT_EQ(body.at("groups").at(0).at("requests"), 3);
}

TEST_F(GatewayUsageTest, UsageRejectsABadGroupBy) {
  FakeExchange exchange = call(signed_get("/v1/usage", "group_by=region"));
  ASSERT_TRUE(exchange.response);
  EXPECT_EQ(exchange.response->status, 400);
  EXPECT_TRUE(exchange.header("x-amzn-ErrorType").starts_with("ValidationException:"));
  FakeExchange bad_time = call(signed_get("/v1/usage", "from=yesterday"));
  EXPECT_EQ(bad_time.response->status, 400);
}

TEST_F(GatewayUsageTest, UsageNeedsGetUsagePermissionExceptForRoot) {
  set_policy(allow_policy(R"(["bedrock:InvokeModel"])"));
  FakeExchange denied = call(signed_get("/v1/usage", "group_by=model"));
  ASSERT_TRUE(denied.response);
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_TRUE(denied.header("x-amzn-ErrorType").starts_with("AccessDeniedException:"));
  EXPECT_NE(denied.response->body.find("plinth:GetUsage"), std::string::npos);

  credentials_->principal.kind = auth::Principal::Kind::kRoot;
  credentials_->principal.arn = "arn:aws:iam::000000000000:root";
  credentials_->principal.identity_policies.clear();
  FakeExchange root = call(signed_get("/v1/usage", "group_by=day"));
  ASSERT_TRUE(root.response);
  EXPECT_EQ(root.response->status, 200) << root.response->body;
}

TEST_F(GatewayUsageTest, UsageMustBeSignedForPlinth) {
  FakeExchange unsigned_call = call([] {
    http::Request request;
    request.method = "GET";
    request.target = "/v1/usage";
    return request;
  }());
  ASSERT_TRUE(unsigned_call.response);
  EXPECT_GE(unsigned_call.response->status, 400);
  FakeExchange wrong_service = call(signed_get("/v1/usage", "group_by=model", "bedrock"));
  ASSERT_TRUE(wrong_service.response);
  EXPECT_GE(wrong_service.response->status, 400);
  EXPECT_TRUE(recorded().empty());
}

TEST_F(GatewayUsageTest, UsageSeriesAnswersHourlyBucketsPerModelAndTag) {
  http::Request tagged =
      signed_request(model_path("small", "converse"), std::string(kConverseBody));
  tagged.headers.push_back({std::string(ledger::kApplicationTagHeader), "invoices"});
  call(tagged);
  call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));

  // By default: the 24 hours up to now (kNow is 10:11:43Z, so the last bucket starts at 10:00).
  FakeExchange by_model = call(signed_get("/v1/usage/series", "bucket=hour&by=model"));
  ASSERT_TRUE(by_model.response);
  ASSERT_EQ(by_model.response->status, 200) << by_model.response->body;
  EXPECT_EQ(by_model.header("content-type"), "application/json");
  json::value body = json::parse(by_model.response->body);
  EXPECT_EQ(body.at("bucket"), "hour");
  const json::array& buckets = body.at("buckets").as_array();
  ASSERT_EQ(buckets.size(), 24u);
  EXPECT_EQ(buckets.back(), (kNow / 3600) * 3600 * 1000);
  ASSERT_EQ(body.at("series").as_array().size(), 1u);
  const json::object& haiku = body.at("series").at(0).as_object();
  EXPECT_EQ(haiku.at("key").as_string(), kHaiku);
  EXPECT_EQ(haiku.at("requests").as_array().back(), 2);
  EXPECT_EQ(haiku.at("input_tokens").as_array().back(), 20);
  EXPECT_EQ(haiku.at("requests").as_array().front(), 0);

  FakeExchange by_tag = call(signed_get(
      "/v1/usage/series", "bucket=day&by=tag&from=2025-11-24&to=" + uri_encode("2025-11-26")));
  ASSERT_EQ(by_tag.response->status, 200) << by_tag.response->body;
  json::value tags = json::parse(by_tag.response->body);
  EXPECT_EQ(tags.at("buckets"), json::parse("[1763942400000,1764028800000]"));
  ASSERT_EQ(tags.at("series").as_array().size(), 2u);
  EXPECT_EQ(tags.at("series").at(0).at("key"), "");
  EXPECT_EQ(tags.at("series").at(1).at("key"), "invoices");
  EXPECT_EQ(tags.at("series").at(1).at("requests"), json::parse("[0,1]"));

  EXPECT_EQ(call(signed_get("/v1/usage/series", "bucket=week")).response->status, 400);
  EXPECT_EQ(call(signed_get("/v1/usage/series", "bucket=hour&from=0")).response->status, 400);
}

TEST_F(GatewayUsageTest, UsageRecentListsTheNewestCallsFirst) {
  call(signed_request(model_path("small", "converse"), std::string(kConverseBody)));
  call(signed_request(model_path("no-such-model", "converse"), std::string(kConverseBody)));

  FakeExchange exchange = call(signed_get("/v1/usage/recent", "limit=5"));
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value body = json::parse(exchange.response->body);
  const json::array& calls = body.at("calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("model_requested"), "no-such-model");
  EXPECT_EQ(calls[0].at("status"), "404");
  EXPECT_EQ(calls[1].at("model_requested"), "small");
  EXPECT_EQ(calls[1].at("model_used").as_string(), kHaiku);
  EXPECT_EQ(calls[1].at("principal_arn").as_string(), kAliceArn);
  EXPECT_EQ(calls[1].at("cost_micro_usd"), 5);

  EXPECT_EQ(json::parse(call(signed_get("/v1/usage/recent", "limit=1")).response->body)
                .at("calls")
                .as_array()
                .size(),
            1u);
  for (std::string_view bad : {"limit=0", "limit=1001", "limit=ten", "limit=5x"}) {
    EXPECT_EQ(call(signed_get("/v1/usage/recent", std::string(bad))).response->status, 400) << bad;
  }
  EXPECT_EQ(call(signed_get("/v1/usage/unknown", "")).response->status, 404);
}

TEST_F(GatewayUsageTest, TagsAndModelIdsThatAreNotUtf8AreRefusedBeforeAnythingIsStored) {
  http::Request tagged =
      signed_request(model_path("small", "converse"), std::string(kConverseBody));
  tagged.headers.push_back({std::string(ledger::kApplicationTagHeader), "inv\xff\xfeoices"});
  FakeExchange bedrock = call(tagged);
  ASSERT_TRUE(bedrock.response);
  EXPECT_EQ(bedrock.response->status, 400);
  EXPECT_TRUE(bedrock.header("x-amzn-ErrorType").starts_with("ValidationException"));
  EXPECT_NE(json::parse(bedrock.response->body).at("message").as_string().find("UTF-8"),
            std::string::npos);

  http::Request openai = signed_request(
      "/v1/chat/completions", R"({"model":"small","messages":[{"role":"user","content":"hi"}]})");
  openai.headers.push_back({std::string(ledger::kApplicationTagHeader), "\xc3\x28"});
  FakeExchange chat = call(openai);
  EXPECT_EQ(chat.response->status, 400);
  EXPECT_EQ(json::parse(chat.response->body).at("error").at("type"), "invalid_request_error");

  FakeExchange bad_id = call(signed_request("/model/m%FF%FE/converse", std::string(kConverseBody)));
  EXPECT_EQ(bad_id.response->status, 400);
  EXPECT_TRUE(provider_.requests.empty());
  // Only the refused model id is recorded (as the path segment it came in, still encoded).
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].model_requested, "m%FF%FE");
  EXPECT_EQ(records[0].status, "400");
}

TEST_F(GatewayUsageTest, ReportsStayValidJsonWhenStoredRowsHoldInvalidUtf8) {
  // Rows written before tags were validated: the reports replace the bad bytes.
  ledger::UsageRecord record;
  record.time_ms = kNow * 1000;
  record.account_id = "000000000000";
  record.principal_arn = std::string(kAliceArn);
  record.application_tag = "bad\xff tag\xe2\x82";
  record.operation = "Converse";
  record.model_requested = "m\xc0\xaf";
  record.model_used = std::string(kHaiku);
  record.status = "200";
  record.request_id = "r-1";
  ledger_->record(record);
  ASSERT_TRUE(ledger_->flush());
  for (auto [path, query] : std::vector<std::pair<std::string, std::string>>{
           {"/v1/usage", "group_by=tag"},
           {"/v1/usage/recent", "limit=5"},
           {"/v1/usage/series", "bucket=hour&by=tag"}}) {
    FakeExchange exchange = call(signed_get(path, query));
    ASSERT_TRUE(exchange.response);
    ASSERT_EQ(exchange.response->status, 200) << path << ": " << exchange.response->body;
    boost::system::error_code ec;
    json::value body = json::parse(exchange.response->body, ec);
    EXPECT_FALSE(ec) << path << ": " << ec.message();
    EXPECT_NE(exchange.response->body.find("bad\xEF\xBF\xBD tag"), std::string::npos) << path;
  }
}

TEST_F(GatewayUsageTest, SeriesAndRecentNeedGetUsagePermission) {
  set_policy(allow_policy(R"(["bedrock:InvokeModel"])"));
  for (std::string_view path : {"/v1/usage/series", "/v1/usage/recent"}) {
    FakeExchange denied = call(signed_get(std::string(path), ""));
    ASSERT_TRUE(denied.response);
    EXPECT_EQ(denied.response->status, 403) << path;
  }
  http::Request unsigned_request;
  unsigned_request.method = "GET";
  unsigned_request.target = "/v1/usage/recent";
  EXPECT_GE(call(unsigned_request).response->status, 400);
}

}  // namespace
}  // namespace plinth::api
