// Model-call authorization through the Gateway: an explicit Deny on any name of a model (its id,
// an alias, an ARN, an inference profile) or of a model a router can reach denies every way of
// calling it, on Converse, InvokeModel, their streams and the OpenAI routes (fake provider).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kSonnet = "anthropic.claude-3-5-sonnet-20240620-v1:0";
constexpr std::string_view kLlama = "meta.llama3-8b-instruct-v1:0";
constexpr std::string_view kTitan = "amazon.titan-embed-text-v2:0";
constexpr std::string_view kConverseBody =
    R"({"messages":[{"role":"user","content":[{"text":"Extract the invoice total"}]}]})";
constexpr std::string_view kInvokeBody =
    R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":64,)"
    R"("messages":[{"role":"user","content":"hi"}]})";

std::string fm_arn(std::string_view id) {
  return "arn:aws:bedrock:us-east-1::foundation-model/" + std::string(id);
}
std::string router_arn(std::string_view id) {
  return "arn:aws:bedrock:us-east-1:000000000000:prompt-router/" + std::string(id);
}

// Everything on bedrock allowed, `actions` denied on `resource`.
std::string deny_policy(std::string_view resource,
                        std::string_view actions = R"(["bedrock:InvokeModel",)"
                                                   R"("bedrock:InvokeModelWithResponseStream"])") {
  return R"({"Version":"2012-10-17","Statement":[)"
         R"({"Effect":"Allow","Action":"bedrock:*","Resource":"*"},)"
         R"({"Effect":"Deny","Action":)" +
         std::string(actions) + R"(,"Resource":")" + std::string(resource) + R"("}]})";
}

std::string allow_only(std::string_view resource) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)"
         R"(["bedrock:InvokeModel","bedrock:InvokeModelWithResponseStream"],"Resource":")" +
         std::string(resource) + R"("}]})";
}

catalog::ModelEntry text_model(std::string_view id, std::vector<std::string> aliases,
                               catalog::ModelTier tier) {
  return {std::string(id), std::move(aliases), catalog::ModelKind::kText, tier, 1, 2};
}

class GatewayAuthorizationTest : public ::testing::Test {
 protected:
  GatewayAuthorizationTest() {
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.name = "alice";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    catalog_ = *catalog::Catalog::from_entries(
        {text_model(kHaiku, {"small", "haiku"}, catalog::ModelTier::kSmall),
         text_model(kSonnet, {"big"}, catalog::ModelTier::kLarge),
         text_model(kLlama, {}, catalog::ModelTier::kSmall),
         {std::string(kTitan),
          {"titan"},
          catalog::ModelKind::kEmbedding,
          catalog::ModelTier::kSmall,
          0.02,
          0}});
    // router.cheap may fall back to llama (one retry); router.tiny never leaves haiku/sonnet.
    auto routers = router::RouterSet::from_definitions(
        {{"router.cheap", "small", "big", {}, {std::string(kLlama)}, 1},
         {"router.tiny", "haiku", "big", {}, {}, 0}},
        catalog_);
    EXPECT_TRUE(routers) << routers.error().message;
    routers_ = std::move(*routers);
    gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = catalog_,
                                                                    .provider = provider_,
                                                                    .routers = &routers_});
  }

  void set_policy(std::string policy) { credentials_->principal.identity_policies = {policy}; }

  // The HTTP status of calling `model` (any name form) with `operation`.
  int status_of(std::string_view model, std::string_view operation = "converse") {
    bool invoke = operation.starts_with("invoke");
    std::string body(invoke ? kInvokeBody : kConverseBody);
    if (operation == "count-tokens") body = R"({"input":{"converse":)" + body + "}}";
    FakeExchange exchange;
    gateway_->handle(signed_request("/model/" + uri_encode(model) + "/" + std::string(operation),
                                    std::move(body)),
                     exchange);
    if (!exchange.response) return exchange.stream_status;
    if (exchange.response->status == 403) {
      EXPECT_TRUE(exchange.header("x-amzn-ErrorType").starts_with("AccessDeniedException"));
    }
    return exchange.response->status;
  }
  int openai_status(std::string_view path, std::string body) {
    http::Request request;
    request.method = "POST";
    request.target = std::string(path);
    request.headers.push_back({"authorization", "Bearer " + std::string(kBearer)});
    request.body = std::move(body);
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    if (!exchange.response) return exchange.stream_status;
    if (exchange.response->status == 403) {
      EXPECT_EQ(json::parse(exchange.response->body).at("error").at("type"), "permission_error");
    }
    return exchange.response->status;
  }
  std::string chat(std::string_view model, bool stream = false) {
    return R"({"model":")" + std::string(model) + R"(","stream":)" + (stream ? "true" : "false") +
           R"(,"messages":[{"role":"user","content":"hi"}]})";
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(7);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  router::RouterSet routers_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayAuthorizationTest, DenyOnTheModelIdHoldsForEveryNameOfTheModel) {
  set_policy(deny_policy(fm_arn(kHaiku)));
  for (std::string name :
       {std::string(kHaiku), std::string("small"), std::string("haiku"), fm_arn(kHaiku),
        "arn:aws:bedrock:eu-west-1::foundation-model/" + std::string(kHaiku),
        "us." + std::string(kHaiku),
        "arn:aws:bedrock:us-east-1:000000000000:inference-profile/us." + std::string(kHaiku),
        std::string("router.cheap"), router_arn("router.cheap"), std::string("router.tiny")}) {
    EXPECT_EQ(status_of(name), 403) << name;
  }
  EXPECT_TRUE(provider_.requests.empty());
  EXPECT_EQ(status_of("big"), 200);  // the deny names only haiku
}

TEST_F(GatewayAuthorizationTest, DenyOnAnAliasHoldsForTheIdAndTheOtherAliases) {
  set_policy(deny_policy(fm_arn("haiku")));
  for (std::string name :
       {std::string(kHaiku), std::string("small"), fm_arn(kHaiku), std::string("router.cheap")}) {
    EXPECT_EQ(status_of(name), 403) << name;
  }
  EXPECT_TRUE(provider_.requests.empty());
}

TEST_F(GatewayAuthorizationTest, DenyWithAWildcardOnTheIdCoversArnsOfOtherRegions) {
  set_policy(deny_policy("arn:aws:bedrock:*::foundation-model/anthropic.claude-3-haiku*"));
  EXPECT_EQ(status_of("small"), 403);
  EXPECT_EQ(status_of("arn:aws:bedrock:eu-west-1::foundation-model/haiku"), 403);
}

TEST_F(GatewayAuthorizationTest, DenyOnAModelARouterCanReachDeniesTheRouter) {
  set_policy(deny_policy(fm_arn(kSonnet)));  // the large tier
  EXPECT_EQ(status_of("router.cheap"), 403);
  EXPECT_EQ(status_of(router_arn("router.tiny")), 403);
  EXPECT_EQ(status_of("small"), 200);

  set_policy(deny_policy(fm_arn(kLlama)));  // only router.cheap falls back to it
  EXPECT_EQ(status_of("router.cheap"), 403);
  EXPECT_EQ(status_of("router.tiny"), 200);

  set_policy(deny_policy(router_arn("router.tiny")));
  EXPECT_EQ(status_of("router.tiny"), 403);
  EXPECT_EQ(status_of("router.cheap"), 200);
}

TEST_F(GatewayAuthorizationTest, InvokeAndStreamsCheckEveryNameToo) {
  set_policy(deny_policy(fm_arn(kHaiku), R"("bedrock:InvokeModelWithResponseStream")"));
  EXPECT_EQ(status_of("small", "converse-stream"), 403);
  EXPECT_EQ(status_of(fm_arn("haiku"), "invoke-with-response-stream"), 403);
  EXPECT_EQ(status_of("router.cheap", "converse-stream"), 403);
  EXPECT_TRUE(provider_.requests.empty());
  EXPECT_EQ(status_of("small", "converse"), 200);  // only the stream action is denied
  EXPECT_EQ(status_of("small", "invoke"), 200);

  set_policy(deny_policy(fm_arn(kHaiku), R"("bedrock:InvokeModel")"));
  EXPECT_EQ(status_of("haiku", "invoke"), 403);
  EXPECT_EQ(status_of(router_arn("router.cheap"), "invoke"), 403);
}

TEST_F(GatewayAuthorizationTest, CountTokensIsItsOwnActionCheckedOnEveryName) {
  set_policy(deny_policy(fm_arn(kHaiku), R"("bedrock:CountTokens")"));
  for (std::string name : {std::string("small"), std::string("haiku"), fm_arn(kHaiku),
                           std::string("router.cheap"), router_arn("router.tiny")}) {
    EXPECT_EQ(status_of(name, "count-tokens"), 403) << name;
  }
  EXPECT_TRUE(provider_.count_requests.empty());
  EXPECT_EQ(status_of("small", "converse"), 200);  // only CountTokens is denied
  EXPECT_EQ(status_of("big", "count-tokens"), 200);
  EXPECT_EQ(provider_.count_requests.size(), 1u);

  set_policy(deny_policy(fm_arn(kSonnet), R"("bedrock:CountTokens")"));  // reachable by routers
  EXPECT_EQ(status_of("router.cheap", "count-tokens"), 403);
  EXPECT_EQ(status_of("small", "count-tokens"), 200);

  set_policy(allow_only("*"));  // InvokeModel alone does not grant CountTokens
  EXPECT_EQ(status_of("small", "count-tokens"), 403);
  EXPECT_EQ(status_of("small", "converse"), 200);
}

TEST_F(GatewayAuthorizationTest, OpenAiRoutesCheckEveryName) {
  set_policy(deny_policy(fm_arn(kHaiku)));
  EXPECT_EQ(openai_status("/v1/chat/completions", chat("small")), 403);
  EXPECT_EQ(openai_status("/v1/chat/completions", chat("haiku", true)), 403);
  EXPECT_EQ(openai_status("/v1/chat/completions", chat(fm_arn(kHaiku))), 403);
  EXPECT_EQ(openai_status("/v1/chat/completions", chat("router.cheap")), 403);
  EXPECT_EQ(openai_status("/v1/chat/completions", chat("big")), 200);
  EXPECT_TRUE(provider_.requests.size() == 1u);

  set_policy(deny_policy(fm_arn(kTitan), R"("bedrock:InvokeModel")"));
  EXPECT_EQ(openai_status("/v1/embeddings", R"({"model":"titan","input":["a"]})"), 403);
  EXPECT_TRUE(provider_.embedding_requests.empty());
}

TEST_F(GatewayAuthorizationTest, AllowOnTheRouterArnAloneStillGrantsItsModelsThroughIt) {
  set_policy(allow_only(router_arn("router.cheap")));
  EXPECT_EQ(status_of("router.cheap"), 200);
  EXPECT_EQ(status_of("router.tiny"), 403);
  EXPECT_EQ(status_of("small"), 403);
  EXPECT_EQ(status_of("big"), 403);

  // ... unless a Deny names one of them.
  set_policy(R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":")" +
             router_arn("router.cheap") + R"("},
      {"Effect":"Deny","Action":"bedrock:InvokeModel","Resource":")" +
             fm_arn("big") + R"("}]})");
  EXPECT_EQ(status_of("router.cheap"), 403);
}

TEST_F(GatewayAuthorizationTest, AllowOnOneNameGrantsThatNameOnly) {
  set_policy(allow_only(fm_arn("small")));
  EXPECT_EQ(status_of("small"), 200);
  EXPECT_EQ(status_of(kHaiku), 403);
  EXPECT_EQ(status_of("haiku"), 403);
}

}  // namespace
}  // namespace plinth::api
