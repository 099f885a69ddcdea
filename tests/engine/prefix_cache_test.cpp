// PrefixCache on its own (longest prefix, budget, LRU) and through Model::generate: a prompt that
// shares a prefix with an earlier one skips it and still generates what an uncached model does.
#include "model/prefix_cache.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <numeric>
#include <thread>

#include "model/model_impl.h"

namespace plinth::engine {
namespace {

KvCache filled(int32_t positions, float base) {
  KvCache kv(2, 4, positions, /*f16=*/false);
  for (int32_t pos = 0; pos < positions; ++pos) {
    for (int32_t layer = 0; layer < 2; ++layer) {
      const float key[4] = {base + pos, 1, 2, 3}, value[4] = {-base - pos, 4, 5, 6};
      kv.store(layer, pos, key, value);
    }
  }
  kv.set_size(positions);
  return kv;
}

std::vector<TokenId> tokens(int32_t n, TokenId first) {
  std::vector<TokenId> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), first);
  return out;
}

TEST(PrefixCache, FindsTheLongestStoredPrefixButNeverTheWholePrompt) {
  PrefixCache cache(1 << 20, 4);
  const auto a = tokens(10, 100);
  ASSERT_TRUE(cache.insert(a, filled(10, 0)));
  EXPECT_FALSE(cache.insert(a, filled(10, 0)));              // already stored
  EXPECT_FALSE(cache.insert(tokens(3, 100), filled(3, 0)));  // shorter than the minimum

  auto longer = a;
  longer.push_back(7);
  auto hit = cache.lookup(longer);
  ASSERT_NE(hit.kv, nullptr);
  EXPECT_EQ(hit.tokens, 10);
  // The same prompt again: all but its last token (which must run to give logits).
  EXPECT_EQ(cache.lookup(a).tokens, 9);
  auto diverging = a;
  diverging[6] = 1;
  EXPECT_EQ(cache.lookup(diverging).tokens, 6);
  diverging[2] = 1;
  EXPECT_EQ(cache.lookup(diverging).kv, nullptr);  // 2 shared tokens: under the minimum

  // The copy holds the stored values.
  KvCache target(2, 4, 16, false);
  target.copy_prefix_from(*hit.kv, hit.tokens);
  EXPECT_EQ(target.size(), 10);
  EXPECT_EQ(static_cast<const float*>(target.view(1).keys)[9 * 4], 9.0f);
}

TEST(PrefixCache, StaysWithinItsBudgetEvictingTheLeastRecentlyUsed) {
  const size_t entry_bytes = KvCache(filled(10, 0), 10).bytes();
  PrefixCache cache(2 * entry_bytes, 4);
  ASSERT_TRUE(cache.insert(tokens(10, 0), filled(10, 0)));
  ASSERT_TRUE(cache.insert(tokens(10, 1000), filled(10, 1)));
  cache.lookup(tokens(11, 0));  // touch the first entry
  ASSERT_TRUE(cache.insert(tokens(10, 2000), filled(10, 2)));
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_LE(cache.bytes(), 2 * entry_bytes);
  EXPECT_NE(cache.lookup(tokens(11, 0)).kv, nullptr);
  EXPECT_EQ(cache.lookup(tokens(11, 1000)).kv, nullptr);  // the least recently used went
  // An entry larger than the whole budget is not stored.
  EXPECT_FALSE(cache.insert(tokens(40, 5000), filled(40, 3)));
}

TEST(PrefixCache, ALongerPromptReplacesItsStoredPrefix) {
  PrefixCache cache(1 << 20, 4);
  ASSERT_TRUE(cache.insert(tokens(10, 0), filled(10, 0)));
  ASSERT_TRUE(cache.insert(tokens(20, 0), filled(20, 0)));
  EXPECT_EQ(cache.entries(), 1u);
  EXPECT_EQ(cache.lookup(tokens(30, 0)).tokens, 20);
}

const std::filesystem::path kModels = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "models";

std::shared_ptr<Model> load(size_t cache_bytes) {
  auto model = Model::load(kModels / "qwen2-32-tied-q8_0.gguf",
                           {.threads = 2, .prefix_cache_bytes = cache_bytes});
  EXPECT_TRUE(model) << (model ? "" : model.error().message);
  return model ? *model : nullptr;
}

GenerateRequest greedy(std::vector<TokenId> prompt) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = 12;
  return r;
}

// n made-up token ids from `base` (an instruction or a document, as far as the cache can tell).
std::vector<TokenId> made_up_tokens(int n, int base, int step, int span) {
  std::vector<TokenId> tokens;
  for (int i = 0; i < n; ++i) tokens.push_back(static_cast<TokenId>(base + (i * step) % span));
  return tokens;
}

// Every prompt's greedy generation, each on its own thread, all started together.
std::vector<GenerateResult> generate_at_once(Model& model,
                                             const std::vector<std::vector<TokenId>>& prompts) {
  std::vector<GenerateResult> results(prompts.size());
  std::vector<std::thread> callers;
  for (size_t c = 0; c < prompts.size(); ++c) {
    callers.emplace_back([&, c] {
      auto r = model.generate(greedy(prompts[c]));
      if (r) results[c] = std::move(*r);
    });
  }
  for (auto& t : callers) t.join();
  return results;
}

TEST(PrefixCacheGenerate, ASharedPrefixIsReusedAndChangesNothing) {
  auto cached = load(64 << 20);
  auto uncached = load(0);
  ASSERT_TRUE(cached && uncached);
  const std::vector<TokenId> document = made_up_tokens(120, 1000, 37, 5000);
  auto first = document;
  first.insert(first.end(), {785, 24615, 2790, 374});
  auto second = document;
  second.insert(second.end(), {9707, 1879, 64, 11, 293});

  auto a = cached->generate(greedy(first));
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cached_prompt_tokens, 0);
  EXPECT_EQ(a->cache_written_tokens, static_cast<int32_t>(first.size()));

  auto again = cached->generate(greedy(first));
  ASSERT_TRUE(again);
  EXPECT_EQ(again->cached_prompt_tokens, static_cast<int32_t>(first.size()) - 1);
  EXPECT_EQ(again->cache_written_tokens, 0);
  EXPECT_EQ(again->tokens, a->tokens);

  auto b = cached->generate(greedy(second));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->cached_prompt_tokens, static_cast<int32_t>(document.size()));
  auto reference = uncached->generate(greedy(second));
  ASSERT_TRUE(reference);
  EXPECT_EQ(reference->cached_prompt_tokens, 0);
  EXPECT_EQ(b->tokens, reference->tokens);

  // Exact generations always run the whole prompt; so do callers that opt out.
  auto exact = greedy(first);
  exact.exact = true;
  auto e = cached->generate(exact);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cached_prompt_tokens, 0);
  auto opt_out = greedy(first);
  opt_out.cache_prompt = false;
  auto o = cached->generate(opt_out);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->cached_prompt_tokens, 0);
  EXPECT_EQ(o->tokens, a->tokens);
}

TEST(PrefixCache, HoldsAPrefixOfAStoredEntry) {
  PrefixCache cache(1 << 20, 4);
  ASSERT_TRUE(cache.insert(tokens(10, 100), filled(10, 0)));
  EXPECT_TRUE(cache.holds(tokens(10, 100)));
  EXPECT_TRUE(cache.holds(tokens(6, 100)));
  EXPECT_FALSE(cache.holds(tokens(11, 100)));  // longer than what is stored
  EXPECT_FALSE(cache.holds(tokens(6, 101)));
  EXPECT_FALSE(cache.holds(tokens(3, 100)));  // under the minimum: never reused
}

TEST(PrefixCacheGenerate, ACheckpointReportsTheTokensItWrote) {
  auto cached = load(64 << 20);
  ASSERT_TRUE(cached);
  std::vector<TokenId> document;
  for (int i = 0; i < 120; ++i) document.push_back(static_cast<TokenId>(1000 + (i * 41) % 5000));
  auto first = document;
  first.insert(first.end(), {785, 24615, 2790, 374});
  auto second = document;
  second.insert(second.end(), {9707, 1879, 64, 11, 293});

  auto with_point = greedy(first);
  with_point.cache_prefix_tokens = 100;
  auto a = cached->generate(with_point);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->cached_prompt_tokens, 0);
  EXPECT_EQ(a->checkpoint_written_tokens, 100);
  // The same checkpoint again: read, not written.
  auto read = greedy(second);
  read.cache_prefix_tokens = 100;
  auto b = cached->generate(read);
  ASSERT_TRUE(b);
  EXPECT_EQ(b->cached_prompt_tokens, static_cast<int32_t>(document.size()));
  EXPECT_EQ(b->checkpoint_written_tokens, 0);
  // A later checkpoint writes only what the cache lacked.
  auto further = second;
  further.insert(further.end(), {5, 6, 7});
  auto longer = greedy(further);
  longer.cache_prefix_tokens = static_cast<int32_t>(second.size()) + 2;
  auto c = cached->generate(longer);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cached_prompt_tokens, static_cast<int32_t>(second.size()));
  EXPECT_EQ(c->checkpoint_written_tokens, 2);
  // Without a prefix cache nothing is written or read.
  auto uncached = load(0);
  ASSERT_TRUE(uncached);
  auto d = uncached->generate(with_point);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->checkpoint_written_tokens, 0);
}

TEST(PrefixCacheGenerate, ConcurrentCallsSharingAPrefixMatchAnUncachedModel) {
  // Lookups run on the callers' threads while inserts run on the scheduler's.
  auto cached = load(64 << 20);
  auto uncached = load(0);
  ASSERT_TRUE(cached && uncached);
  const std::vector<TokenId> shared = made_up_tokens(80, 2000, 53, 7000);
  std::vector<std::vector<TokenId>> prompts;
  for (int c = 0; c < 6; ++c) {
    prompts.push_back(shared);
    prompts.back().insert(prompts.back().end(), {static_cast<TokenId>(300 + c), 11, 12});
  }
  for (int round = 0; round < 2; ++round) {
    const auto results = generate_at_once(*cached, prompts);
    for (size_t c = 0; c < prompts.size(); ++c) {
      auto reference = uncached->generate(greedy(prompts[c]));
      ASSERT_TRUE(reference);
      EXPECT_EQ(results[c].tokens, reference->tokens) << "round " << round << " prompt " << c;
    }
  }
  // The second round found the shared prefix stored.
  auto again = cached->generate(greedy(prompts[0]));
  ASSERT_TRUE(again);
  EXPECT_GE(again->cached_prompt_tokens, static_cast<int32_t>(shared.size()));
}

TEST(PrefixCacheGenerate, RequestsArrivingTogetherComputeTheirSharedPrefixOnce) {
  // Six calls with the same instructions and different documents, all at once on a cold cache:
  // the first admitted computes the shared prefix, the others wait for it and reuse it, whatever
  // the order in which their threads arrive.
  auto cached = load(64 << 20);
  auto uncached = load(0);
  ASSERT_TRUE(cached && uncached);
  const std::vector<TokenId> shared = made_up_tokens(200, 3000, 71, 9000);
  std::vector<std::vector<TokenId>> prompts;
  for (int c = 0; c < 6; ++c) {
    prompts.push_back(shared);
    const auto document = made_up_tokens(5 + c, 400 + 17 * c, 1, 1000);
    prompts.back().insert(prompts.back().end(), document.begin(), document.end());
  }
  const auto results = generate_at_once(*cached, prompts);
  int computed = 0;
  for (size_t c = 0; c < prompts.size(); ++c) {
    if (results[c].cached_prompt_tokens < static_cast<int32_t>(shared.size())) ++computed;
    auto reference = uncached->generate(greedy(prompts[c]));
    ASSERT_TRUE(reference);
    EXPECT_EQ(results[c].tokens, reference->tokens) << "call " << c;
  }
  EXPECT_EQ(computed, 1) << "the shared prefix was computed by more than one call";
}

}  // namespace
}  // namespace plinth::engine
