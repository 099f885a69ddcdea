// The Gateway behind a real http::Server on an ephemeral port, driven over HTTP/1.1 and h2c.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/http/client.h"
#include "plinth/http/event_stream.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

class GatewayServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/net";
    credentials_->principal.identity_policies = {
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}]})"};
    Config config;
    ModelConfig haiku;
    haiku.id = "anthropic.claude-3-haiku-20240307-v1:0";
    config.models = {haiku};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
    http::ServerOptions options;
    options.worker_threads = 2;
    options.max_body_bytes = 4096;
    options.error_response = [this](int status, std::string_view message) {
      return gateway_->error_response(status, message);
    };
    auto server = http::Server::start(options, gateway_->handler());
    ASSERT_TRUE(server.has_value()) << server.error().message;
    server_ = std::move(*server);
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
  std::unique_ptr<http::Server> server_;
};

std::string converse_path() {
  return "/model/" + uri_encode("anthropic.claude-3-haiku-20240307-v1:0") + "/converse";
}

TEST_F(GatewayServerTest, ConverseOverHttp11) {
  http::Request request = signed_request(
      converse_path(), R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})");
  auto response = http::request("127.0.0.1", server_->port(), request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200) << response->body;
  EXPECT_NE(response->header("x-amzn-RequestId"), nullptr);
  EXPECT_EQ(json::parse(response->body).at("usage").at("outputTokens"), 2);
}

TEST_F(GatewayServerTest, ConverseStreamOverH2c) {
  http::Request request = signed_request(
      "/model/" + uri_encode("anthropic.claude-3-haiku-20240307-v1:0") + "/converse-stream",
      R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})", "bedrock",
      std::string(kSecret), /*http2=*/true);
  auto response = http::request_h2("127.0.0.1", server_->port(), request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  ASSERT_NE(response->header("content-type"), nullptr);
  EXPECT_EQ(*response->header("content-type"), "application/vnd.amazon.eventstream");
  auto messages = http::decode_event_messages(response->body);
  ASSERT_TRUE(messages.has_value()) << messages.error().message;
  EXPECT_EQ(messages->size(), 6u);
}

TEST_F(GatewayServerTest, OversizedBodyGetsBedrockShapedError) {
  http::Request request;
  request.method = "POST";
  request.target = converse_path();
  request.body = std::string(8192, 'x');
  auto response = http::request("127.0.0.1", server_->port(), request);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 413);
  EXPECT_NE(response->header("x-amzn-ErrorType"), nullptr);
  EXPECT_TRUE(json::parse(response->body).as_object().contains("message"));
}

}  // namespace
}  // namespace plinth::api
