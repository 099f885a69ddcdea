// Replays real AWS SDK for JavaScript v3 Bedrock Runtime requests (tests/data/sdk-requests)
// through the Gateway: HTTP/2 captures with ":authority" signed and %3A-encoded model ids.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "gateway_test_support.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/api/gateway.h"
#include "plinth/http/event_stream.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

// Request line, "name: value" headers, blank line, body; CRLF or LF line ends.
http::Request load_capture(const std::string& name) {
  std::ifstream in(std::string(PLINTH_TEST_DATA_DIR) + "/sdk-requests/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream buffer;
  buffer << in.rdbuf();
  std::string text = buffer.str();
  http::Request request;
  size_t pos = 0;
  auto next_line = [&]() {
    size_t end = text.find('\n', pos);
    std::string line = text.substr(pos, end - pos);
    pos = end == std::string::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return line;
  };
  std::string request_line = next_line();
  size_t space1 = request_line.find(' ');
  size_t space2 = request_line.rfind(' ');
  request.method = request_line.substr(0, space1);
  request.target = request_line.substr(space1 + 1, space2 - space1 - 1);
  request.http_version = 20;
  for (std::string line = next_line(); !line.empty(); line = next_line()) {
    size_t colon = line.find(": ", line.starts_with(":") ? 1 : 0);
    request.headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  request.body = text.substr(pos);
  return request;
}

class SdkCaptureTest : public ::testing::Test {
 protected:
  SdkCaptureTest() {
    credentials_->access_key = "AKIDEXAMPLE";
    credentials_->secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/sdk";
    credentials_->principal.identity_policies = {
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:InvokeModel*",)"
        R"("Resource":"arn:aws:bedrock:us-east-1::foundation-model/*"}]})"};
    auto signed_at = auth::parse_amz_date("20261125T101143Z");
    clock_->set_unix_seconds(
        std::chrono::duration_cast<std::chrono::seconds>(signed_at->time_since_epoch()).count());
    Config config;
    ModelConfig haiku;
    haiku.id = "anthropic.claude-3-haiku-20240307-v1:0";
    ModelConfig titan;
    titan.id = "amazon.titan-embed-text-v2:0";
    titan.kind = "embedding";
    config.models = {haiku, titan};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
  }

  FakeExchange replay(const std::string& name) {
    FakeExchange exchange;
    gateway_->handle(load_capture(name), exchange);
    return exchange;
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>();
  std::shared_ptr<Random> random_ = Random::seeded(11);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(SdkCaptureTest, ConverseAnswers) {
  FakeExchange exchange = replay("bedrock-converse.http");
  ASSERT_TRUE(exchange.response.has_value());
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  ASSERT_EQ(provider_.requests.size(), 1u);
  EXPECT_EQ(provider_.requests[0].model_id, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(provider_.requests[0].system, std::vector<std::string>{"Answer in JSON."});
  EXPECT_EQ(provider_.requests[0].max_tokens, 64);
  json::value body = json::parse(exchange.response->body);
  EXPECT_EQ(body.at("stopReason"), "end_turn");
}

TEST_F(SdkCaptureTest, ConverseByArnAnswers) {
  FakeExchange exchange = replay("bedrock-converse-arn.http");
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
}

TEST_F(SdkCaptureTest, ConverseStreamFrames) {
  FakeExchange exchange = replay("bedrock-converse-stream.http");
  ASSERT_FALSE(exchange.response.has_value()) << exchange.response->body;
  auto messages = http::decode_event_messages(exchange.streamed);
  ASSERT_TRUE(messages.has_value());
  ASSERT_EQ(messages->size(), 6u);
  EXPECT_EQ(*messages->front().header(":event-type"), "messageStart");
  EXPECT_EQ(*messages->back().header(":event-type"), "metadata");
}

TEST_F(SdkCaptureTest, InvokeAnthropicAndStream) {
  FakeExchange plain = replay("bedrock-invoke-anthropic.http");
  ASSERT_TRUE(plain.response.has_value());
  EXPECT_EQ(plain.response->status, 200) << plain.response->body;
  EXPECT_EQ(json::parse(plain.response->body).at("usage").at("output_tokens"), 2);
  FakeExchange streamed = replay("bedrock-invoke-stream.http");
  auto messages = http::decode_event_messages(streamed.streamed);
  ASSERT_TRUE(messages.has_value());
  ASSERT_FALSE(messages->empty());
  auto last = decode_chunk_payload(messages->back().payload);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(json::parse(*last).at("type"), "message_stop");
}

TEST_F(SdkCaptureTest, TitanEmbedding) {
  FakeExchange exchange = replay("bedrock-invoke-titan-embed.http");
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
  EXPECT_EQ(json::parse(exchange.response->body).at("embedding").as_array().size(), 256u);
}

TEST_F(SdkCaptureTest, ReplayAfterSkewWindowIsRejected) {
  clock_->advance(std::chrono::minutes(16));
  FakeExchange exchange = replay("bedrock-converse.http");
  ASSERT_TRUE(exchange.response.has_value());
  EXPECT_EQ(exchange.response->status, 403);
  EXPECT_TRUE(provider_.requests.empty());
}

}  // namespace
}  // namespace plinth::api
