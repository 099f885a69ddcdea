// The Gateway's catalog APIs: GET /v1/models (plinth:ListModels, routers listed as kind "router")
// and Bedrock's ListFoundationModels / GetFoundationModel with their filters and errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

std::string allow_policy(std::string_view actions, std::string_view resource = "*") {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
         std::string(actions) + R"(,"Resource":")" + std::string(resource) + R"("}]})";
}

class GatewayCatalogTest : public ::testing::Test {
 protected:
  GatewayCatalogTest() {
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    set_policy(allow_policy(
        R"(["plinth:ListModels","bedrock:ListFoundationModels","bedrock:GetFoundationModel"])"));
    Config config;
    ModelConfig small;
    small.id = "small-model";
    small.aliases = {"anthropic.claude-3-haiku-20240307-v1:0"};
    small.price_input_per_mtok = 0.25;
    small.price_output_per_mtok = 1.25;
    ModelConfig large = small;
    large.id = "large-model";
    large.tier = "large";
    large.aliases = {};
    ModelConfig embed;
    embed.id = "embed-model";
    embed.kind = "embedding";
    config.models = {small, large, embed};
    RouterConfig router;
    router.id = "router.x";
    router.small = "small-model";
    router.large = "large-model";
    config.routers = {router};
    catalog_ = *catalog::Catalog::from_config(config);
    routers_ = *router::RouterSet::from_config(config, catalog_);
    gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = catalog_,
                                                                    .provider = provider_,
                                                                    .routers = &routers_});
  }

  void set_policy(std::string policy) { credentials_->principal.identity_policies = {policy}; }
  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  json::value get_json(std::string path, std::string query = "", std::string service = "bedrock") {
    FakeExchange exchange = call(signed_get(std::move(path), std::move(query), std::move(service)));
    EXPECT_EQ(exchange.response->status, 200) << exchange.response->body;
    return json::parse(exchange.response->body);
  }
  std::vector<std::string> listed(std::string query) {
    json::value body = get_json("/foundation-models", std::move(query));
    std::vector<std::string> ids;
    for (const json::value& m : body.at("modelSummaries").as_array()) {
      ids.emplace_back(m.at("modelId").as_string());
    }
    return ids;
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(3);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  router::RouterSet routers_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayCatalogTest, ListModelsIncludesRoutersWithTheirModels) {
  json::value body = get_json("/v1/models", "", "plinth");
  EXPECT_EQ(body.at("object"), "list");
  const json::array& data = body.at("data").as_array();
  ASSERT_EQ(data.size(), 4u);
  EXPECT_EQ(data[0].at("id"), "small-model");
  EXPECT_EQ(data[0].at("tier"), "small");
  EXPECT_EQ(data[0].at("price_output_per_mtok").as_double(), 1.25);
  EXPECT_EQ(data[2].at("kind"), "embedding");
  EXPECT_EQ(data[3].at("id"), "router.x");
  EXPECT_EQ(data[3].at("kind"), "router");
  EXPECT_EQ(data[3].at("large_model"), "large-model");
  EXPECT_EQ(data[3].at("escalate_on").as_array().size(), 3u);
}

TEST_F(GatewayCatalogTest, ListFoundationModelsFilters) {
  EXPECT_EQ(listed(""), (std::vector<std::string>{"small-model", "large-model", "embed-model"}));
  EXPECT_EQ(listed("byOutputModality=EMBEDDING"), std::vector<std::string>{"embed-model"});
  EXPECT_EQ(listed("byOutputModality=TEXT&byProvider=PLINTH"),
            (std::vector<std::string>{"small-model", "large-model"}));
  EXPECT_TRUE(listed("byProvider=Meta").empty());
  EXPECT_TRUE(listed("byInferenceType=PROVISIONED").empty());
  EXPECT_TRUE(listed("byCustomizationType=FINE_TUNING").empty());
  FakeExchange bad = call(signed_get("/foundation-models", "byOutputModality=VIDEO", "bedrock"));
  EXPECT_EQ(bad.response->status, 400);
  EXPECT_TRUE(bad.header("x-amzn-ErrorType").starts_with("ValidationException"));
}

TEST_F(GatewayCatalogTest, GetFoundationModelResolvesAliasesAndReportsUnknownModels) {
  json::value details =
      get_json("/foundation-models/" + uri_encode("anthropic.claude-3-haiku-20240307-v1:0"))
          .at("modelDetails");
  EXPECT_EQ(details.at("modelId"), "small-model");
  EXPECT_EQ(details.at("modelArn"), "arn:aws:bedrock:us-east-1::foundation-model/small-model");
  EXPECT_EQ(details.at("responseStreamingSupported"), true);
  FakeExchange missing = call(signed_get("/foundation-models/nothing", "", "bedrock"));
  EXPECT_EQ(missing.response->status, 404);
  EXPECT_TRUE(missing.header("x-amzn-ErrorType").starts_with("ResourceNotFoundException"));
}

TEST_F(GatewayCatalogTest, EachCatalogApiNeedsItsPermissionAndService) {
  set_policy(allow_policy(R"(["bedrock:GetFoundationModel"])",
                          "arn:aws:bedrock:us-east-1::foundation-model/small-model"));
  EXPECT_EQ(call(signed_get("/foundation-models/small-model", "", "bedrock")).response->status,
            200);
  EXPECT_EQ(call(signed_get("/foundation-models/large-model", "", "bedrock")).response->status,
            403);
  EXPECT_EQ(call(signed_get("/foundation-models", "", "bedrock")).response->status, 403);
  FakeExchange models = call(signed_get("/v1/models", "", "plinth"));
  EXPECT_EQ(models.response->status, 403);
  EXPECT_NE(models.response->body.find("plinth:ListModels"), std::string::npos);
  // /v1/models is signed for "plinth" (or a bearer token), not "bedrock".
  set_policy(allow_policy(R"("*")"));
  EXPECT_GE(call(signed_get("/v1/models", "", "bedrock")).response->status, 400);
  http::Request bearer;
  bearer.method = "GET";
  bearer.target = "/v1/models";
  bearer.headers = {{"authorization", "Bearer " + std::string(kBearer)}};
  EXPECT_EQ(call(bearer).response->status, 200);
}

}  // namespace
}  // namespace plinth::api
