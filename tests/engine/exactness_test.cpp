// Forward passes vs the float64 reference: exact mode within 2e-3, fast mode within llama.cpp-like
// tolerances, for every fixture model (decoders: greedy steps and top-5 log-probs; bert: pooled
// embeddings).
#include <gtest/gtest.h>

#include <boost/json/src.hpp>  // header-only Boost.JSON: the engine library does not link it
#include <cmath>
#include <fstream>
#include <sstream>

#include "model/model_impl.h"

namespace plinth::engine {
namespace {

const std::filesystem::path kData(PLINTH_TEST_DATA_DIR);

boost::json::value read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

std::vector<TokenId> ids(const boost::json::value& v) {
  std::vector<TokenId> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<TokenId>(x.to_number<int64_t>()));
  return out;
}

std::shared_ptr<ModelImpl> load(const std::string& name) {
  auto model = Model::load(kData / "models" / (name + ".gguf"), {.threads = 2});
  EXPECT_TRUE(model) << name << ": " << (model ? "" : model.error().message);
  if (!model) return nullptr;
  return std::dynamic_pointer_cast<ModelImpl>(*model);
}

struct Tolerance {
  double logprob;  // top-5 log-probabilities
  double margin;   // greedy ids must agree where the reference top-2 gap exceeds this
};

void compare_decoder(const std::string& name, bool exact, Tolerance tol) {
  auto model = load(name);
  ASSERT_NE(model, nullptr);
  auto reference = read_json(kData / "reference" / (name + ".json"));
  int compared_steps = 0;
  for (const auto& item : reference.at("cases").as_array()) {
    const auto& c = item.as_object();
    const std::string prompt(c.at("prompt").as_string());
    SCOPED_TRACE(name + (exact ? " exact: " : " fast: ") + prompt);
    const std::vector<TokenId> prompt_ids = ids(c.at("tokens_with_special"));
    auto encoded = model->tokenizer().encode(prompt, /*add_special=*/true, /*parse_special=*/false);
    ASSERT_TRUE(encoded) << encoded.error().message;
    EXPECT_EQ(*encoded, prompt_ids);

    GenerateRequest request;
    request.prompt = prompt_ids;
    request.max_tokens = 12;
    request.logprobs = 5;
    request.exact = exact;
    auto result = model->generate(request);
    ASSERT_TRUE(result) << result.error().message;
    const auto& greedy = c.at("greedy").as_array();
    ASSERT_GE(result->steps.size(), 1u);
    for (size_t s = 0; s < std::min(greedy.size(), result->steps.size()); ++s) {
      const auto& want = greedy[s].as_object();
      const auto& want_top = want.at("top").as_array();
      const GeneratedStep& got = result->steps[s];
      ASSERT_EQ(got.top.size(), 5u);
      for (size_t j = 0; j < 5; ++j) {
        EXPECT_NEAR(got.top[j].logprob, want_top[j].at("logprob").to_number<double>(), tol.logprob)
            << "step " << s << " rank " << j;
      }
      ++compared_steps;
      const double margin = want_top[0].at("logprob").to_number<double>() -
                            want_top[1].at("logprob").to_number<double>();
      const TokenId want_id = static_cast<TokenId>(want.at("id").to_number<int64_t>());
      if (got.id != want_id) {
        EXPECT_LE(margin, tol.margin)
            << "step " << s << ": chose " << got.id << ", reference " << want_id;
        break;  // a near tie went the other way: later steps legitimately differ
      }
      EXPECT_NEAR(got.logprob, want.at("logprob").to_number<double>(), tol.logprob);
    }
  }
  EXPECT_GT(compared_steps, 50);
}

double cosine(const std::vector<float>& a, const std::vector<double>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += a[i] * b[i];
    na += static_cast<double>(a[i]) * a[i];
    nb += b[i] * b[i];
  }
  return dot / std::sqrt(na * nb);
}

void compare_encoder(const std::string& name, bool exact, double min_cosine) {
  auto model = load(name);
  ASSERT_NE(model, nullptr);
  auto reference = read_json(kData / "reference" / (name + ".json"));
  for (const auto& item : reference.at("cases").as_array()) {
    const auto& c = item.as_object();
    const std::string prompt(c.at("prompt").as_string());
    SCOPED_TRACE(name + (exact ? " exact: " : " fast: ") + prompt);
    const std::vector<TokenId> tokens = ids(c.at("tokens_with_special"));
    std::vector<double> raw, normalized;
    for (const auto& v : c.at("embedding_raw").as_array()) raw.push_back(v.to_number<double>());
    for (const auto& v : c.at("embedding_normalized").as_array())
      normalized.push_back(v.to_number<double>());
    auto got_raw = model->embed_tokens(tokens, /*normalize=*/false, exact);
    ASSERT_TRUE(got_raw) << got_raw.error().message;
    ASSERT_EQ(got_raw->size(), raw.size());
    EXPECT_GT(cosine(*got_raw, raw), min_cosine);
    double norm_got = 0, norm_want = 0;
    for (size_t i = 0; i < raw.size(); ++i) {
      norm_got += static_cast<double>((*got_raw)[i]) * (*got_raw)[i];
      norm_want += raw[i] * raw[i];
    }
    EXPECT_NEAR(std::sqrt(norm_got), std::sqrt(norm_want), 1e-2 * std::sqrt(norm_want));
    // Through the public API: tokenizer + pooled, L2-normalised embedding.
    auto got = model->embed({.text = prompt, .normalize = true, .exact = exact});
    ASSERT_TRUE(got) << got.error().message;
    EXPECT_GT(cosine(*got, normalized), min_cosine);
    double length = 0;
    for (float v : *got) length += static_cast<double>(v) * v;
    EXPECT_NEAR(length, 1.0, 1e-5);
  }
}

const Tolerance kExact{2e-3, 1e-2};
const Tolerance kFastQ8{0.25, 1.0};
const Tolerance kFastKQuant{1.0, 1.0};

TEST(Exactness, LlamaQ8_0) { compare_decoder("llama-spm-64-q8_0", true, kExact); }
TEST(Exactness, LlamaQ4_K_M) { compare_decoder("llama-spm-256-tied-q4_k_m", true, kExact); }
TEST(Exactness, LlamaQ5_K_M) { compare_decoder("llama-spm-256-tied-q5_k_m", true, kExact); }
TEST(Exactness, Llama3Bpe) { compare_decoder("llama3-bpe-32-tied-q8_0", true, kExact); }
TEST(Exactness, Qwen2) { compare_decoder("qwen2-32-tied-q8_0", true, kExact); }
TEST(Exactness, Qwen3) { compare_decoder("qwen3-32-tied-q8_0", true, kExact); }
TEST(Exactness, BertMeanF16) { compare_encoder("bert-bge-64-mean-f16", true, 0.99999); }
TEST(Exactness, BertMeanBf16) { compare_encoder("bert-bge-64-mean-bf16", true, 0.99999); }
TEST(Exactness, BertClsQ8_0) { compare_encoder("bert-bge-64-cls-q8_0", true, 0.99999); }

TEST(FastMode, LlamaQ8_0) { compare_decoder("llama-spm-64-q8_0", false, kFastQ8); }
TEST(FastMode, LlamaQ4_K_M) { compare_decoder("llama-spm-256-tied-q4_k_m", false, kFastKQuant); }
TEST(FastMode, LlamaQ5_K_M) { compare_decoder("llama-spm-256-tied-q5_k_m", false, kFastKQuant); }
TEST(FastMode, Llama3Bpe) { compare_decoder("llama3-bpe-32-tied-q8_0", false, kFastQ8); }
TEST(FastMode, Qwen2) { compare_decoder("qwen2-32-tied-q8_0", false, kFastQ8); }
TEST(FastMode, Qwen3) { compare_decoder("qwen3-32-tied-q8_0", false, kFastQ8); }
TEST(FastMode, BertMeanF16) { compare_encoder("bert-bge-64-mean-f16", false, 0.999); }
TEST(FastMode, BertMeanBf16) { compare_encoder("bert-bge-64-mean-bf16", false, 0.999); }
TEST(FastMode, BertClsQ8_0) { compare_encoder("bert-bge-64-cls-q8_0", false, 0.999); }

}  // namespace
}  // namespace plinth::engine
