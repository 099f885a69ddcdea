// Constraints over the real fixture vocabularies (32k SentencePiece, 128k and 151k BPE): random
// sampling among allowed tokens always ends in output that validates, and masks are fast.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <random>

#include "gguf/gguf_file.h"
#include "plinth/structured/structured.h"
#include "tokenizer/tokenizer_loader.h"

namespace plinth::structured {
namespace {

const char* kInvoice = R"({"type":"object","properties":{
  "invoice_id":{"type":"string","pattern":"^INV-[0-9]{4}$"},
  "date":{"type":"string","format":"date"},
  "total":{"type":"number","minimum":0,"maximum":100000},
  "paid":{"type":"boolean"},
  "lines":{"type":"array","minItems":1,"maxItems":3,"items":{"type":"object","properties":{
      "sku":{"type":"string","maxLength":12},"qty":{"type":"integer","minimum":1,"maximum":99},
      "note":{"type":["string","null"]}},"required":["sku","qty"],"additionalProperties":false}},
  "customer":{"anyOf":[{"type":"string","enum":["walk-in"]},
      {"type":"object","properties":{"name":{"type":"string"},"vip":{"type":"boolean"}},
       "required":["name"]}]}},
  "required":["invoice_id","date","total","lines","customer"],"additionalProperties":false})";

class RealTokenizer : public ::testing::TestWithParam<const char*> {};

TEST_P(RealTokenizer, RandomSamplingYieldsValidJsonWithFastMasks) {
  auto path = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "models" / GetParam();
  auto file = engine::GgufFile::open(path);
  ASSERT_TRUE(file) << file.error().message;
  auto tokenizer = engine::load_tokenizer(**file);
  ASSERT_TRUE(tokenizer) << tokenizer.error().message;
  auto t0 = std::chrono::steady_clock::now();
  const TokenIndex& index = token_index_for(**tokenizer);
  double index_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto schema = compile_schema(kInvoice);
  ASSERT_TRUE(schema) << schema.error().message;

  std::mt19937_64 rng(99);
  std::vector<double> mask_us;
  const int vocab = (*tokenizer)->vocab_size();
  for (int run = 0; run < 4; ++run) {
    ConstraintOptions options;
    options.max_tokens = 160;
    auto c = make_constraint(*schema, index, options);
    std::string text;
    bool ended = false;
    for (int step = 0; step < options.max_tokens && !ended; ++step) {
      std::vector<uint8_t> allowed(vocab, 1);
      auto start = std::chrono::steady_clock::now();
      c->fill_mask(allowed);
      mask_us.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
              .count());
      std::vector<engine::TokenId> choices;
      for (int id = 0; id < vocab; ++id)
        if (allowed[id]) choices.push_back(id);
      ASSERT_FALSE(choices.empty()) << text;
      engine::TokenId pick = choices[rng() % choices.size()];
      ASSERT_TRUE(c->allows(pick)) << pick;
      ASSERT_FALSE((*tokenizer)->is_control(pick) && !(*tokenizer)->is_end_of_generation(pick));
      c->accept(pick);
      if ((*tokenizer)->is_end_of_generation(pick))
        ended = true;
      else
        text += (*tokenizer)->token_bytes(pick);
    }
    ASSERT_TRUE(ended) << "did not finish within the budget: " << text;
    EXPECT_TRUE(validate(kInvoice, text)) << text;
  }
  std::sort(mask_us.begin(), mask_us.end());
  double sum = 0;
  for (double v : mask_us) sum += v;
  std::printf("%s: vocab %d, index %.0f ms, mask avg %.0f us p50 %.0f us p99 %.0f us (%zu masks)\n",
              GetParam(), vocab, index_ms, sum / mask_us.size(), mask_us[mask_us.size() / 2],
              mask_us[mask_us.size() * 99 / 100], mask_us.size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, RealTokenizer,
                         ::testing::Values("llama-spm-64-q8_0.gguf", "llama3-bpe-32-tied-q8_0.gguf",
                                           "qwen2-32-tied-q8_0.gguf"));

}  // namespace
}  // namespace plinth::structured
