// The Gateway end to end through its Handler: routing, SigV4 and bearer authentication,
// authorization, throttling, streaming, cancellation and error shapes (fake provider).
#include "plinth/api/gateway.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <thread>

#include "gateway_test_support.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/core/encoding.h"
#include "plinth/http/event_stream.h"
#include "plinth/http/sse.h"
#include "plinth/store/store.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kConverseBody =
    R"({"messages":[{"role":"user","content":[{"text":"Extract the invoice total: 120,50 €"}]}]})";

std::string allow_policy(std::string_view actions, std::string_view resource) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
         std::string(actions) + R"(,"Resource":")" + std::string(resource) + R"("}]})";
}

class GatewayTest : public ::testing::Test {
 protected:
  GatewayTest() {
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.name = "alice";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    set_policy(
        allow_policy(R"(["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"])", "*"));
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.aliases = {"small"};
    ModelConfig titan;
    titan.id = "amazon.titan-embed-text-v2:0";
    titan.kind = "embedding";
    config.models = {haiku, titan};
    catalog_ = *catalog::Catalog::from_config(config);
    options_.max_concurrent_per_principal = 1;
    gateway_ = std::make_unique<Gateway>(
        options_, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
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

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(7);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  GatewayOptions options_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayTest, HealthIsUnauthenticated) {
  http::Request request;
  request.method = "GET";
  request.target = "/health";
  FakeExchange exchange = call(request);
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200);
  EXPECT_EQ(json::parse(exchange.response->body), json::parse(R"({"status":"ok"})"));
  EXPECT_EQ(exchange.header("x-amzn-RequestId").size(), 36u);
}

TEST_F(GatewayTest, HealthReportsTheStoresDatabaseAndMigrations) {
  auto dir = std::filesystem::temp_directory_path() /
             ("plinth-gateway-health-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    auto store = store::open_sqlite_store({dir / "plinth.db", random_->bytes(32), random_});
    ASSERT_TRUE(store) << store.error().message;
    GatewayServices services{authenticator_, *clock_, *random_, catalog_, provider_};
    services.storage = store->get();
    Gateway gateway(options_, services);
    http::Request request;
    request.method = "GET";
    request.target = "/health";
    FakeExchange exchange;
    gateway.handle(request, exchange);
    ASSERT_TRUE(exchange.response.has_value());
    EXPECT_EQ(exchange.response->status, 200);
    json::value body = json::parse(exchange.response->body);
    EXPECT_EQ(body.at("status"), "ok");
    EXPECT_EQ(body.at("storage").at("backend"), "sqlite");
    EXPECT_EQ(body.at("storage").at("database"), "ok");
    EXPECT_GE(body.at("storage").at("migrations").at("iam").as_int64(), 1);
  }
  std::filesystem::remove_all(dir);
}

TEST_F(GatewayTest, ConverseWithPercentEncodedIdResolvesAndAnswers) {
  FakeExchange exchange =
      call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_FALSE(exchange.header("x-amzn-RequestId").empty());
  EXPECT_EQ(exchange.header("content-type"), "application/json");
  json::value body = json::parse(exchange.response->body);
  EXPECT_EQ(body.at("output").at("message").at("content").at(0).at("text"), "Hello world");
  EXPECT_EQ(body.at("usage").at("totalTokens"), 12);
  ASSERT_EQ(provider_.requests.size(), 1u);
  EXPECT_EQ(provider_.requests[0].model_id, kHaiku);
  EXPECT_NE(provider_.requests[0].cancel, nullptr);
}

TEST_F(GatewayTest, ConverseWithPercentEncodedArnAndAlias) {
  std::string arn = "arn:aws:bedrock:us-east-1::foundation-model/" + std::string(kHaiku);
  FakeExchange by_arn =
      call(signed_request(model_path(arn, "converse"), std::string(kConverseBody)));
  ASSERT_TRUE(by_arn.response.has_value());
  EXPECT_EQ(by_arn.response->status, 200) << by_arn.response->body;
  FakeExchange by_alias = call(signed_request("/model/small/converse", std::string(kConverseBody)));
  EXPECT_EQ(by_alias.response->status, 200);
  ASSERT_EQ(provider_.requests.size(), 2u);
  EXPECT_EQ(provider_.requests[0].model_id, kHaiku);
  EXPECT_EQ(provider_.requests[1].model_id, kHaiku);
}

TEST_F(GatewayTest, AuthenticationFailuresUseAwsErrorTypes) {
  http::Request unsigned_request;
  unsigned_request.method = "POST";
  unsigned_request.target = model_path(kHaiku, "converse");
  unsigned_request.body = kConverseBody;
  FakeExchange missing = call(unsigned_request);
  EXPECT_EQ(missing.response->status, 403);
  EXPECT_TRUE(
      missing.header("x-amzn-ErrorType").starts_with("MissingAuthenticationTokenException"));

  http::Request tampered =
      signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody));
  tampered.body += " ";
  FakeExchange bad = call(tampered);
  EXPECT_EQ(bad.response->status, 403);
  EXPECT_TRUE(bad.header("x-amzn-ErrorType").starts_with("InvalidSignatureException"));

  http::Request wrong_service =
      signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody), "sts");
  FakeExchange scope = call(wrong_service);
  EXPECT_EQ(scope.response->status, 403);
  // AWS answers a credential scoped to another service with InvalidSignatureException.
  EXPECT_TRUE(scope.header("x-amzn-ErrorType").starts_with("InvalidSignatureException"));

  http::Request malformed = unsigned_request;
  malformed.headers.push_back({"authorization", "AWS4-HMAC-SHA256 Credential=garbage"});
  FakeExchange incomplete = call(malformed);
  EXPECT_EQ(incomplete.response->status, 403);
  EXPECT_TRUE(incomplete.header("x-amzn-ErrorType").starts_with("IncompleteSignatureException"));
  EXPECT_TRUE(provider_.requests.empty());
}

TEST_F(GatewayTest, UnknownModelIsNotFoundAndBadBodyIsValidation) {
  FakeExchange missing = call(signed_request(model_path("anthropic.claude-3-opus", "converse"),
                                             std::string(kConverseBody)));
  EXPECT_EQ(missing.response->status, 404);
  EXPECT_TRUE(missing.header("x-amzn-ErrorType").starts_with("ResourceNotFoundException"));
  FakeExchange invalid = call(signed_request(model_path(kHaiku, "converse"), R"({"messages":[]})"));
  EXPECT_EQ(invalid.response->status, 400);
  EXPECT_TRUE(invalid.header("x-amzn-ErrorType").starts_with("ValidationException"));
  EXPECT_TRUE(json::parse(invalid.response->body).as_object().contains("message"));
}

TEST_F(GatewayTest, AuthorizesTheResolvedModelOrTheRequestedAlias) {
  set_policy(allow_policy(R"("bedrock:InvokeModel")",
                          "arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-*"));
  FakeExchange denied =
      call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_TRUE(denied.header("x-amzn-ErrorType").starts_with("AccessDeniedException"));

  set_policy(allow_policy(R"("bedrock:InvokeModel")",
                          "arn:aws:bedrock:us-east-1::foundation-model/small"));
  FakeExchange alias = call(signed_request("/model/small/converse", std::string(kConverseBody)));
  EXPECT_EQ(alias.response->status, 200);
  FakeExchange by_id =
      call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  EXPECT_EQ(by_id.response->status, 403);
}

TEST_F(GatewayTest, ExplicitDenyOnTheAliasWins) {
  set_policy(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"bedrock:*","Resource":"*"},
      {"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":"arn:aws:bedrock:*::foundation-model/small"}]})");
  FakeExchange denied = call(signed_request("/model/small/converse", std::string(kConverseBody)));
  EXPECT_EQ(denied.response->status, 403);
}

TEST_F(GatewayTest, StreamingNeedsItsOwnAction) {
  set_policy(allow_policy(R"("bedrock:InvokeModel")", "*"));
  FakeExchange denied =
      call(signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)));
  ASSERT_TRUE(denied.response.has_value());
  EXPECT_EQ(denied.response->status, 403);
}

std::vector<http::EventMessage> frames(const FakeExchange& exchange) {
  auto decoded = http::decode_event_messages(exchange.streamed);
  EXPECT_TRUE(decoded.has_value());
  return decoded.value_or(std::vector<http::EventMessage>{});
}

TEST_F(GatewayTest, ConverseStreamSendsEventStreamFrames) {
  FakeExchange exchange =
      call(signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)));
  ASSERT_FALSE(exchange.response.has_value());
  EXPECT_EQ(exchange.stream_status, 200);
  EXPECT_EQ(exchange.header("content-type"), "application/vnd.amazon.eventstream");
  EXPECT_FALSE(exchange.header("x-amzn-RequestId").empty());
  EXPECT_TRUE(exchange.finished);
  std::vector<std::string> types;
  for (const auto& m : frames(exchange)) types.push_back(*m.header(":event-type"));
  EXPECT_EQ(types,
            (std::vector<std::string>{"messageStart", "contentBlockDelta", "contentBlockDelta",
                                      "contentBlockStop", "messageStop", "metadata"}));
}

TEST_F(GatewayTest, MidStreamFailureBecomesAnExceptionFrame) {
  provider_.fail_after_output = Error(ErrorCode::kUnavailable, "engine restarting");
  FakeExchange exchange =
      call(signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)));
  auto messages = frames(exchange);
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(*messages.back().header(":message-type"), "exception");
  EXPECT_EQ(*messages.back().header(":exception-type"), "serviceUnavailableException");
}

TEST_F(GatewayTest, FailureBeforeOutputIsAPlainHttpError) {
  provider_.fail_before_output = Error(ErrorCode::kContextLength, "Input is too long.");
  FakeExchange exchange =
      call(signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 400);
  EXPECT_EQ(exchange.stream_status, 0);
}

TEST_F(GatewayTest, ClientGoingAwayCancelsGeneration) {
  provider_.deltas = {"a", "b", "c", "d", "e"};
  FakeExchange exchange;
  exchange.gone_after_writes = 2;  // messageStart and the first delta get through
  gateway_->handle(
      signed_request(model_path(kHaiku, "converse-stream"), std::string(kConverseBody)), exchange);
  EXPECT_TRUE(provider_.cancelled_by_callback);
  EXPECT_TRUE(provider_.saw_cancel_flag);
  EXPECT_EQ(exchange.writes, 2);
}

TEST_F(GatewayTest, InvokeAnthropicAndItsChunkStream) {
  std::string body =
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"hi"}]})";
  FakeExchange plain = call(signed_request(model_path(kHaiku, "invoke"), body));
  ASSERT_TRUE(plain.response.has_value());
  EXPECT_EQ(plain.response->status, 200) << plain.response->body;
  json::value v = json::parse(plain.response->body);
  EXPECT_EQ(v.at("type"), "message");
  EXPECT_TRUE(v.at("id").as_string().starts_with("msg_bdrk_"));
  EXPECT_EQ(v.at("content").at(0).at("text"), "Hello world");

  FakeExchange streamed =
      call(signed_request(model_path(kHaiku, "invoke-with-response-stream"), body));
  std::vector<std::string> types;
  for (const auto& m : frames(streamed)) {
    EXPECT_EQ(*m.header(":event-type"), "chunk");
    auto inner = decode_chunk_payload(m.payload);
    ASSERT_TRUE(inner.has_value());
    types.emplace_back(json::parse(*inner).at("type").as_string());
  }
  EXPECT_EQ(types.front(), "message_start");
  EXPECT_EQ(types.back(), "message_stop");
  EXPECT_EQ(types.size(), 7u);
}

TEST_F(GatewayTest, TitanEmbeddingOnlyOnEmbeddingModels) {
  FakeExchange ok_call = call(signed_request(model_path("amazon.titan-embed-text-v2:0", "invoke"),
                                             R"({"inputText":"hello","dimensions":256})"));
  ASSERT_TRUE(ok_call.response.has_value());
  EXPECT_EQ(ok_call.response->status, 200) << ok_call.response->body;
  json::value v = json::parse(ok_call.response->body);
  EXPECT_EQ(v.at("embedding").as_array().size(), 256u);
  EXPECT_EQ(v.at("inputTextTokenCount"), 3);
  FakeExchange wrong =
      call(signed_request(model_path(kHaiku, "invoke"), R"({"inputText":"hello"})"));
  EXPECT_EQ(wrong.response->status, 400);
  FakeExchange converse = call(signed_request(
      model_path("amazon.titan-embed-text-v2:0", "converse"), std::string(kConverseBody)));
  EXPECT_EQ(converse.response->status, 400);
}

TEST_F(GatewayTest, ConcurrentRequestsPerPrincipalAreLimited) {
  provider_.hold = true;
  std::thread first([&] {
    FakeExchange exchange =
        call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
    EXPECT_EQ(exchange.response->status, 200);
  });
  provider_.wait_running(1);
  EXPECT_EQ(gateway_->in_flight("arn:aws:iam::000000000000:user/alice"), 1);
  FakeExchange second =
      call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  EXPECT_EQ(second.response->status, 429);
  EXPECT_TRUE(second.header("x-amzn-ErrorType").starts_with("ThrottlingException"));
  provider_.release();
  first.join();
  EXPECT_EQ(gateway_->in_flight("arn:aws:iam::000000000000:user/alice"), 0);
  FakeExchange third =
      call(signed_request(model_path(kHaiku, "converse"), std::string(kConverseBody)));
  EXPECT_EQ(third.response->status, 200);
}

http::Request bearer_request(std::string path, std::string body, std::string token) {
  http::Request request;
  request.method = "POST";
  request.target = std::move(path);
  request.headers.push_back({"authorization", "Bearer " + token});
  request.body = std::move(body);
  return request;
}

TEST_F(GatewayTest, OpenAiChatWithBearerToken) {
  FakeExchange exchange = call(bearer_request(
      "/v1/chat/completions", R"({"model":"small","messages":[{"role":"user","content":"hi"}]})",
      std::string(kBearer)));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value v = json::parse(exchange.response->body);
  EXPECT_EQ(v.at("object"), "chat.completion");
  EXPECT_EQ(v.at("model"), "small");
  EXPECT_EQ(v.at("created"), kNow);
  EXPECT_EQ(v.at("choices").at(0).at("message").at("content"), "Hello world");
  EXPECT_EQ(provider_.requests.at(0).model_id, kHaiku);
}

TEST_F(GatewayTest, OpenAiStreamEndsWithDone) {
  FakeExchange exchange = call(bearer_request(
      "/v1/chat/completions",
      R"({"model":"small","stream":true,"messages":[{"role":"user","content":"hi"}]})",
      std::string(kBearer)));
  EXPECT_EQ(exchange.header("content-type"), "text/event-stream");
  http::SseParser parser;
  auto events = parser.feed(exchange.streamed);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.back().data, "[DONE]");
  EXPECT_EQ(json::parse(events[1].data).at("choices").at(0).at("delta").at("content"), "Hello");
}

TEST_F(GatewayTest, OpenAiErrorsUseOpenAiShape) {
  FakeExchange bad_token = call(
      bearer_request("/v1/chat/completions",
                     R"({"model":"small","messages":[{"role":"user","content":"hi"}]})", "nope"));
  EXPECT_EQ(bad_token.response->status, 401);
  EXPECT_TRUE(json::parse(bad_token.response->body).at("error").as_object().contains("message"));
  FakeExchange unknown = call(bearer_request(
      "/v1/chat/completions", R"({"model":"gpt-9","messages":[{"role":"user","content":"hi"}]})",
      std::string(kBearer)));
  EXPECT_EQ(unknown.response->status, 404);
  EXPECT_EQ(json::parse(unknown.response->body).at("error").at("code"), "model_not_found");
}

TEST_F(GatewayTest, OpenAiEmbeddingsWithSigV4) {
  FakeExchange exchange = call(signed_request(
      "/v1/embeddings", R"({"model":"amazon.titan-embed-text-v2:0","input":["a","b"]})"));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value v = json::parse(exchange.response->body);
  EXPECT_EQ(v.at("data").as_array().size(), 2u);
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), 6);
}

TEST_F(GatewayTest, QueryWithoutStsServiceIsUnavailableXml) {
  FakeExchange exchange =
      call(signed_request("/", "Action=GetCallerIdentity&Version=2011-06-15", "sts"));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 503);
  EXPECT_NE(exchange.response->body.find("<ErrorResponse"), std::string::npos);
  EXPECT_FALSE(exchange.header("x-amzn-RequestId").empty());
}

TEST_F(GatewayTest, UnknownRoutesAndServerErrors) {
  FakeExchange unknown = call(signed_request("/model/small/train", "{}"));
  EXPECT_EQ(unknown.response->status, 404);
  http::Response too_big = gateway_->error_response(413, "Request body too large");
  EXPECT_EQ(too_big.status, 413);
  EXPECT_NE(too_big.header("x-amzn-ErrorType"), nullptr);
  EXPECT_NE(too_big.header("x-amzn-RequestId"), nullptr);
  EXPECT_EQ(json::parse(too_big.body), json::parse(R"({"message":"Request body too large"})"));
}

}  // namespace
}  // namespace plinth::api
