// Titan Text Embeddings V2 and Cohere Embed v3 bodies through the Gateway's InvokeModel: what
// reaches the provider and the response shapes (fake provider).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kTitan = "amazon.titan-embed-text-v2:0";
constexpr std::string_view kCohere = "cohere.embed-english-v3";

class GatewayEmbeddingsTest : public ::testing::Test {
 protected:
  GatewayEmbeddingsTest() {
    sign_in_as_alice(*credentials_);
    Config config;
    ModelConfig embed;
    embed.id = "bge-embed";
    embed.kind = "embedding";
    embed.aliases = {std::string(kTitan), std::string(kCohere), "cohere.embed-multilingual-v3"};
    config.models = {embed};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
  }

  FakeExchange invoke(std::string_view model, std::string body,
                      std::string_view operation = "invoke") {
    FakeExchange exchange;
    gateway_->handle(signed_request("/model/" + uri_encode(model) + "/" + std::string(operation),
                                    std::move(body)),
                     exchange);
    EXPECT_TRUE(exchange.response.has_value());
    return exchange;
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(3);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayEmbeddingsTest, TitanDefaultsTo1024AndAnswersBothTypes) {
  FakeExchange exchange =
      invoke(kTitan, R"({"inputText":"invoice","embeddingTypes":["float","binary"]})");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  ASSERT_EQ(provider_.embedding_requests.size(), 1u);
  const providers::EmbeddingRequest& sent = provider_.embedding_requests[0];
  EXPECT_EQ(sent.model_id, "bge-embed");
  EXPECT_EQ(sent.text, "invoice");
  EXPECT_EQ(sent.dimensions, 1024);
  EXPECT_EQ(sent.sizes_offered, (std::vector<int32_t>{256, 512, 1024}));
  json::value body = json::parse(exchange.response->body);
  const json::array& floats = body.at("embeddingsByType").at("float").as_array();
  const json::array& bits = body.at("embeddingsByType").at("binary").as_array();
  ASSERT_EQ(floats.size(), 1024u);
  ASSERT_EQ(bits.size(), 1024u);
  EXPECT_EQ(body.at("embedding"), body.at("embeddingsByType").at("float"));
  for (size_t i = 0; i < floats.size(); ++i) {
    EXPECT_EQ(bits[i].as_int64(), floats[i].to_number<double>() > 0 ? 1 : 0) << i;
  }
  EXPECT_EQ(body.at("inputTextTokenCount"), 3);
}

TEST_F(GatewayEmbeddingsTest, TitanSizesAndStreamsAreChecked) {
  FakeExchange small = invoke(kTitan, R"({"inputText":"x","dimensions":256})");
  ASSERT_EQ(small.response->status, 200);
  EXPECT_EQ(json::parse(small.response->body).at("embedding").as_array().size(), 256u);
  FakeExchange odd = invoke(kTitan, R"({"inputText":"x","dimensions":300})");
  EXPECT_EQ(odd.response->status, 400);
  EXPECT_TRUE(odd.header("x-amzn-ErrorType").starts_with("ValidationException"));
  FakeExchange stream = invoke(kTitan, R"({"inputText":"x"})", "invoke-with-response-stream");
  EXPECT_EQ(stream.response->status, 400);
  EXPECT_EQ(provider_.embedding_requests.size(), 1u);
}

TEST_F(GatewayEmbeddingsTest, CohereEmbedsEveryTextAndAnswersInCoheresShape) {
  FakeExchange exchange =
      invoke(kCohere, R"({"texts":["one","two"],"input_type":"search_query","truncate":"START"})");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  ASSERT_EQ(provider_.embedding_requests.size(), 2u);
  EXPECT_EQ(provider_.embedding_requests[1].text, "two");
  EXPECT_EQ(provider_.embedding_requests[1].dimensions, 1024);
  EXPECT_EQ(provider_.embedding_requests[1].truncation, providers::EmbeddingTruncation::kStart);
  json::value body = json::parse(exchange.response->body);
  EXPECT_EQ(body.at("response_type"), "embeddings_floats");
  EXPECT_EQ(body.at("texts"), json::parse(R"(["one","two"])"));
  EXPECT_EQ(body.at("embeddings").as_array().size(), 2u);
  EXPECT_EQ(body.at("embeddings").at(0).as_array().size(), 1024u);
  EXPECT_EQ(body.at("id").as_string().size(), 36u);
}

TEST_F(GatewayEmbeddingsTest, CohereEmbeddingTypesAnswerByType) {
  FakeExchange exchange = invoke(
      "cohere.embed-multilingual-v3",
      R"({"texts":["a"],"input_type":"clustering","embedding_types":["float","int8","ubinary"]})");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::value body = json::parse(exchange.response->body);
  EXPECT_EQ(body.at("response_type"), "embeddings_by_type");
  const json::object& by_type = body.at("embeddings").as_object();
  EXPECT_EQ(by_type.size(), 3u);
  EXPECT_EQ(by_type.at("float").at(0).as_array().size(), 1024u);
  // The fake answers 0.5, -0.25, 0.5, ...: int8 127, -64; sign bits 1010 1010 = 170.
  EXPECT_EQ(by_type.at("int8").at(0).at(0), 127);
  EXPECT_EQ(by_type.at("int8").at(0).at(1), -64);
  EXPECT_EQ(by_type.at("ubinary").at(0).as_array().size(), 128u);
  EXPECT_EQ(by_type.at("ubinary").at(0).at(0), 170);
  FakeExchange missing = invoke(kCohere, R"({"texts":["a"]})");
  EXPECT_EQ(missing.response->status, 400);
  EXPECT_NE(missing.response->body.find("input_type"), std::string::npos);
}

}  // namespace
}  // namespace plinth::api
