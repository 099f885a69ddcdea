// CountTokens through the Gateway: the Converse and InvokeModel bodies inside reach the provider
// exactly as those calls' parsers produce them, and embedding models and bad input are refused
// with Bedrock's errors (fake provider).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/bedrock_converse.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kTitan = "amazon.titan-embed-text-v2:0";
constexpr std::string_view kConversation = R"({
  "system":[{"text":"You are terse."},{"text":"Answer in English."}],
  "toolConfig":{"tools":[{"toolSpec":{"name":"lookup","description":"Find an invoice",
    "inputSchema":{"json":{"type":"object","properties":{"id":{"type":"string"}}}}}}]},
  "messages":[{"role":"user","content":[{"text":"Total of INV-7?"}]},
              {"role":"assistant","content":[{"text":"Which currency?"}]},
              {"role":"user","content":[{"text":"EUR"}]}]})";

class GatewayCountTokensTest : public ::testing::Test {
 protected:
  GatewayCountTokensTest() {
    sign_in_as_alice(*credentials_);
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.aliases = {"small"};
    ModelConfig titan;
    titan.id = std::string(kTitan);
    titan.kind = "embedding";
    config.models = {haiku, titan};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
  }

  FakeExchange count(std::string_view model, std::string body) {
    FakeExchange exchange;
    gateway_->handle(
        signed_request("/model/" + uri_encode(model) + "/count-tokens", std::move(body)), exchange);
    EXPECT_TRUE(exchange.response.has_value());
    return exchange;
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayCountTokensTest, ConverseInputIsCountedAsConverseParsesIt) {
  FakeExchange exchange =
      count("small", R"({"input":{"converse":)" + std::string(kConversation) + "}}");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(exchange.header("content-type"), "application/json");
  // One tool, two system prompts, three messages (the fake provider's count).
  EXPECT_EQ(json::parse(exchange.response->body), json::parse(R"({"inputTokens":1231})"));
  ASSERT_EQ(provider_.count_requests.size(), 1u);
  const providers::InferenceRequest& counted = provider_.count_requests[0];
  auto parsed = parse_converse_request(kConversation, RequestLimits{});
  ASSERT_TRUE(parsed);
  EXPECT_EQ(counted.model_id, kHaiku);
  EXPECT_EQ(counted.system, parsed->system);
  ASSERT_EQ(counted.messages.size(), parsed->messages.size());
  EXPECT_EQ(counted.messages[2].content[0].text, "EUR");
  ASSERT_EQ(counted.tools.size(), 1u);
  EXPECT_EQ(counted.tools[0].input_schema_json, parsed->tools[0].input_schema_json);
  EXPECT_TRUE(provider_.requests.empty());  // nothing generated
}

TEST_F(GatewayCountTokensTest, InvokeModelBodyIsCountedAsInvokeModelParsesIt) {
  std::string body = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":50,)"
                     R"("system":"Be brief.","messages":[{"role":"user","content":"hi"}]})";
  FakeExchange exchange =
      count(kHaiku, R"({"input":{"invokeModel":{"body":")" + base64_encode(body) + "\"}}}");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(json::parse(exchange.response->body).at("inputTokens"), 111);
  ASSERT_EQ(provider_.count_requests.size(), 1u);
  EXPECT_EQ(provider_.count_requests[0].system, std::vector<std::string>{"Be brief."});
}

TEST_F(GatewayCountTokensTest, BadInputAndEmbeddingModelsAreValidationErrors) {
  auto expect_validation = [&](std::string_view model, std::string body, std::string_view says) {
    FakeExchange exchange = count(model, body);
    EXPECT_EQ(exchange.response->status, 400) << body;
    EXPECT_TRUE(exchange.header("x-amzn-ErrorType").starts_with("ValidationException")) << body;
    EXPECT_NE(exchange.response->body.find(says), std::string::npos) << exchange.response->body;
  };
  expect_validation("small", R"({"input":{}})", "exactly one");
  expect_validation("small", R"({"input":{"converse":{"messages":[]}}})", "user message");
  expect_validation("small", R"({"input":{"invokeModel":{"body":"%%%"}}})", "base64");
  expect_validation(
      "small",
      R"({"input":{"invokeModel":{"body":")" + base64_encode(R"({"inputText":"x"})") + "\"}}}",
      "text model");
  expect_validation(kTitan, R"({"input":{"converse":)" + std::string(kConversation) + "}}",
                    "doesn't support counting tokens");
  EXPECT_TRUE(provider_.count_requests.empty());
  FakeExchange unknown = count("no-such-model", R"({"input":{"converse":{}}})");
  EXPECT_EQ(unknown.response->status, 404);
  EXPECT_TRUE(unknown.header("x-amzn-ErrorType").starts_with("ResourceNotFoundException"));
}

TEST_F(GatewayCountTokensTest, ProviderErrorsComeBackInBedrocksShape) {
  // The fake's default count_tokens is overridden; a provider that cannot count answers with the
  // interface's default: a ValidationException naming the model.
  class NotCounting final : public providers::Provider {
   public:
    Result<providers::InferenceResponse> infer(const providers::InferenceRequest&,
                                               const providers::StreamCallback&) override {
      return fail(ErrorCode::kInternal, "unused");
    }
    Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest&) override {
      return fail(ErrorCode::kInternal, "unused");
    }
  } not_counting;
  Gateway gateway(GatewayOptions{},
                  GatewayServices{authenticator_, *clock_, *random_, catalog_, not_counting});
  FakeExchange exchange;
  gateway.handle(signed_request("/model/small/count-tokens",
                                R"({"input":{"converse":)" + std::string(kConversation) + "}}"),
                 exchange);
  ASSERT_TRUE(exchange.response);
  EXPECT_EQ(exchange.response->status, 400);
  EXPECT_NE(exchange.response->body.find("doesn't support counting tokens"), std::string::npos);
}

}  // namespace
}  // namespace plinth::api
