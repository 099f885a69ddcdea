// The local provider's count_tokens (equal to infer's usage.input_tokens on the same request)
// and the embedding options Bedrock's embedding bodies need: offered sizes and truncation.
#include <gtest/gtest.h>

#include <string>

#include "local_provider_fixture.h"
#include "plinth/providers/local_provider.h"

namespace plinth::providers {
namespace {

class LocalProviderCountingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    provider_ = fixture_local_provider();
    ASSERT_NE(provider_, nullptr);
  }
  static LocalProvider* provider_;
};
LocalProvider* LocalProviderCountingTest::provider_ = nullptr;

// The request of a real conversation: system prompts, tools, a tool use and its result.
InferenceRequest conversation() {
  InferenceRequest r;
  r.model_id = "small";
  r.system = {"You are terse.", "Answer in English."};
  r.tools.push_back({"lookup", "Looks up an invoice",
                     R"({"type":"object","properties":{"id":{"type":"string"}}})"});
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "t1";
  use.tool_name = "lookup";
  use.tool_input_json = R"({"id":"INV-7"})";
  ContentBlock result;
  result.kind = ContentBlock::Kind::kToolResult;
  result.tool_use_id = "t1";
  result.text = "total 120.50 EUR";
  r.messages.push_back({Role::kUser, {}});
  r.messages.back().content.push_back(ContentBlock{.text = "What is the total of INV-7?"});
  r.messages.push_back({Role::kAssistant, {use}});
  r.messages.push_back({Role::kUser, {result}});
  r.messages.back().content.push_back(ContentBlock{.text = "And in dollars?"});
  r.max_tokens = 4;
  r.temperature = 0.0f;
  return r;
}

TEST_F(LocalProviderCountingTest, CountEqualsTheInputTokensInferReports) {
  InferenceRequest request = conversation();
  auto counted = provider_->count_tokens(request);
  ASSERT_TRUE(counted) << counted.error().message;
  auto answered = provider_->infer(request, {});
  ASSERT_TRUE(answered) << answered.error().message;
  EXPECT_EQ(*counted, answered->usage.input_tokens);
  // A forced tool adds its instruction to the system prompt: counted too.
  request.forced_tool = "lookup";
  auto forced = provider_->count_tokens(request);
  ASSERT_TRUE(forced);
  EXPECT_GT(*forced, *counted);
  auto forced_answer = provider_->infer(request, {});
  ASSERT_TRUE(forced_answer) << forced_answer.error().message;
  EXPECT_EQ(*forced, forced_answer->usage.input_tokens);
}

TEST_F(LocalProviderCountingTest, CountRefusesWhatInferRefuses) {
  InferenceRequest request = conversation();
  request.forced_tool = "missing";
  EXPECT_EQ(provider_->count_tokens(request).error().code, ErrorCode::kInvalidArgument);
  request = conversation();
  request.model_id = "embed";
  EXPECT_EQ(provider_->count_tokens(request).error().code, ErrorCode::kInvalidArgument);
  request.model_id = "nope";
  EXPECT_EQ(provider_->count_tokens(request).error().code, ErrorCode::kNotFound);
}

TEST_F(LocalProviderCountingTest, TooNarrowModelNamesTheOfferedSizesItServes) {
  EmbeddingRequest request{.model_id = "embed", .text = "x", .dimensions = 1024};
  request.sizes_offered = {256, 512, 1024};
  auto refused = provider_->embed(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("(64)"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("none of the sizes 256, 512, 1024"), std::string::npos)
      << refused.error().message;
  request.sizes_offered = {32, 64, 128};
  request.dimensions = 128;
  auto partly = provider_->embed(request);
  ASSERT_FALSE(partly);
  EXPECT_NE(partly.error().message.find("it serves dimensions 32, 64"), std::string::npos)
      << partly.error().message;
}

TEST_F(LocalProviderCountingTest, TruncationCutsInputsLongerThanTheContext) {
  std::string long_text;
  for (int i = 0; i < 700; ++i) long_text += "word ";  // > 512 tokens
  EmbeddingRequest request{.model_id = "embed", .text = long_text};
  auto refused = provider_->embed(request);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kContextLength);
  std::string start_text = "alpha beta gamma " + long_text;
  std::string end_text = long_text + " alpha beta gamma";
  request.truncation = EmbeddingTruncation::kEnd;
  request.text = start_text;
  auto end_cut = provider_->embed(request);
  ASSERT_TRUE(end_cut) << end_cut.error().message;
  EXPECT_EQ(end_cut->input_tokens, 512);
  request.truncation = EmbeddingTruncation::kStart;
  request.text = end_text;
  auto start_cut = provider_->embed(request);
  ASSERT_TRUE(start_cut) << start_cut.error().message;
  // Cutting the start of "alpha beta gamma word..." keeps only "word"s, as cutting the end of
  // "word... alpha beta gamma" does not.
  request.text = start_text;
  auto start_of_start = provider_->embed(request);
  ASSERT_TRUE(start_of_start);
  EXPECT_NE(start_cut->embedding, start_of_start->embedding);
  request.truncation = EmbeddingTruncation::kEnd;
  request.text = end_text;
  auto all_words = provider_->embed(request);
  ASSERT_TRUE(all_words);
  EXPECT_EQ(all_words->embedding, start_of_start->embedding);
}

}  // namespace
}  // namespace plinth::providers
