// The local provider on real fixture models: chat rendering, schema-constrained output, tools,
// embeddings and the errors a caller can cause.
#include "plinth/providers/local_provider.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cmath>
#include <set>

#include "local_provider_fixture.h"
#include "plinth/engine/engine.h"

namespace plinth::providers {
namespace {

class LocalProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    provider_ = fixture_local_provider();
    ASSERT_NE(provider_, nullptr);
  }
  static InferenceRequest ask(std::string text) {
    InferenceRequest r;
    r.model_id = "small";
    r.messages.push_back({Role::kUser, {ContentBlock{.text = std::move(text)}}});
    r.max_tokens = 12;
    r.temperature = 0.0f;
    return r;
  }
  static LocalProvider* provider_;
};
LocalProvider* LocalProviderTest::provider_ = nullptr;

TEST_F(LocalProviderTest, GeneratesAndCountsTokens) {
  auto r = provider_->infer(ask("Hello"), {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->model_id, "small");
  ASSERT_EQ(r->content.size(), 1u);
  EXPECT_GT(r->usage.input_tokens, 5);
  EXPECT_GT(r->usage.output_tokens, 0);
  EXPECT_LE(r->usage.output_tokens, 12);
}

TEST_F(LocalProviderTest, CachePointsWriteThePrefixThenReadIt) {
  std::string contract;
  for (int i = 0; i < 15; ++i)  // ~170 tokens: twice that still fits the fixture's context
    contract += "Clause " + std::to_string(i) + " of the cache point contract applies. ";
  InferenceRequest first = ask("Which clause mentions payment?");
  first.system = {contract, "Be terse."};
  first.cache_points.push_back({CachePoint::Section::kSystem, 0, 1});  // after the contract
  auto a = provider_->infer(first, {});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_GT(a->usage.cache_write_input_tokens, 100);
  // The checkpoint ends before "Be terse." and the question: a strict part of the input.
  EXPECT_LT(a->usage.cache_write_input_tokens, a->usage.input_tokens - 10);
  EXPECT_EQ(a->usage.cache_read_input_tokens, 0);

  InferenceRequest second = first;
  second.messages[0].content[0].text = "Which clause comes last?";
  auto b = provider_->infer(second, {});
  ASSERT_TRUE(b) << b.error().message;
  // The whole checkpoint was cached: read as a whole (the automatic cache reused a little more).
  EXPECT_EQ(b->usage.cache_read_input_tokens, a->usage.cache_write_input_tokens);
  EXPECT_GE(b->usage.prefix_reused_tokens, b->usage.cache_read_input_tokens);
  EXPECT_EQ(b->usage.cache_write_input_tokens, 0);
  EXPECT_EQ(b->usage.input_tokens, *provider_->count_tokens(second));

  // A point inside the message: not cached as a whole yet, so the checkpoint is written whole;
  // the system prompt the automatic cache reused is a speed-up billed as input, not a read.
  InferenceRequest third = second;
  third.messages[0].content.insert(third.messages[0].content.begin(),
                                   ContentBlock{.text = "Appendix: " + contract});
  third.cache_points = {{CachePoint::Section::kMessages, 0, 1}};
  auto c = provider_->infer(third, {});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->usage.cache_read_input_tokens, 0);
  EXPECT_GE(c->usage.prefix_reused_tokens, a->usage.cache_write_input_tokens);
  EXPECT_GT(c->usage.cache_write_input_tokens,
            c->usage.prefix_reused_tokens + 100);  // the appendix is past the reused part
  EXPECT_LT(c->usage.cache_write_input_tokens, c->usage.input_tokens);
  // The same request again reads the whole checkpoint.
  auto d = provider_->infer(third, {});
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->usage.cache_read_input_tokens, c->usage.cache_write_input_tokens);
  EXPECT_EQ(d->usage.cache_write_input_tokens, 0);
}

TEST_F(LocalProviderTest, StreamingDeltasConcatenateToTheFinalText) {
  std::string streamed;
  auto r = provider_->infer(ask("Tell me"), [&](const StreamEvent& piece) {
    EXPECT_EQ(piece.kind, StreamEvent::Kind::kText);
    streamed += piece.text;
    return true;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(streamed, r->content[0].text);
}

TEST_F(LocalProviderTest, UnseededCallsDifferAndASeedRepeats) {
  auto req = ask("Write something");
  req.temperature = 1.0f;
  req.max_tokens = 16;
  std::set<std::string> unseeded;
  for (int i = 0; i < 3; ++i) {
    auto r = provider_->infer(req, {});
    ASSERT_TRUE(r) << r.error().message;
    unseeded.insert(r->content[0].text);
  }
  // 16 tokens drawn at temperature 1 from a random-weight model: three equal texts would mean
  // the calls shared a seed.
  EXPECT_GT(unseeded.size(), 1u);
  req.seed = 99;
  auto a = provider_->infer(req, {});
  auto b = provider_->infer(req, {});
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->content[0].text, b->content[0].text);
}

TEST_F(LocalProviderTest, SchemaConstrainedOutputParsesAndValidates) {
  const char* schema = R"({"type":"object","properties":{
      "total":{"type":"number","minimum":0},
      "currency":{"enum":["EUR","USD"]},
      "paid":{"type":"boolean"}},
    "required":["total","currency","paid"],"additionalProperties":false})";
  for (uint64_t seed : {1, 2, 3, 4}) {
    auto req = ask("Extract the invoice total: 120,50 EUR");
    req.output_schema_json = schema;
    req.temperature = 1.0f;
    req.seed = seed;
    req.max_tokens = 64;
    auto r = provider_->infer(req, {});
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->output_valid.has_value());
    EXPECT_TRUE(*r->output_valid) << r->content[0].text;
    boost::system::error_code ec;
    auto parsed = boost::json::parse(r->content[0].text, ec);
    ASSERT_FALSE(ec) << r->content[0].text;
    EXPECT_TRUE(parsed.as_object().contains("currency"));
  }
}

TEST_F(LocalProviderTest, ForcedToolReturnsAToolUseWithSchemaValidInput) {
  auto req = ask("Classify this document");
  req.tools.push_back({"classify", "Pick a label",
                       R"({"type":"object","properties":{"label":{"enum":["invoice","receipt"]}},)"
                       R"("required":["label"]})"});
  req.forced_tool = "classify";
  req.max_tokens = 32;
  auto r = provider_->infer(req, {});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->content.size(), 1u);
  EXPECT_EQ(r->content[0].kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(r->content[0].tool_name, "classify");
  EXPECT_EQ(r->stop_reason, StopReason::kToolUse);
  auto input = boost::json::parse(r->content[0].tool_input_json).as_object();
  std::string label(input.at("label").as_string());
  EXPECT_TRUE(label == "invoice" || label == "receipt") << label;
}

TEST_F(LocalProviderTest, ForcedToolInputStreamsUnderTheFinalToolUseId) {
  auto req = ask("Record the contact");
  req.tools.push_back({"record", "Record a contact",
                       R"({"type":"object","properties":{"name":{"type":"string"},)"
                       R"("age":{"type":"integer"}},"required":["name","age"]})"});
  req.forced_tool = "record";
  req.max_tokens = 64;
  std::vector<OwnedStreamEvent> events;
  auto r = provider_->infer(req, [&](const StreamEvent& piece) {
    events.emplace_back(piece);
    return true;
  });
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_GT(events.size(), 2u);  // the start, then the input in several fragments
  EXPECT_EQ(events[0].kind, StreamEvent::Kind::kToolUseStart);
  EXPECT_EQ(events[0].tool_name, "record");
  EXPECT_EQ(events[0].tool_use_id, r->content[0].tool_use_id);
  EXPECT_TRUE(r->content[0].tool_use_id.starts_with("tooluse_"));
  std::string input;
  for (size_t i = 1; i < events.size(); ++i) {
    EXPECT_EQ(events[i].kind, StreamEvent::Kind::kToolUseInput);
    input += events[i].text;
  }
  EXPECT_EQ(input, r->content[0].tool_input_json);
}

TEST_F(LocalProviderTest, UnsupportedSchemaKeywordIsAnInvalidArgument) {
  auto req = ask("x");
  req.output_schema_json = R"({"type":"object","patternProperties":{"^a":{"type":"string"}},)"
                           R"("minProperties":2})";
  auto r = provider_->infer(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

// The fixture's context is 512 tokens, the configured default max tokens is 512 too: with no max
// tokens from the caller, any prompt used to fail with "prompt plus max_tokens (512) exceeds".
TEST_F(LocalProviderTest, DefaultMaxTokensShrinksToTheContextLeftAfterThePrompt) {
  auto req = ask("Hello");
  req.max_tokens = 512;
  req.max_tokens_defaulted = true;
  auto r = provider_->infer(req, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_GT(r->usage.output_tokens, 0);
  EXPECT_LE(r->usage.input_tokens + r->usage.output_tokens, 512);
}

TEST_F(LocalProviderTest, DefaultMaxTokensKeepsASmallerConfiguredDefault) {
  auto req = ask("Hello");
  req.max_tokens = 5;
  req.max_tokens_defaulted = true;
  auto r = provider_->infer(req, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_LE(r->usage.output_tokens, 5);
}

TEST_F(LocalProviderTest, DefaultMaxTokensStillBoundsTheSchemaConstraint) {
  auto req = ask("Classify");
  req.max_tokens = 512;
  req.max_tokens_defaulted = true;
  req.temperature = 1.0f;
  req.output_schema_json = R"({"type":"object","properties":{"ok":{"type":"boolean"}},)"
                           R"("required":["ok"],"additionalProperties":false})";
  auto r = provider_->infer(req, {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_LE(r->usage.input_tokens + r->usage.output_tokens, 512);
  if (r->stop_reason == StopReason::kEndTurn) {
    EXPECT_TRUE(r->output_valid.value_or(false));
  }
}

TEST_F(LocalProviderTest, ExplicitMaxTokensBeyondTheContextIsStillRefused) {
  auto req = ask("Hello");
  req.max_tokens = 512;
  auto r = provider_->infer(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kContextLength);
}

TEST_F(LocalProviderTest, DefaultMaxTokensWithAPromptFillingTheContextIsRefused) {
  std::string long_prompt;
  for (int i = 0; i < 600; ++i) long_prompt += "word ";
  auto req = ask(long_prompt);
  req.max_tokens = 512;
  req.max_tokens_defaulted = true;
  auto r = provider_->infer(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kContextLength);
}

TEST_F(LocalProviderTest, EmbeddingsAreNormalisedAndTruncatable) {
  auto r = provider_->embed({.model_id = "embed", .text = "invoice total", .normalize = true});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->embedding.size(), 64u);
  double norm = 0;
  for (float v : r->embedding) norm += double(v) * v;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-4);
  auto shorter = provider_->embed(
      {.model_id = "embed", .text = "invoice total", .dimensions = 16, .normalize = true});
  ASSERT_TRUE(shorter);
  EXPECT_EQ(shorter->embedding.size(), 16u);
  auto too_wide = provider_->embed({.model_id = "embed", .text = "x", .dimensions = 1024});
  ASSERT_FALSE(too_wide);
  EXPECT_EQ(too_wide.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LocalProviderTest, WrongModelKindsAndUnknownModelsAreErrors) {
  auto text_on_embed = ask("x");
  text_on_embed.model_id = "embed";
  EXPECT_EQ(provider_->infer(text_on_embed, {}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(provider_->embed({.model_id = "small", .text = "x"}).error().code,
            ErrorCode::kInvalidArgument);
  auto unknown = ask("x");
  unknown.model_id = "nope";
  EXPECT_EQ(provider_->infer(unknown, {}).error().code, ErrorCode::kNotFound);
}

TEST_F(LocalProviderTest, ImageBlocksAreRejected) {
  auto req = ask("x");
  req.messages[0].content.push_back({.kind = ContentBlock::Kind::kImage});
  auto r = provider_->infer(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LocalProviderTest, ContextOverflowIsAContextLengthError) {
  auto req = ask("a long answer please");
  req.max_tokens = 1 << 20;
  auto r = provider_->infer(req, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kContextLength);
}

}  // namespace
}  // namespace plinth::providers
