// Token-level constraint over a fake vocabulary: masks, EOS only when complete, forced tokens,
// budget steering, and random sampling that always ends in valid JSON.
#include <gtest/gtest.h>

#include <random>

#include "fake_tokenizer.h"
#include "matcher_core.h"
#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

using testing::FakeTokenizer;

const char* kPerson = R"({"type":"object","properties":{
    "name":{"type":"string","maxLength":8},"age":{"type":"integer","minimum":0,"maximum":150},
    "tags":{"type":"array","items":{"enum":["a","bc"]}}},"required":["name","age"]})";

FakeTokenizer make_tokenizer() {
  return FakeTokenizer({"{\"", "\":", "\",\"", "name", "age", "\"}", "true", "12", "1.5", "\\n",
                        "\xC3\xA9", "\xC3", "\xA9", "}\n", "]}", "tags"});
}

std::vector<uint8_t> mask_of(engine::TokenConstraint& c, int32_t vocab) {
  std::vector<uint8_t> allowed(vocab, 1);
  c.fill_mask(allowed);
  return allowed;
}

TEST(TokenConstraint, MaskMatchesPerTokenChecks) {
  FakeTokenizer tok = make_tokenizer();
  const TokenIndex& index = token_index_for(tok);
  auto schema = compile_schema(kPerson);
  ASSERT_TRUE(schema) << schema.error().message;
  auto c = make_constraint(*schema, index);
  for (std::string_view piece : {"{\"", "name", "\":", "\""}) {
    auto mask = mask_of(*c, tok.vocab_size());
    for (int32_t id = 0; id < tok.vocab_size(); ++id)
      EXPECT_EQ(mask[id] != 0, c->allows(id)) << "token " << id << " before " << piece;
    ASSERT_TRUE(c->allows(tok.id_of(piece))) << piece;
    c->accept(tok.id_of(piece));
  }
  // Inside the name string: the split UTF-8 lead byte is fine, a lone continuation is not.
  EXPECT_TRUE(c->allows(tok.id_of("\xC3")));
  EXPECT_FALSE(c->allows(tok.id_of("\xA9")));
  EXPECT_TRUE(c->allows(tok.id_of("\\n")));
  EXPECT_FALSE(c->allows(tok.id_of("}\n")));
  EXPECT_FALSE(c->allows(tok.control_id()));
  EXPECT_FALSE(c->allows(tok.eos_id()));
}

TEST(TokenConstraint, EndOfGenerationOnlyWhenComplete) {
  FakeTokenizer tok = make_tokenizer();
  auto schema = compile_schema(R"({"type":"integer"})");
  ASSERT_TRUE(schema);
  auto c = make_constraint(*schema, token_index_for(tok));
  EXPECT_FALSE(c->allows(tok.eos_id()));
  c->accept(tok.id_of("12"));
  EXPECT_TRUE(c->is_complete());
  EXPECT_TRUE(c->allows(tok.eos_id()));
  EXPECT_TRUE(c->allows(tok.id_of("12")));  // a number may go on
  EXPECT_FALSE(c->allows(tok.id_of("1.5")));
  c->accept(tok.eos_id());
  EXPECT_FALSE(c->allows(tok.id_of("12")));
  auto mask = mask_of(*c, tok.vocab_size());
  EXPECT_EQ(std::count(mask.begin(), mask.end(), 1), 0);
}

TEST(TokenConstraint, ForcedTokensSpellTheOnlyContinuation) {
  FakeTokenizer tok = make_tokenizer();
  auto schema = compile_schema(
      R"({"type":"object","properties":{"name":{"type":"string"}},"required":["name"],
          "additionalProperties":false})");
  ASSERT_TRUE(schema);
  auto c = make_constraint(*schema, token_index_for(tok));
  auto forced = c->forced_tokens();
  std::string text;
  for (auto id : forced) text += tok.token_bytes(id, false);
  EXPECT_EQ(text, "{\"name\":\"");
  EXPECT_EQ(forced.front(), tok.id_of("{\""));  // longest tokens first
  for (auto id : forced) c->accept(id);
  EXPECT_TRUE(c->forced_tokens().empty());  // the string content is free
}

TEST(TokenConstraint, BudgetSteersTowardsClosing) {
  FakeTokenizer tok = make_tokenizer();
  auto schema = compile_schema(R"({"type":"array","items":{"type":"string"}})");
  ASSERT_TRUE(schema);
  ConstraintOptions options;
  options.max_tokens = 12;
  options.steer_margin = 2;
  auto c = make_constraint(*schema, token_index_for(tok), options);
  std::mt19937_64 rng(7);
  int used = 0;
  std::string text;
  while (!c->is_complete() || !c->allows(tok.eos_id())) {
    auto mask = mask_of(*c, tok.vocab_size());
    std::vector<engine::TokenId> choices;
    for (int32_t id = 0; id < tok.vocab_size(); ++id)
      if (mask[id] && id != tok.eos_id()) choices.push_back(id);
    if (choices.empty()) break;
    auto pick = choices[rng() % choices.size()];
    text += tok.token_bytes(pick, false);
    c->accept(pick);
    ASSERT_LE(++used, options.max_tokens) << text;
  }
  EXPECT_TRUE(c->is_complete()) << text;
  EXPECT_TRUE(validate(R"({"type":"array","items":{"type":"string"}})", text)) << text;
}

TEST(TokenConstraint, RandomSamplingAlwaysYieldsValidJson) {
  FakeTokenizer tok = make_tokenizer();
  const TokenIndex& index = token_index_for(tok);
  auto schema = compile_schema(kPerson);
  ASSERT_TRUE(schema);
  std::mt19937_64 rng(42);
  for (int run = 0; run < 30; ++run) {
    ConstraintOptions options;
    options.max_tokens = 60;
    auto c = make_constraint(*schema, index, options);
    std::string text;
    bool ended = false;
    for (int step = 0; step < options.max_tokens; ++step) {
      auto mask = mask_of(*c, tok.vocab_size());
      std::vector<engine::TokenId> choices;
      for (int32_t id = 0; id < tok.vocab_size(); ++id)
        if (mask[id]) choices.push_back(id);
      ASSERT_FALSE(choices.empty()) << text;
      auto pick = choices[rng() % choices.size()];
      ASSERT_TRUE(c->allows(pick));
      c->accept(pick);
      if (pick == tok.eos_id()) {
        ended = true;
        break;
      }
      text += tok.token_bytes(pick, false);
    }
    ASSERT_TRUE(ended) << text;
    EXPECT_TRUE(validate(kPerson, text)) << text;
  }
}

TEST(TokenIndex, IsCachedPerTokenizer) {
  FakeTokenizer a = make_tokenizer();
  FakeTokenizer b({"x"});
  EXPECT_EQ(&token_index_for(a), &token_index_for(a));
  EXPECT_NE(&token_index_for(a), &token_index_for(b));
  EXPECT_TRUE(token_index_for(a).is_excluded(a.control_id()));
  EXPECT_TRUE(token_index_for(a).is_end_of_generation(a.eos_id()));
}

// Masks are cached per schema and shared by every constraint over it, keyed by the matcher state
// and the token index: a second request reuses them, another vocabulary does not.
TEST(TokenConstraint, MasksAreSharedAcrossConstraintsOfOneSchema) {
  FakeTokenizer tok = make_tokenizer();
  FakeTokenizer other({"{\"", "name", "\":", "\"", "x", "}"});
  const TokenIndex& index = token_index_for(tok);
  const TokenIndex& other_index = token_index_for(other);
  ASSERT_NE(index.id(), other_index.id());
  auto schema = compile_schema_uncached(kPerson);
  ASSERT_TRUE(schema) << schema.error().message;
  const SharedMaskCache& masks = (*schema)->masks;
  auto first = make_constraint(*schema, index);
  auto start = mask_of(*first, tok.vocab_size());
  EXPECT_EQ(masks.size(), 1u);
  auto second = make_constraint(*schema, index);
  EXPECT_EQ(mask_of(*second, tok.vocab_size()), start);
  EXPECT_EQ(masks.size(), 1u);  // same state, same index: reused
  first->accept(tok.id_of("{\""));
  auto after_brace = mask_of(*first, tok.vocab_size());
  EXPECT_EQ(masks.size(), 2u);
  EXPECT_NE(after_brace, start);
  EXPECT_EQ(mask_of(*second, tok.vocab_size()), start);  // second is still at the start
  auto third = make_constraint(*schema, other_index);
  auto other_start = mask_of(*third, other.vocab_size());
  EXPECT_EQ(masks.size(), 3u);
  EXPECT_TRUE(other_start[other.id_of("{\"")]);
  EXPECT_FALSE(other_start[other.id_of("x")]);
  for (int32_t id = 0; id < other.vocab_size(); ++id) {
    JsonMatcher m(*schema);
    bool expected = !other_index.is_excluded(id) && !other_index.is_end_of_generation(id) &&
                    m.feed(other_index.token_text(id));
    EXPECT_EQ(other_start[id] != 0, expected) << id;
  }
}

}  // namespace
}  // namespace plinth::structured
