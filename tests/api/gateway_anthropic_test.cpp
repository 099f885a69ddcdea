// POST /v1/messages through the Gateway's Handler: x-api-key and Bearer authentication,
// authorization on the resolved model, the message and SSE shapes, and Anthropic's error shape.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/http/sse.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kBody =
    R"({"model":"small","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";

class GatewayAnthropicTest : public ::testing::Test {
 protected:
  GatewayAnthropicTest() {
    sign_in_as_alice(*credentials_);
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.aliases = {"small"};
    ModelConfig titan;
    titan.id = "amazon.titan-embed-text-v2:0";
    titan.kind = "embedding";
    config.models = {haiku, titan};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
  }

  FakeExchange post(std::string body, std::vector<http::Header> headers) {
    http::Request request;
    request.method = "POST";
    request.target = "/v1/messages";
    request.headers = std::move(headers);
    request.headers.push_back({"anthropic-version", "2023-06-01"});
    request.body = std::move(body);
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  FakeExchange post_with_key(std::string body) {
    return post(std::move(body), {{"x-api-key", std::string(kBearer)}});
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(7);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayAnthropicTest, MessageWithApiKeyHeader) {
  FakeExchange exchange = post_with_key(std::string(kBody));
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value v = json::parse(exchange.response->body);
  EXPECT_EQ(v.at("type"), "message");
  EXPECT_EQ(v.at("role"), "assistant");
  EXPECT_EQ(v.at("model"), "small");
  EXPECT_TRUE(v.at("id").as_string().starts_with("msg_"));
  EXPECT_EQ(v.at("content").at(0).at("text"), "Hello world");
  EXPECT_EQ(v.at("stop_reason"), "end_turn");
  EXPECT_EQ(v.at("usage").at("input_tokens"), 10);
  EXPECT_EQ(v.at("usage").at("output_tokens"), 2);
  ASSERT_EQ(provider_.requests.size(), 1u);
  EXPECT_EQ(provider_.requests[0].model_id, kHaiku);
  EXPECT_EQ(provider_.requests[0].max_tokens, 16);
}

TEST_F(GatewayAnthropicTest, MessageWithBearerToken) {
  FakeExchange exchange =
      post(std::string(kBody), {{"authorization", "Bearer " + std::string(kBearer)}});
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
}

TEST_F(GatewayAnthropicTest, StreamFollowsAnthropicEventOrder) {
  FakeExchange exchange = post_with_key(
      R"({"model":"small","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(exchange.stream_status, 200);
  EXPECT_EQ(exchange.header("content-type"), "text/event-stream");
  EXPECT_TRUE(exchange.finished);
  http::SseParser parser;
  std::vector<std::string> types;
  std::string text;
  json::value last_delta;
  for (const http::SseEvent& event : parser.feed(exchange.streamed)) {
    types.push_back(event.event);
    json::value data = json::parse(event.data);
    if (event.event == "content_block_delta") text += data.at("delta").at("text").as_string();
    if (event.event == "message_delta") last_delta = data;
  }
  EXPECT_EQ(types,
            (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                      "content_block_delta", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(text, "Hello world");
  EXPECT_EQ(last_delta.at("usage").at("output_tokens"), 2);
  EXPECT_EQ(last_delta.at("delta").at("stop_reason"), "end_turn");
}

TEST_F(GatewayAnthropicTest, FailureAfterTheStreamStartedIsAnErrorEvent) {
  provider_.fail_after_output = Error(ErrorCode::kUnavailable, "overloaded");
  FakeExchange exchange = post_with_key(
      R"({"model":"small","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  http::SseParser parser;
  auto events = parser.feed(exchange.streamed);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().event, "error");
  EXPECT_EQ(json::parse(events.back().data).at("error").at("type"), "overloaded_error");
}

TEST_F(GatewayAnthropicTest, ErrorsUseAnthropicShapeAndStatus) {
  auto type_of = [](const FakeExchange& e) {
    return std::string(json::parse(e.response->body).at("error").at("type").as_string());
  };
  FakeExchange no_key = post(std::string(kBody), {});
  EXPECT_EQ(no_key.response->status, 401);
  EXPECT_EQ(type_of(no_key), "authentication_error");
  FakeExchange bad_key = post(std::string(kBody), {{"x-api-key", "sk-ant-nope"}});
  EXPECT_EQ(bad_key.response->status, 401);
  EXPECT_EQ(json::parse(bad_key.response->body).at("type"), "error");
  FakeExchange unknown = post_with_key(
      R"({"model":"claude-9","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(unknown.response->status, 404);
  EXPECT_EQ(type_of(unknown), "not_found_error");
  FakeExchange malformed = post_with_key(R"({"model":)");
  EXPECT_EQ(malformed.response->status, 400);
  EXPECT_EQ(type_of(malformed), "invalid_request_error");
  FakeExchange embedding = post_with_key(
      R"({"model":"amazon.titan-embed-text-v2:0","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(embedding.response->status, 400);
  provider_.fail_before_output = Error(ErrorCode::kUnavailable, "overloaded");
  FakeExchange overloaded = post_with_key(std::string(kBody));
  EXPECT_EQ(overloaded.response->status, 529);
  EXPECT_EQ(type_of(overloaded), "overloaded_error");
  http::Request get;
  get.method = "GET";
  get.target = "/v1/messages";
  FakeExchange wrong_method;
  gateway_->handle(get, wrong_method);
  EXPECT_EQ(wrong_method.response->status, 404);
  EXPECT_EQ(type_of(wrong_method), "not_found_error");
  EXPECT_EQ(provider_.requests.size(), 1u);  // only the overloaded call reached the provider
}

TEST_F(GatewayAnthropicTest, AuthorizationIsOnTheResolvedModelUnderEveryName) {
  // A Deny on the model's id denies the call made through its alias.
  sign_in_as_alice(*credentials_, R"({"Version":"2012-10-17","Statement":[)"
                                  R"({"Effect":"Allow","Action":"bedrock:*","Resource":"*"},)"
                                  R"({"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":)"
                                  R"("arn:aws:bedrock:us-east-1::foundation-model/)" +
                                      std::string(kHaiku) + R"("}]})");
  FakeExchange denied = post_with_key(std::string(kBody));
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_EQ(json::parse(denied.response->body).at("error").at("type"), "permission_error");
  // Streaming is InvokeModelWithResponseStream, which the policy still allows.
  FakeExchange streamed = post_with_key(
      R"({"model":"small","max_tokens":16,"stream":true,"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_EQ(streamed.stream_status, 200);
  EXPECT_EQ(provider_.requests.size(), 1u);
}

TEST_F(GatewayAnthropicTest, ImagesReachTheProviderAsImageBlocks) {
  FakeExchange exchange = post_with_key(
      R"({"model":"small","max_tokens":16,"messages":[{"role":"user","content":[
          {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}},
          {"type":"text","text":"what is it?"}]}]})");
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  ASSERT_EQ(provider_.requests.size(), 1u);
  EXPECT_EQ(provider_.requests[0].messages[0].content[0].kind,
            providers::ContentBlock::Kind::kImage);
  EXPECT_EQ(provider_.requests[0].messages[0].content[0].document_format, "jpeg");
}

}  // namespace
}  // namespace plinth::api
