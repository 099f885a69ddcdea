// Router decisions over a scripted provider: escalation reasons, escalate_on filtering, output
// checks, same-tier fallback on provider errors, the retry bound and what gets streamed.
#include "plinth/router/router.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>

namespace plinth::router {
namespace {

using providers::StopReason;

// Answers each model id from its own queue of scripted outcomes (the last one repeats).
class ScriptedProvider final : public providers::Provider {
 public:
  struct Outcome {
    std::optional<ErrorCode> error;
    std::string text = "hello";
    StopReason stop = StopReason::kEndTurn;
    std::optional<bool> valid;
    int64_t input_tokens = 10;
    int64_t output_tokens = 5;
  };

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override {
    calls.push_back(request.model_id);
    std::deque<Outcome>& queue = script[request.model_id];
    Outcome outcome = queue.empty() ? Outcome{} : queue.front();
    if (queue.size() > 1) queue.pop_front();
    if (outcome.error) return fail(*outcome.error, "scripted failure");
    if (on_event && !on_event(providers::StreamEvent::text_delta(outcome.text))) {
      return fail(ErrorCode::kCancelled, "cancelled");
    }
    providers::InferenceResponse response;
    response.model_id = request.model_id;
    providers::ContentBlock block;
    block.text = outcome.text;
    response.content.push_back(block);
    response.stop_reason = outcome.stop;
    response.output_valid = outcome.valid;
    response.usage = {outcome.input_tokens, outcome.output_tokens};
    return response;
  }
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest&) override {
    return fail(ErrorCode::kInvalidArgument, "no embeddings");
  }

  std::map<std::string, std::deque<Outcome>> script;
  std::vector<std::string> calls;
};

using Outcome = ScriptedProvider::Outcome;

// (Builders instead of designated initializers, which trip -Wmissing-field-initializers.)
Outcome failure(ErrorCode code) {
  Outcome outcome;
  outcome.error = code;
  return outcome;
}

Outcome answer(std::string text, StopReason stop = StopReason::kEndTurn,
               std::optional<bool> valid = std::nullopt, int64_t output_tokens = 5) {
  Outcome outcome;
  outcome.text = std::move(text);
  outcome.stop = stop;
  outcome.valid = valid;
  outcome.output_tokens = output_tokens;
  return outcome;
}

OutputChecks min_length(int64_t length) {
  OutputChecks checks;
  checks.min_length = length;
  return checks;
}

OutputChecks required(std::vector<std::string> fields) {
  OutputChecks checks;
  checks.required_fields = std::move(fields);
  return checks;
}

OutputChecks expect_stop(StopReason stop) {
  OutputChecks checks;
  checks.stop_reason = stop;
  return checks;
}

catalog::ModelEntry entry(std::string id, catalog::ModelTier tier,
                          catalog::ModelKind kind = catalog::ModelKind::kText) {
  catalog::ModelEntry model;
  model.id = std::move(id);
  model.tier = tier;
  model.kind = kind;
  return model;
}

catalog::Catalog test_catalog() {
  using catalog::ModelTier;
  std::vector<catalog::ModelEntry> entries{
      entry("small-a", ModelTier::kSmall), entry("small-b", ModelTier::kSmall),
      entry("large-a", ModelTier::kLarge), entry("large-b", ModelTier::kLarge),
      entry("embed", ModelTier::kSmall, catalog::ModelKind::kEmbedding)};
  entries[1].aliases = {"b-alias"};
  return *catalog::Catalog::from_entries(std::move(entries));
}

RouterDefinition definition(std::vector<EscalationReason> escalate_on = {
                                EscalationReason::kInvalidOutput, EscalationReason::kMaxTokens,
                                EscalationReason::kChecks}) {
  RouterDefinition def;
  def.id = "router.test";
  def.small = "small-a";
  def.large = "large-a";
  def.escalate_on = std::move(escalate_on);
  def.max_retries = 2;
  return def;
}

class RouterTest : public ::testing::Test {
 protected:
  Router make(RouterDefinition def) {
    auto router = Router::create(std::move(def), catalog_);
    EXPECT_TRUE(router) << router.error().message;
    return *router;
  }
  RoutedResponse run(const Router& router, const OutputChecks& checks = {},
                     RouteCallbacks callbacks = {}) {
    return router.infer(provider_, request_, checks, callbacks);
  }

  catalog::Catalog catalog_ = test_catalog();
  ScriptedProvider provider_;
  providers::InferenceRequest request_;
};

TEST_F(RouterTest, PassingSmallAnswerIsNotEscalated) {
  RoutedResponse routed = run(make(definition()));
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.answered_by->id, "small-a");
  EXPECT_FALSE(routed.escalated);
  EXPECT_EQ(routed.attempts.size(), 1u);
  EXPECT_EQ(provider_.calls, std::vector<std::string>{"small-a"});
}

TEST_F(RouterTest, InvalidSchemaOutputEscalatesAndBothAttemptsAreReported) {
  request_.output_schema_json = R"({"type":"object"})";
  provider_.script["small-a"] = {answer("{", StopReason::kEndTurn, false, 4)};
  provider_.script["large-a"] = {answer("{}", StopReason::kEndTurn, true, 9)};
  RoutedResponse routed = run(make(definition()));
  ASSERT_TRUE(routed.response);
  EXPECT_TRUE(routed.escalated);
  EXPECT_EQ(routed.reason, EscalationReason::kInvalidOutput);
  EXPECT_EQ(routed.answered_by->id, "large-a");
  ASSERT_EQ(routed.attempts.size(), 2u);
  EXPECT_EQ(routed.attempts[0].model->id, "small-a");
  EXPECT_EQ(routed.attempts[0].usage.output_tokens, 4);
  EXPECT_EQ(routed.attempts[1].usage.output_tokens, 9);
}

TEST_F(RouterTest, MaxTokensStopEscalatesUnlessTheChecksExpectIt) {
  provider_.script["small-a"] = {answer("cut", StopReason::kMaxTokens)};
  EXPECT_EQ(run(make(definition())).reason, EscalationReason::kMaxTokens);
  RoutedResponse expected = run(make(definition()), expect_stop(StopReason::kMaxTokens));
  EXPECT_FALSE(expected.escalated);
  EXPECT_EQ(expected.answered_by->id, "small-a");
}

TEST_F(RouterTest, FailedChecksEscalate) {
  provider_.script["small-a"] = {answer(R"({"total":3})")};
  EXPECT_FALSE(run(make(definition()), required({"total"})).escalated);
  EXPECT_EQ(run(make(definition()), required({"total", "currency"})).reason,
            EscalationReason::kChecks);
  EXPECT_EQ(run(make(definition()), min_length(12)).reason, EscalationReason::kChecks);
  EXPECT_FALSE(run(make(definition()), min_length(11)).escalated);
  EXPECT_EQ(run(make(definition()), expect_stop(StopReason::kStopSequence)).reason,
            EscalationReason::kChecks);
}

TEST_F(RouterTest, OnlyReasonsListedInEscalateOnEscalate) {
  request_.output_schema_json = R"({"type":"object"})";
  provider_.script["small-a"] = {answer("x", StopReason::kMaxTokens, false)};
  RoutedResponse none = run(make(definition({})), min_length(5));
  EXPECT_FALSE(none.escalated);
  RoutedResponse checks_only = run(make(definition({EscalationReason::kChecks})), min_length(5));
  EXPECT_TRUE(checks_only.escalated);
  EXPECT_EQ(checks_only.reason, EscalationReason::kChecks);
}

TEST_F(RouterTest, ProviderErrorFallsBackToTheNextModelOfTheSameTier) {
  provider_.script["small-a"] = {failure(ErrorCode::kUnavailable)};
  RouterDefinition def = definition();
  def.fallbacks = {"large-b", "b-alias"};  // a large fallback is no candidate for the small tier
  RoutedResponse routed = run(make(def));
  ASSERT_TRUE(routed.response);
  EXPECT_EQ(routed.answered_by->id, "small-b");
  EXPECT_FALSE(routed.escalated);
  EXPECT_EQ(provider_.calls, (std::vector<std::string>{"small-a", "small-b"}));
  ASSERT_EQ(routed.attempts.size(), 2u);
  ASSERT_TRUE(routed.attempts[0].error);
  EXPECT_EQ(routed.attempts[0].usage.input_tokens, 0);
}

TEST_F(RouterTest, LargeTierFallsBackToItsConfiguredFallback) {
  provider_.script["small-a"] = {answer("cut", StopReason::kMaxTokens)};
  provider_.script["large-a"] = {failure(ErrorCode::kInternal)};
  RouterDefinition def = definition();
  def.fallbacks = {"large-b"};
  RoutedResponse routed = run(make(def));
  ASSERT_TRUE(routed.response);
  EXPECT_TRUE(routed.escalated);
  EXPECT_EQ(routed.answered_by->id, "large-b");
  EXPECT_EQ(provider_.calls, (std::vector<std::string>{"small-a", "large-a", "large-b"}));
}

TEST_F(RouterTest, RetriesAreBoundedByMaxRetries) {
  for (const char* id : {"small-a", "small-b"}) {
    provider_.script[id] = {failure(ErrorCode::kUnavailable)};
  }
  RouterDefinition def = definition();
  def.max_retries = 3;
  RoutedResponse routed = run(make(def));
  ASSERT_FALSE(routed.response);
  EXPECT_EQ(routed.response.error().code, ErrorCode::kUnavailable);
  // 1 + 3 calls, cycling over the small tier's two models; the large model is never tried.
  EXPECT_EQ(provider_.calls,
            (std::vector<std::string>{"small-a", "small-b", "small-a", "small-b"}));
  def.max_retries = 0;
  provider_.calls.clear();
  EXPECT_FALSE(run(make(def)).response);
  EXPECT_EQ(provider_.calls.size(), 1u);
}

TEST_F(RouterTest, RequestErrorsAreNotRetried) {
  provider_.script["small-a"] = {failure(ErrorCode::kContextLength)};
  RoutedResponse routed = run(make(definition()));
  ASSERT_FALSE(routed.response);
  EXPECT_EQ(routed.response.error().code, ErrorCode::kContextLength);
  EXPECT_EQ(provider_.calls.size(), 1u);
}

TEST_F(RouterTest, StreamsOnlyTheAnswerThatIsKept) {
  provider_.script["small-a"] = {answer("short")};
  provider_.script["large-a"] = {answer("a much longer answer")};
  std::string seen;
  std::vector<std::string> starts;
  RouteCallbacks callbacks;
  callbacks.on_event = [&](const providers::StreamEvent& event) {
    seen += event.text;
    return true;
  };
  callbacks.on_answer_start = [&](const catalog::ModelEntry& model,
                                  std::optional<EscalationReason> reason) {
    starts.push_back(model.id + (reason ? "+" + std::string(to_string(*reason)) : "-"));
  };
  RoutedResponse escalated = run(make(definition()), min_length(10), callbacks);
  EXPECT_TRUE(escalated.escalated);
  EXPECT_EQ(seen, "a much longer answer");
  EXPECT_EQ(starts, std::vector<std::string>{"large-a+checks"});
  seen.clear();
  starts.clear();
  RoutedResponse kept = run(make(definition()), min_length(3), callbacks);
  EXPECT_FALSE(kept.escalated);
  EXPECT_EQ(seen, "short");
  EXPECT_EQ(starts, std::vector<std::string>{"small-a-"});
}

TEST_F(RouterTest, CancelWhileBufferingStopsTheSmallAttempt) {
  RouteCallbacks callbacks;
  callbacks.keep_going = [] { return false; };
  RoutedResponse routed = run(make(definition()), {}, callbacks);
  ASSERT_FALSE(routed.response);
  EXPECT_EQ(routed.response.error().code, ErrorCode::kCancelled);
  EXPECT_EQ(provider_.calls.size(), 1u);
}

TEST(OutputChecks, ParsesEveryCheckAndRejectsUnknownOnes) {
  auto checks = parse_output_checks(
      R"({"required_fields":["total","currency"],"stop_reason":"max_tokens","min_length":4})");
  ASSERT_TRUE(checks) << checks.error().message;
  EXPECT_EQ(checks->required_fields, (std::vector<std::string>{"total", "currency"}));
  EXPECT_EQ(checks->stop_reason, StopReason::kMaxTokens);
  EXPECT_EQ(checks->min_length, 4);
  for (std::string_view bad : {R"([])", R"({"min_length":-1})", R"({"stop_reason":"done"})",
                               R"({"required_fields":[1]})", R"({"max_cost":3})", "{"}) {
    auto result = parse_output_checks(bad);
    ASSERT_FALSE(result) << bad;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument) << bad;
  }
}

TEST(OutputChecks, MinLengthCountsCodePoints) {
  providers::InferenceResponse response;
  providers::ContentBlock block;
  block.text = "\xc3\xa9\xc3\xa9\xc3\xa9";  // three "é", six bytes
  response.content.push_back(block);
  EXPECT_TRUE(failed_reasons({}, response, min_length(3)).empty());
  EXPECT_EQ(failed_reasons({}, response, min_length(4)),
            std::vector<EscalationReason>{EscalationReason::kChecks});
}

TEST(RouterSet, FindsRoutersByIdAndPromptRouterArn) {
  catalog::Catalog catalog = test_catalog();
  auto set = RouterSet::from_definitions({definition()}, catalog);
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_NE(set->find("router.test"), nullptr);
  EXPECT_NE(set->find("arn:aws:bedrock:us-east-1:000000000000:prompt-router/router.test"), nullptr);
  EXPECT_NE(set->find("arn:aws:bedrock:us-east-1:000000000000:default-prompt-router/router.test"),
            nullptr);
  EXPECT_EQ(set->find("arn:aws:bedrock:us-east-1::foundation-model/router.test"), nullptr);
  EXPECT_EQ(set->find("small-a"), nullptr);
  EXPECT_EQ(prompt_router_arn("eu-west-1", "123", "r"),
            "arn:aws:bedrock:eu-west-1:123:prompt-router/r");
}

TEST(RouterSet, RejectsBadDefinitions) {
  catalog::Catalog catalog = test_catalog();
  auto with = [&](auto change) {
    RouterDefinition def = definition();
    change(def);
    return RouterSet::from_definitions({def}, catalog);
  };
  EXPECT_FALSE(with([](RouterDefinition& d) { d.small = "nope"; }));
  EXPECT_FALSE(with([](RouterDefinition& d) { d.large = "embed"; }));
  EXPECT_FALSE(with([](RouterDefinition& d) { d.id = "b-alias"; }));
  EXPECT_FALSE(with([](RouterDefinition& d) { d.max_retries = 11; }));
  EXPECT_FALSE(with([](RouterDefinition& d) { d.fallbacks = {"missing"}; }));
  EXPECT_FALSE(RouterSet::from_definitions({definition(), definition()}, catalog));
  Config config;
  RouterConfig bad_reason;
  bad_reason.id = "r";
  bad_reason.small = "small-a";
  bad_reason.large = "large-a";
  bad_reason.escalate_on = {"too_slow"};
  config.routers.push_back(bad_reason);
  EXPECT_FALSE(RouterSet::from_config(config, catalog));
}

}  // namespace
}  // namespace plinth::router
