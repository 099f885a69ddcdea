// Application inference profiles through the Gateway on a real SQLite file: the control-plane
// calls as @aws-sdk/client-bedrock sends them, profile ARNs as modelId (authorized on the profile
// and on the model), the ledger's profile, tags and requestMetadata, and tag budgets.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "gateway_test_support.h"
#include "inference_profile_request.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/database.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kHaiku = "anthropic.claude-3-haiku-20240307-v1:0";
constexpr std::string_view kConverseBody =
    R"({"messages":[{"role":"user","content":[{"text":"hello"}]}]})";
const std::string kHaikuArn = "arn:aws:bedrock:us-east-1::foundation-model/" + std::string(kHaiku);

std::string policy(std::string statements) {
  return R"({"Version":"2012-10-17","Statement":[)" + statements + "]}";
}
std::string statement(std::string effect, std::string action, std::string resource) {
  return R"({"Effect":")" + effect + R"(","Action":")" + action + R"(","Resource":")" + resource +
         R"("})";
}
const std::string kAllowAll = statement("Allow", "*", "*");

class GatewayProfilesTest : public ::testing::Test {
 protected:
  GatewayProfilesTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-gateway-profiles-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    ledger_ = std::move(*ledger::open_sqlite_ledger(*database_));
    profiles_ = std::move(*store::open_sqlite_inference_profiles(*database_));
    sign_in_as_alice(*credentials_, policy(kAllowAll));
    Config config;
    ModelConfig haiku;
    haiku.id = std::string(kHaiku);
    haiku.aliases = {"small"};
    haiku.price_input_per_mtok = 1000;  // 10 tokens in, 2 out: 10000 + 2000 µ$... per call
    haiku.price_output_per_mtok = 1000;
    config.models = {haiku};
    catalog_ = *catalog::Catalog::from_config(config);
    rebuild({});
  }
  ~GatewayProfilesTest() override {
    gateway_.reset();
    budgets_.reset();
    profiles_.reset();
    ledger_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  void rebuild(std::vector<ledger::BudgetSpec> budgets, int64_t max_profiles = 1000) {
    gateway_.reset();
    budgets_ = std::make_unique<ledger::Budgets>(std::move(budgets), *clock_);
    GatewayOptions options;
    options.max_inference_profiles = max_profiles;
    gateway_ = std::make_unique<Gateway>(options, GatewayServices{.authenticator = authenticator_,
                                                                  .clock = *clock_,
                                                                  .random = *random_,
                                                                  .catalog = catalog_,
                                                                  .provider = provider_,
                                                                  .ledger = ledger_.get(),
                                                                  .budgets = budgets_.get(),
                                                                  .profiles = profiles_.get()});
  }

  void set_policy(std::string p) { credentials_->principal.identity_policies = {std::move(p)}; }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  FakeExchange post(std::string path, std::string body) {
    return call(signed_request(std::move(path), std::move(body)));
  }
  FakeExchange get(std::string target) {
    return call(signed_call("GET", std::move(target), "", {}, "bedrock"));
  }
  FakeExchange converse(const std::string& model_id,
                        std::string body = std::string(kConverseBody)) {
    return post("/model/" + uri_encode(model_id) + "/converse", std::move(body));
  }

  // Creates a profile copying haiku; returns its ARN.
  std::string create(std::string name, std::string tags = R"([{"key":"team","value":"alpha"}])") {
    FakeExchange created =
        post("/inference-profiles",
             R"({"inferenceProfileName":")" + name + R"(","description":"for tests",)" +
                 R"("modelSource":{"copyFrom":")" + kHaikuArn + R"("},"tags":)" + tags + "}");
    EXPECT_TRUE(created.response);
    EXPECT_EQ(created.response->status, 201) << created.response->body;
    return std::string(json::parse(created.response->body).at("inferenceProfileArn").as_string());
  }

  static std::string error_type(const FakeExchange& exchange) {
    return exchange.header("x-amzn-ErrorType")
        .substr(0, exchange.header("x-amzn-ErrorType").find(':'));
  }

  std::vector<ledger::UsageRecord> recorded() {
    auto records = ledger_->recent(100);
    return records ? std::vector(records->rbegin(), records->rend())
                   : std::vector<ledger::UsageRecord>{};
  }

  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<store::InferenceProfileStore> profiles_;
  std::unique_ptr<ledger::Budgets> budgets_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(7);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayProfilesTest, CreateGetListAndDeleteAsTheSdkCallsThem) {
  std::string arn = create("billing-app");
  EXPECT_TRUE(
      arn.starts_with("arn:aws:bedrock:us-east-1:000000000000:application-inference-profile/"));
  std::string id = arn.substr(arn.rfind('/') + 1);
  EXPECT_EQ(id.size(), 12u);

  for (const std::string& identifier : {arn, id, std::string("billing-app")}) {
    FakeExchange got = get("/inference-profiles/" + uri_encode(identifier));
    ASSERT_EQ(got.response->status, 200) << got.response->body;
    json::object body = json::parse(got.response->body).as_object();
    EXPECT_EQ(body.at("inferenceProfileArn").as_string(), arn);
    EXPECT_EQ(body.at("inferenceProfileName").as_string(), "billing-app");
    EXPECT_EQ(body.at("type").as_string(), "APPLICATION");
    EXPECT_EQ(body.at("status").as_string(), "ACTIVE");
    EXPECT_EQ(body.at("models").as_array()[0].at("modelArn").as_string(), kHaikuArn);
    EXPECT_EQ(body.at("createdAt").as_string(), "2025-11-25T10:11:43Z");
  }

  create("second-app");
  FakeExchange page = get("/inference-profiles?maxResults=1&type=APPLICATION");
  ASSERT_EQ(page.response->status, 200) << page.response->body;
  json::object first = json::parse(page.response->body).as_object();
  ASSERT_EQ(first.at("inferenceProfileSummaries").as_array().size(), 1u);
  std::string token(first.at("nextToken").as_string());
  FakeExchange rest =
      get("/inference-profiles?maxResults=1&type=APPLICATION&nextToken=" + uri_encode(token));
  json::object second = json::parse(rest.response->body).as_object();
  ASSERT_EQ(second.at("inferenceProfileSummaries").as_array().size(), 1u);
  EXPECT_FALSE(second.contains("nextToken"));
  EXPECT_NE(first.at("inferenceProfileSummaries").as_array()[0].at("inferenceProfileId"),
            second.at("inferenceProfileSummaries").as_array()[0].at("inferenceProfileId"));

  // The default type is SYSTEM_DEFINED: one "us." profile per text model.
  FakeExchange system = get("/inference-profiles");
  json::array summaries =
      json::parse(system.response->body).at("inferenceProfileSummaries").as_array();
  ASSERT_EQ(summaries.size(), 1u);
  EXPECT_EQ(summaries[0].at("inferenceProfileId").as_string(), "us." + std::string(kHaiku));
  FakeExchange one_system = get("/inference-profiles/" + uri_encode("us." + std::string(kHaiku)));
  ASSERT_EQ(one_system.response->status, 200) << one_system.response->body;
  EXPECT_EQ(json::parse(one_system.response->body).at("type").as_string(), "SYSTEM_DEFINED");
  EXPECT_EQ(error_type(call(signed_call(
                "DELETE", "/inference-profiles/" + uri_encode("us." + std::string(kHaiku)), "", {},
                "bedrock"))),
            "ValidationException");
  EXPECT_EQ(error_type(get("/inference-profiles/us.no-such-model")), "ResourceNotFoundException");
  EXPECT_EQ(get("/inference-profiles?type=OTHER").response->status, 400);
  EXPECT_EQ(get("/inference-profiles?maxResults=1001").response->status, 400);

  ASSERT_EQ(converse(arn).response->status, 200);
  FakeExchange deleted =
      call(signed_call("DELETE", "/inference-profiles/" + uri_encode(arn), "", {}, "bedrock"));
  ASSERT_EQ(deleted.response->status, 200) << deleted.response->body;
  FakeExchange after = converse(arn);
  EXPECT_EQ(after.response->status, 404);
  EXPECT_EQ(error_type(after), "ResourceNotFoundException");
  EXPECT_EQ(error_type(get("/inference-profiles/" + uri_encode(arn))), "ResourceNotFoundException");
}

TEST_F(GatewayProfilesTest, ClientRequestTokenMakesCreateIdempotent) {
  std::string body = R"({"inferenceProfileName":"idem","clientRequestToken":"tok-1",)"
                     R"("modelSource":{"copyFrom":"small"}})";
  FakeExchange one = post("/inference-profiles", body);
  FakeExchange two = post("/inference-profiles", body);
  ASSERT_EQ(one.response->status, 201) << one.response->body;
  ASSERT_EQ(two.response->status, 201) << two.response->body;
  EXPECT_EQ(one.response->body, two.response->body);
  FakeExchange other =
      post("/inference-profiles", R"({"inferenceProfileName":"idem2","clientRequestToken":"tok-1",)"
                                  R"("modelSource":{"copyFrom":"small"}})");
  EXPECT_EQ(error_type(other), "ConflictException");
  FakeExchange same_name =
      post("/inference-profiles",
           R"({"inferenceProfileName":"idem","modelSource":{"copyFrom":"small"}})");
  EXPECT_EQ(error_type(same_name), "ConflictException");
}

TEST_F(GatewayProfilesTest, BadCreatesAnswerValidationAndTheQuotaIsReached) {
  auto create_body = [](std::string name, std::string copy_from) {
    return R"({"inferenceProfileName":")" + name + R"(","modelSource":{"copyFrom":")" + copy_from +
           R"("}})";
  };
  EXPECT_EQ(error_type(post("/inference-profiles", create_body("bad/name", "small"))),
            "ValidationException");
  EXPECT_EQ(error_type(post("/inference-profiles", create_body(std::string(65, 'n'), "small"))),
            "ValidationException");
  EXPECT_EQ(error_type(post("/inference-profiles", create_body("ok", "no-such-model"))),
            "ResourceNotFoundException");
  EXPECT_EQ(error_type(post("/inference-profiles",
                            create_body("ok",
                                        "arn:aws:bedrock:us-east-1:000000000000:"
                                        "application-inference-profile/abcdefabcdef"))),
            "ValidationException");
  EXPECT_EQ(error_type(post("/inference-profiles", "{not json")), "ValidationException");
  rebuild({}, 2);
  EXPECT_EQ(post("/inference-profiles", create_body("one", "small")).response->status, 201);
  EXPECT_EQ(post("/inference-profiles", create_body("two", "small")).response->status, 201);
  FakeExchange third = post("/inference-profiles", create_body("three", "small"));
  EXPECT_EQ(third.response->status, 400);
  EXPECT_EQ(error_type(third), "ServiceQuotaExceededException");
}

TEST_F(GatewayProfilesTest, TagUntagListTagsAndTheTwoHundredTagBound) {
  std::string arn = create("tagged");
  std::string arn_json = R"({"resourceARN":")" + arn + R"(")";
  ASSERT_EQ(post("/tagResource", arn_json + R"(,"tags":[{"key":"env","value":"prod"}]})")
                .response->status,
            200);
  FakeExchange listed = post("/listTagsForResource", arn_json + "}");
  ASSERT_EQ(listed.response->status, 200) << listed.response->body;
  EXPECT_EQ(
      json::parse(listed.response->body),
      json::parse(R"({"tags":[{"key":"env","value":"prod"},{"key":"team","value":"alpha"}]})"));
  ASSERT_EQ(post("/untagResource", arn_json + R"(,"tagKeys":["env"]})").response->status, 200);
  EXPECT_EQ(json::parse(post("/listTagsForResource", arn_json + "}").response->body)
                .at("tags")
                .as_array()
                .size(),
            1u);
  // 199 more keys fill the profile to 200; one more is TooManyTagsException.
  std::string tags;
  for (int i = 0; i < 199; ++i) {
    tags += std::string(i ? "," : "") + R"({"key":"k)" + std::to_string(i) + R"(","value":"v"})";
  }
  ASSERT_EQ(post("/tagResource", arn_json + R"(,"tags":[)" + tags + "]}").response->status, 200);
  FakeExchange over = post("/tagResource", arn_json + R"(,"tags":[{"key":"last","value":"v"}]})");
  EXPECT_EQ(error_type(over), "TooManyTagsException");
  // A request with more than 200 tags is refused before any lookup.
  EXPECT_EQ(error_type(post("/tagResource", arn_json + R"(,"tags":[)" + tags + "," + tags + "]}")),
            "ValidationException");
  EXPECT_EQ(
      error_type(post("/tagResource", R"({"resourceARN":"arn:aws:bedrock:us-east-1:000000000000:)"
                                      R"(application-inference-profile/zzzzzzzzzzzz","tags":[]})")),
      "ResourceNotFoundException");
}

TEST_F(GatewayProfilesTest, ProfileCallsAreRecordedWithProfileTagsAndRequestMetadata) {
  std::string arn =
      create("ledgered", R"([{"key":"team","value":"alpha"},{"key":"env","value":"prod"}])");
  FakeExchange answered =
      converse(arn, R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],)"
                    R"("requestMetadata":{"user":"u-1","session":"s 1"}})");
  ASSERT_EQ(answered.response->status, 200) << answered.response->body;
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].inference_profile, arn);
  EXPECT_EQ(records[0].model_used, kHaiku);
  EXPECT_EQ(records[0].profile_tags, (ledger::Labels{{"env", "prod"}, {"team", "alpha"}}));
  EXPECT_EQ(records[0].request_metadata, (ledger::Labels{{"user", "u-1"}, {"session", "s 1"}}));
  EXPECT_EQ(records[0].application_tag, arn.substr(arn.rfind('/') + 1));

  FakeExchange usage = call(signed_get("/v1/usage", "group_by=metadata%3Auser"));
  ASSERT_EQ(usage.response->status, 200) << usage.response->body;
  EXPECT_EQ(json::parse(usage.response->body).at("groups").as_array()[0].at("key").as_string(),
            "u-1");
  FakeExchange by_profile = call(signed_get("/v1/usage", "group_by=profile"));
  EXPECT_EQ(json::parse(by_profile.response->body).at("groups").as_array()[0].at("key").as_string(),
            arn);
}

TEST_F(GatewayProfilesTest, EveryRuntimeApiAcceptsTheProfileArnAsModelId) {
  std::string arn = create("everywhere");
  std::string anthropic = R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,)"
                          R"("messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(post("/model/" + uri_encode(arn) + "/invoke", anthropic).response->status, 200);
  FakeExchange streamed =
      post("/model/" + uri_encode(arn) + "/invoke-with-response-stream", anthropic);
  EXPECT_EQ(streamed.stream_status, 200);
  FakeExchange converse_stream =
      post("/model/" + uri_encode(arn) + "/converse-stream", std::string(kConverseBody));
  EXPECT_EQ(converse_stream.stream_status, 200);
  FakeExchange chat =
      post("/v1/chat/completions",
           R"({"model":")" + arn + R"(","messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(chat.response);
  EXPECT_EQ(chat.response->status, 200) << chat.response->body;
  std::vector<ledger::UsageRecord> records = recorded();
  ASSERT_EQ(records.size(), 4u);
  for (const ledger::UsageRecord& r : records) {
    EXPECT_EQ(r.inference_profile, arn) << r.operation;
    EXPECT_EQ(r.model_used, kHaiku) << r.operation;
    EXPECT_EQ(r.profile_tags, (ledger::Labels{{"team", "alpha"}})) << r.operation;
  }
  // A well-formed ARN of another account or region names no profile of the caller's.
  std::string id = arn.substr(arn.rfind('/') + 1);
  EXPECT_EQ(error_type(converse("arn:aws:bedrock:eu-west-1:000000000000:application-inference-"
                                "profile/" +
                                id)),
            "ResourceNotFoundException");
  EXPECT_EQ(error_type(converse("arn:aws:bedrock:us-east-1:999999999999:application-inference-"
                                "profile/" +
                                id)),
            "ResourceNotFoundException");
}

TEST_F(GatewayProfilesTest, RequestMetadataOutsideBedrocksLimitsIsAValidationError) {
  auto with_metadata = [](std::string metadata) {
    return R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"requestMetadata":)" +
           metadata + "}";
  };
  std::string sixteen;
  for (int i = 0; i < 16; ++i)
    sixteen += std::string(i ? "," : "") + "\"k" + std::to_string(i) + "\":\"v\"";
  EXPECT_EQ(converse("small", with_metadata("{" + sixteen + "}")).response->status, 200);
  EXPECT_EQ(error_type(converse("small", with_metadata("{" + sixteen + R"(,"k16":"v"})"))),
            "ValidationException");
  EXPECT_EQ(error_type(converse("small", with_metadata(R"({"bad<key":"v"})"))),
            "ValidationException");
  EXPECT_EQ(error_type(converse("small", with_metadata(R"({"":"v"})"))), "ValidationException");
  EXPECT_EQ(converse("small", with_metadata(R"({"k":")" + std::string(256, 'v') + "\"}"))
                .response->status,
            200);
  EXPECT_EQ(
      error_type(converse("small", with_metadata(R"({"k":")" + std::string(257, 'v') + "\"}"))),
      "ValidationException");
  EXPECT_EQ(error_type(converse("small", with_metadata(R"({"k":1})"))), "ValidationException");
  EXPECT_EQ(error_type(converse("small", with_metadata(R"(["k"])"))), "ValidationException");
}

TEST_F(GatewayProfilesTest, AuthorizationNeedsTheProfileAndTheModelAndAnyDenyWins) {
  std::string arn = create("guarded");
  // Allowed on the profile only: the model it copies is not granted.
  set_policy(policy(statement("Allow", "bedrock:InvokeModel", arn)));
  FakeExchange profile_only = converse(arn);
  EXPECT_EQ(error_type(profile_only), "AccessDeniedException");
  EXPECT_NE(profile_only.response->body.find(kHaikuArn), std::string::npos);
  // Allowed on the model only: the profile is not granted.
  set_policy(policy(statement("Allow", "bedrock:InvokeModel", kHaikuArn)));
  EXPECT_EQ(error_type(converse(arn)), "AccessDeniedException");
  // Both: allowed.
  set_policy(policy(statement("Allow", "bedrock:InvokeModel", arn) + "," +
                    statement("Allow", "bedrock:InvokeModel", kHaikuArn)));
  EXPECT_EQ(converse(arn).response->status, 200);
  // A Deny on the profile ARN denies, as does one on any name of the model.
  set_policy(policy(kAllowAll + "," + statement("Deny", "bedrock:InvokeModel", arn)));
  EXPECT_EQ(error_type(converse(arn)), "AccessDeniedException");
  EXPECT_EQ(converse("small").response->status, 200);
  set_policy(policy(
      kAllowAll + "," +
      statement("Deny", "bedrock:InvokeModel", "arn:aws:bedrock:*::foundation-model/small")));
  EXPECT_EQ(error_type(converse(arn)), "AccessDeniedException");
  // Control-plane calls are authorized on the profile ARN.
  set_policy(policy(kAllowAll + "," + statement("Deny", "bedrock:GetInferenceProfile", arn)));
  EXPECT_EQ(error_type(get("/inference-profiles/guarded")), "AccessDeniedException");
  set_policy(policy(kAllowAll + "," + statement("Deny", "bedrock:TagResource", arn)));
  EXPECT_EQ(error_type(post("/tagResource", R"({"resourceARN":")" + arn +
                                                R"(","tags":[{"key":"a","value":"b"}]})")),
            "AccessDeniedException");
}

TEST_F(GatewayProfilesTest, TagBudgetCapsCallsThroughAProfile) {
  // 10 input tokens and up to 2 output at 1000 $/Mtok: 12000 µ$ a call at most.
  ledger::BudgetSpec spec{
      "alpha", ledger::BudgetScope::kTag, "team=alpha", ledger::BudgetPeriod::kDay, 40'000, {}};
  rebuild({spec});
  std::string arn = create("budgeted");
  std::string body = R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],)"
                     R"("inferenceConfig":{"maxTokens":2}})";
  int answered = 0;
  std::string refusal;
  for (int i = 0; i < 10; ++i) {
    FakeExchange exchange = converse(arn, body);
    if (exchange.response->status == 200) {
      ++answered;
    } else {
      refusal = error_type(exchange);
      break;
    }
  }
  EXPECT_GE(answered, 1);
  EXPECT_LT(answered, 10);
  EXPECT_EQ(refusal, "ThrottlingException");
  // The model itself, not through the profile, is not under the tag budget.
  EXPECT_EQ(converse("small", body).response->status, 200);
}

TEST(InferenceProfileRequests, NamesTagsAndTokensFollowBedrocksPatterns) {
  EXPECT_TRUE(is_valid_profile_name("my app:v1.2"));
  EXPECT_TRUE(is_valid_profile_name(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_profile_name(std::string(65, 'a')));
  EXPECT_FALSE(is_valid_profile_name(""));
  EXPECT_FALSE(is_valid_profile_name("-lead"));
  EXPECT_FALSE(is_valid_profile_name("two  spaces"));
  auto parsed = parse_create_profile_request(
      R"({"inferenceProfileName":"a","modelSource":{"copyFrom":"m"},)"
      R"("clientRequestToken":"ab-c","tags":[{"key":"k","value":""}]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->tags.size(), 1u);
  EXPECT_FALSE(parse_create_profile_request(
      R"({"inferenceProfileName":"a","modelSource":{"copyFrom":"m"},"clientRequestToken":"-x"})"));
  EXPECT_FALSE(
      parse_create_profile_request(R"({"inferenceProfileName":"a","modelSource":{"copyFrom":"m"},)"
                                   R"("tags":[{"key":"k","value":"1"},{"key":"k","value":"2"}]})"));
  EXPECT_FALSE(
      parse_create_profile_request(R"({"inferenceProfileName":"a","modelSource":{"copyFrom":"m"},)"
                                   R"("tags":[{"key":"aws:x","value":"1"}]})"));
  EXPECT_FALSE(
      parse_create_profile_request(R"({"inferenceProfileName":"a","modelSource":{"copyFrom":"m"},)"
                                   R"("tags":[{"key":")" +
                                   std::string(129, 'k') + R"(","value":"1"}]})"));
  EXPECT_FALSE(parse_create_profile_request(R"({"inferenceProfileName":"a"})"));
  EXPECT_FALSE(parse_untag_resource_request(R"({"resourceARN":"short","tagKeys":[]})"));
}

}  // namespace
}  // namespace plinth::api
