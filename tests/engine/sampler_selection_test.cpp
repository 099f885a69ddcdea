// The fast sampler against the sort-everything reference on vocabulary-sized logits, and the
// vector sampling kernels against the portable ones.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <mutex>
#include <random>

#include "model/sampler.h"
#include "model/sampler_reference.h"
#include "ops/sampling_kernels.h"

namespace plinth::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr size_t kVocab = 151936;  // Qwen2's vocabulary
constexpr float kLowest = std::numeric_limits<float>::lowest();

enum class Shape { kFlat, kPeaked, kMasked, kTies };

std::vector<float> logits_of(Shape shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<float> out(kVocab);
  std::uniform_real_distribution<float> flat(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  for (size_t i = 0; i < kVocab; ++i) {
    switch (shape) {
      case Shape::kFlat:  // what random-weight fixtures produce
        out[i] = flat(rng);
        break;
      case Shape::kPeaked:  // a trained model: a few likely tokens and a long tail
        out[i] = normal(rng) + (i % 997 == 0 ? 12.0f : 0.0f);
        break;
      case Shape::kMasked:  // a schema mask: most tokens -inf
        out[i] = i % 7 == 3 ? flat(rng) : kNegInf;
        break;
      case Shape::kTies:  // few distinct values: ties at every cut
        out[i] = static_cast<float>(rng() % 5);
        break;
    }
  }
  return out;
}

double total_variation(const std::vector<std::pair<TokenId, double>>& a,
                       const std::vector<std::pair<TokenId, double>>& b, size_t* only_one) {
  std::map<TokenId, std::pair<double, double>> joined;
  for (const auto& [id, p] : a) joined[id].first = p;
  for (const auto& [id, p] : b) joined[id].second = p;
  double tv = 0;
  *only_one = 0;
  for (const auto& [id, pq] : joined) {
    tv += std::abs(pq.first - pq.second);
    // Tokens below e^-40 of the best are pruned on purpose; count only those that matter.
    if ((pq.first == 0) != (pq.second == 0) && std::max(pq.first, pq.second) > 1e-12) ++*only_one;
  }
  return tv / 2;
}

struct Case {
  float temperature;
  int32_t top_k;
  float top_p;
  float min_p;
};

TEST(SamplerSelection, DrawsFromTheSameDistributionAsSortingEverything) {
  const Case cases[] = {{1.0f, 0, 1.0f, 0.0f},  {0.7f, 0, 1.0f, 0.0f},   {1.0f, 40, 1.0f, 0.0f},
                        {1.0f, 1, 1.0f, 0.0f},  {1.0f, 500, 0.9f, 0.0f}, {1.0f, 0, 0.9f, 0.0f},
                        {0.5f, 0, 0.5f, 0.0f},  {1.0f, 0, 0.999f, 0.0f}, {1.0f, 0, 1.0f, 0.05f},
                        {1.3f, 0, 0.95f, 0.3f}, {1.0f, 250, 0.95f, 0.1f}};
  for (Shape shape : {Shape::kFlat, Shape::kPeaked, Shape::kMasked, Shape::kTies}) {
    const auto logits = logits_of(shape, 7 + static_cast<uint64_t>(shape));
    for (const Case& c : cases) {
      const SamplingParams params{.temperature = c.temperature,
                                  .top_k = c.top_k,
                                  .top_p = c.top_p,
                                  .min_p = c.min_p,
                                  .seed = 1};
      const auto fast = Sampler(params).distribution(logits);
      const auto reference = ReferenceSampler(params).distribution(logits);
      size_t only_one = 0;
      const double tv = total_variation(fast, reference, &only_one);
      SCOPED_TRACE(testing::Message()
                   << "shape " << static_cast<int>(shape) << " T " << c.temperature << " k "
                   << c.top_k << " p " << c.top_p << " min_p " << c.min_p);
      EXPECT_LT(tv, 1e-4);
      // Float sums in another order may move the top-p cut by a token.
      EXPECT_LE(only_one, 2u);
      ASSERT_FALSE(fast.empty());
      EXPECT_EQ(fast.front().first, reference.front().first);
      if (c.top_k > 0) {
        EXPECT_LE(fast.size(), static_cast<size_t>(c.top_k));
      }
    }
  }
}

TEST(SamplerSelection, PassesSplitOnThePoolDrawTheSameAsOneThread) {
  ThreadPool pool(2);
  std::mutex pool_mutex;
  const PassThreads lent{.pool = &pool, .mutex = &pool_mutex};
  const Case cases[] = {{0.0f, 0, 1.0f, 0.0f},  {1.0f, 0, 1.0f, 0.0f},  {0.7f, 0, 0.9f, 0.0f},
                        {1.0f, 0, 0.9f, 0.05f}, {1.0f, 40, 1.0f, 0.0f}, {0.7f, 0, 1.0f, 0.05f}};
  for (Shape shape : {Shape::kFlat, Shape::kPeaked, Shape::kMasked, Shape::kTies}) {
    const auto logits = logits_of(shape, 31 + static_cast<uint64_t>(shape));
    ASSERT_GE(logits.size(), 65536u);  // large enough to be split
    for (const Case& c : cases) {
      const SamplingParams params{.temperature = c.temperature,
                                  .top_k = c.top_k,
                                  .top_p = c.top_p,
                                  .min_p = c.min_p,
                                  .seed = 9};
      SCOPED_TRACE(testing::Message() << "shape " << static_cast<int>(shape) << " T "
                                      << c.temperature << " k " << c.top_k << " p " << c.top_p);
      Sampler alone(params, true), split(params, true, lent);
      int same = 0;
      constexpr int kDraws = 200;
      for (int i = 0; i < kDraws; ++i) {
        const auto a = alone.sample(logits), b = split.sample(logits);
        ASSERT_EQ(a.has_value(), b.has_value());
        same += a == b;
        // Log-probs: the same sum and the same tokens.
        const double lse = alone.raw_log_sum_exp(logits);
        EXPECT_NEAR(split.raw_log_sum_exp(logits), lse, 1e-9);
        const auto top_a = alone.top_logprobs(logits, 5, lse);
        const auto top_b = split.top_logprobs(logits, 5, lse);
        ASSERT_EQ(top_a.size(), top_b.size());
        for (size_t j = 0; j < top_a.size(); ++j) EXPECT_EQ(top_a[j].id, top_b[j].id);
      }
      // The same seed draws the same tokens; the halves' sums add in another order, which may
      // move a draw that lands within rounding of a boundary.
      EXPECT_GE(same, kDraws - 2);
    }
  }
}

TEST(SamplerSelection, DrawsFollowTheDistributionAtVocabularySize) {
  // Peaked logits with top-p: draws land only on kept tokens, at their frequencies.
  const auto logits = logits_of(Shape::kPeaked, 3);
  const SamplingParams params{.temperature = 1.0f, .top_p = 0.9f, .seed = 5};
  const auto expected = Sampler(params).distribution(logits);
  std::map<TokenId, double> p(expected.begin(), expected.end());
  Sampler sampler(params);
  std::map<TokenId, int> counts;
  constexpr int kDraws = 4000;
  for (int i = 0; i < kDraws; ++i) ++counts[*sampler.sample(logits)];
  for (const auto& [id, n] : counts) EXPECT_TRUE(p.count(id)) << "token " << id << " was cut";
  const TokenId top = expected.front().first;
  EXPECT_NEAR(counts[top] / static_cast<double>(kDraws), p[top], 0.03);
}

TEST(SamplerSelection, RejectedDrawsKeepTheTopPCutAmongTies) {
  // Five values, so the top-p cut falls inside the largest one's tokens and the tie rule (lower
  // ids kept) decides. The draw rejects tokens past the cut instead of zeroing them; every draw
  // must be a kept token, spread evenly over them (equal logits).
  const auto logits = logits_of(Shape::kTies, 19);
  const SamplingParams params{.temperature = 1.0f, .top_p = 0.5f, .seed = 9};
  const auto kept = Sampler(params).distribution(logits);
  ASSERT_GT(kept.size(), 100u);
  std::map<TokenId, double> p(kept.begin(), kept.end());
  double mean_kept = 0;
  for (const auto& [id, q] : kept) mean_kept += static_cast<double>(id) / kept.size();
  Sampler sampler(params);
  constexpr int kDraws = 20000;
  double mean_drawn = 0;
  for (int i = 0; i < kDraws; ++i) {
    const TokenId id = *sampler.sample(logits);
    ASSERT_TRUE(p.count(id)) << "token " << id << " is past the cut";
    mean_drawn += static_cast<double>(id) / kDraws;
  }
  // Uniform over the kept ids: the mean's standard error is under 1% of the vocabulary here.
  EXPECT_NEAR(mean_drawn, mean_kept, 0.01 * static_cast<double>(kVocab));
}

TEST(SamplerSelection, BandDrawsFollowTheCutDistributionOnFlatLogits) {
  // Flat logits: the nucleus is most of the vocabulary, so the cut is only bracketed by the exp
  // pass and resolved when a draw lands near it. Draws must stay in the nucleus, with the mass of
  // each tenth of it (by likelihood) as the exact distribution gives it.
  for (const float min_p : {0.0f, 0.6f}) {
    const auto logits = logits_of(Shape::kFlat, 29);
    const SamplingParams params{.temperature = 0.7f, .top_p = 0.9f, .min_p = min_p, .seed = 4};
    const auto kept = Sampler(params).distribution(logits);
    ASSERT_GT(kept.size(), 1000u);
    std::map<TokenId, size_t> tenth;
    double expected[10] = {};
    for (size_t r = 0; r < kept.size(); ++r) {
      tenth[kept[r].first] = r * 10 / kept.size();
      expected[r * 10 / kept.size()] += kept[r].second;
    }
    Sampler sampler(params);
    constexpr int kDraws = 20000;
    double drawn[10] = {};
    for (int i = 0; i < kDraws; ++i) {
      const TokenId id = *sampler.sample(logits);
      const auto at = tenth.find(id);
      ASSERT_NE(at, tenth.end()) << "token " << id << " is outside the nucleus";
      drawn[at->second] += 1.0 / kDraws;
    }
    for (int b = 0; b < 10; ++b) EXPECT_NEAR(drawn[b], expected[b], 0.012) << "tenth " << b;
  }
}

TEST(SamplerSelection, HeavyTailDrawsFollowTheNucleusOnPeakedLogits) {
  // Peaked logits: a few tokens carry the mass, so no band is predicted. When the few hundred
  // most likely tokens reach p (0.9, 0.99) the cut is found among them; when they do not (0.999)
  // every draw's token is checked against the weight ahead of it. Draws must stay in the nucleus,
  // with the mass of each tenth of it (by cumulative probability, most likely first) as the exact
  // distribution gives it.
  for (const float top_p : {0.999f, 0.99f, 0.9f}) {
    const auto logits = logits_of(Shape::kPeaked, 31);
    const SamplingParams params{.temperature = 1.0f, .top_p = top_p, .seed = 8};
    const auto kept = Sampler(params).distribution(logits);
    ASSERT_GT(kept.size(), 5u);
    std::map<TokenId, int> tenth;
    double expected[10] = {};
    double cumulative = 0;
    for (const auto& [id, q] : kept) {
      const int bin = std::min(9, static_cast<int>(cumulative * 10));
      tenth[id] = bin;
      expected[bin] += q;
      cumulative += q;
    }
    Sampler sampler(params);
    constexpr int kDraws = 20000;
    double drawn[10] = {};
    for (int i = 0; i < kDraws; ++i) {
      const TokenId id = *sampler.sample(logits);
      const auto at = tenth.find(id);
      ASSERT_NE(at, tenth.end()) << "token " << id << " is outside the nucleus (p " << top_p << ")";
      drawn[at->second] += 1.0 / kDraws;
    }
    for (int b = 0; b < 10; ++b) EXPECT_NEAR(drawn[b], expected[b], 0.012) << "tenth " << b;
  }
}

TEST(SamplerSelection, TemperatureOneSharesTheLogSumExpWithLogprobs) {
  for (Shape shape : {Shape::kFlat, Shape::kPeaked, Shape::kMasked}) {
    const auto logits = logits_of(shape, 23);
    Sampler at_one({.temperature = 1.0f, .top_p = 0.9f, .seed = 1}, /*log_sum_exp_wanted=*/true);
    ASSERT_TRUE(at_one.sample(logits));
    ASSERT_TRUE(at_one.last_log_sum_exp());
    EXPECT_NEAR(*at_one.last_log_sum_exp(), log_sum_exp(logits), 1e-6);
    // Other weights: the same pass takes a second exponential for the raw sum.
    Sampler cooler({.temperature = 0.7f, .min_p = 0.05f, .seed = 1}, true);
    ASSERT_TRUE(cooler.sample(logits));
    ASSERT_TRUE(cooler.last_log_sum_exp());
    EXPECT_NEAR(*cooler.last_log_sum_exp(), log_sum_exp(logits), 1e-6);
    // A draw after a schema mask takes no log-sum-exp (the step's log-probs came before it).
    Sampler masked({.temperature = 0.7f, .min_p = 0.05f, .seed = 1}, true);
    ASSERT_EQ(masked.sample_masked(logits),
              Sampler({.temperature = 0.7f, .min_p = 0.05f, .seed = 1}).sample(logits));
    EXPECT_FALSE(masked.last_log_sum_exp());
    Sampler unasked({.temperature = 0.7f, .seed = 1});
    ASSERT_TRUE(unasked.sample(logits));
    EXPECT_FALSE(unasked.last_log_sum_exp());
    // ...then from the largest logit the sample found (the same sum, one pass fewer).
    EXPECT_NEAR(unasked.raw_log_sum_exp(logits), log_sum_exp(logits), 1e-9);
    Sampler greedy({});
    ASSERT_TRUE(greedy.sample(logits));
    EXPECT_NEAR(greedy.raw_log_sum_exp(logits), log_sum_exp(logits), 1e-9);
    Sampler top_k({.temperature = 1.0f, .top_k = 40, .seed = 1}, true);
    ASSERT_TRUE(top_k.sample(logits));
    EXPECT_FALSE(top_k.last_log_sum_exp());  // the candidates are not every token
    EXPECT_NEAR(top_k.raw_log_sum_exp(logits), log_sum_exp(logits), 1e-9);
    // Top log-probs from the block maxima match the whole-vocabulary selection.
    const double lse = top_k.raw_log_sum_exp(logits);
    const auto from_blocks = top_k.top_logprobs(logits, 5, lse);
    const auto everywhere = top_logprobs(logits, 5, lse);
    ASSERT_EQ(from_blocks.size(), everywhere.size());
    for (size_t j = 0; j < everywhere.size(); ++j) {
      EXPECT_EQ(from_blocks[j].id, everywhere[j].id);
      EXPECT_EQ(from_blocks[j].logprob, everywhere[j].logprob);
    }
  }
}

TEST(SamplerSelection, GreedyAndTopOneAgreeWithTheReference) {
  for (Shape shape : {Shape::kFlat, Shape::kPeaked, Shape::kMasked, Shape::kTies}) {
    const auto logits = logits_of(shape, 11);
    EXPECT_EQ(Sampler({}).sample(logits), ReferenceSampler({}).sample(logits));
    EXPECT_EQ(Sampler({.temperature = 1.0f, .top_k = 1}).sample(logits),
              ReferenceSampler({.temperature = 1.0f, .top_k = 1}).sample(logits));
  }
}

TEST(SamplerSelection, TopTokensAreTheKLargestInOrder) {
  const auto logits = logits_of(Shape::kTies, 13);
  std::vector<float> block_max((logits.size() + kernels::kMaxBlock - 1) / kernels::kMaxBlock);
  kernels::sampling_kernels().max(logits.data(), logits.size(), block_max.data());
  // The same k tokens from a sample's threshold and from the block maxima' threshold.
  for (Shape shape : {Shape::kFlat, Shape::kPeaked, Shape::kMasked, Shape::kTies}) {
    const auto row = logits_of(shape, 29);
    std::vector<float> maxima((row.size() + kernels::kMaxBlock - 1) / kernels::kMaxBlock);
    kernels::sampling_kernels().max(row.data(), row.size(), maxima.data());
    for (size_t k : {size_t{1}, size_t{5}, size_t{40}, maxima.size(), maxima.size() + 1}) {
      EXPECT_EQ(top_tokens(row, k, kNegInf, true, maxima), top_tokens(row, k, kNegInf)) << k;
      EXPECT_EQ(top_tokens(row, k, 0.5f, true, maxima), top_tokens(row, k, 0.5f)) << k;
    }
  }
  const auto top = top_tokens(logits, 20, kNegInf, true, block_max);
  ASSERT_EQ(top.size(), 20u);
  // Every token is a 4 (the largest value) with the lowest ids first.
  TokenId previous = -1;
  for (const auto& [value, id] : top) {
    EXPECT_EQ(value, 4.0f);
    EXPECT_GT(id, previous);
    previous = id;
  }
  size_t fours_below = 0;
  for (size_t i = 0; i < static_cast<size_t>(previous); ++i) fours_below += logits[i] == 4.0f;
  EXPECT_EQ(fours_below, 19u);
}

TEST(SamplingKernels, VectorTableMatchesPortable) {
  const auto& fast = kernels::sampling_kernels();
  const auto& portable = kernels::portable_sampling_kernels();
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<float> value(-30.0f, 0.0f);
  for (size_t n : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1023},
                   size_t{1025}, size_t{40000}}) {
    std::vector<float> x(n);
    for (size_t i = 0; i < n; ++i) x[i] = i % 5 == 0 ? kNegInf : value(rng);
    SCOPED_TRACE(n);
    EXPECT_EQ(fast.max(x.data(), n, nullptr), portable.max(x.data(), n, nullptr));
    EXPECT_EQ(fast.first_at_least(x.data(), n, -1.0f), portable.first_at_least(x.data(), n, -1.0f));
    const size_t room = n + kernels::kCompactSlack;
    std::vector<uint32_t> ia(room), ib(room);
    std::vector<float> va(room), vb(room);
    const size_t ca = fast.compact_in_range(x.data(), n, -10.0f, -2.0f, ia.data(), va.data());
    const size_t cb = portable.compact_in_range(x.data(), n, -10.0f, -2.0f, ib.data(), vb.data());
    ASSERT_EQ(ca, cb);
    for (size_t i = 0; i < ca; ++i) EXPECT_EQ(ia[i], ib[i]);
    for (size_t i = 0; i < ca; ++i) EXPECT_EQ(va[i], vb[i]);
    const float inf = std::numeric_limits<float>::infinity();
    const size_t ua = fast.compact_in_range(x.data(), n, -4.0f, inf, ia.data(), nullptr);
    const size_t ub = portable.compact_in_range(x.data(), n, -4.0f, inf, ib.data(), nullptr);
    ASSERT_EQ(ua, ub);
    for (size_t i = 0; i < ua; ++i) EXPECT_EQ(ia[i], ib[i]);
    std::vector<float> wa(n), wb(n);
    using kernels::ExpPass;
    const double sa =
        fast.exp_weights(x.data(), n,
                         {.max = 0.0f, .scale = 1.5f, .floor = kLowest, .weights = wa.data()})
            .total;
    const double sb =
        portable
            .exp_weights(x.data(), n,
                         {.max = 0.0f, .scale = 1.5f, .floor = kLowest, .weights = wb.data()})
            .total;
    EXPECT_NEAR(sa, sb, 1e-6 * std::max(1.0, sb));
    std::vector<double> blocks(n / kernels::kSumBlock + 1);
    EXPECT_NEAR(fast.exp_weights(
                        x.data(), n,
                        {.max = 0.0f, .scale = 1.5f, .floor = kLowest, .block_sums = blocks.data()})
                    .total,
                sa, 1e-12);
    double block_total = 0;
    for (double b : blocks) block_total += b;
    EXPECT_NEAR(block_total, sa, 1e-9 * std::max(1.0, sa));
    std::vector<float> floored(room);
    const double above_floor =
        fast.exp_weights(x.data(), n,
                         {.max = 0.0f, .scale = 1.5f, .floor = -7.0f, .weights = floored.data()})
            .total;
    EXPECT_NEAR(
        above_floor,
        portable.exp_weights(x.data(), n, {.max = 0.0f, .scale = 1.5f, .floor = -7.0f}).total,
        1e-6 * std::max(1.0, above_floor));
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(floored[i] == 0.0f, !(x[i] >= -7.0f)) << i;
    // A largest logit whose product with the scale rounds: the weights may share a factor within
    // 1e-6 of 1; the raw sum (what log-probs use) is exact to 1e-7 against double arithmetic.
    const float ends[2] = {-2.5f, -6.0f};
    for (float scale : {1.0f, 1.0f / 0.7f}) {
      std::vector<float> shifted(x);
      for (float& v : shifted) v += 3.7f;
      const ExpPass pass{.max = 3.7f,
                         .scale = scale,
                         .floor = -3.0f,
                         .weights = wa.data(),
                         .thresholds = ends,
                         .raw = true};
      const auto got = fast.exp_weights(shifted.data(), n, pass);
      const auto want = portable.exp_weights(
          shifted.data(), n,
          {.max = 3.7f, .scale = scale, .floor = -3.0f, .thresholds = ends, .raw = true});
      double raw = 0;
      for (float v : shifted) raw += std::exp(static_cast<double>(v) - static_cast<double>(3.7f));
      EXPECT_NEAR(got.raw, raw, 2e-7 * std::max(1.0, raw));
      EXPECT_NEAR(want.raw, raw, 1e-9 * std::max(1.0, raw));
      EXPECT_NEAR(got.total, want.total, 2e-6 * std::max(1.0, want.total));
      for (int k = 0; k < 2; ++k)
        EXPECT_NEAR(got.above[k], want.above[k], 2e-6 * std::max(1.0, want.above[k]));
    }
    // Block maxima: each kMaxBlock values' largest.
    std::vector<float> block_max(n / kernels::kMaxBlock + 1, 42.0f);
    EXPECT_EQ(fast.max(x.data(), n, block_max.data()), portable.max(x.data(), n, nullptr));
    for (size_t b = 0; b * kernels::kMaxBlock < n; ++b) {
      const size_t begin = b * kernels::kMaxBlock;
      EXPECT_EQ(block_max[b],
                portable.max(x.data() + begin, std::min(kernels::kMaxBlock, n - begin), nullptr));
    }
    fast.exp_weights(x.data(), n,
                     {.max = 0.0f, .scale = 1.5f, .floor = kLowest, .weights = wa.data()});
    for (size_t i = 0; i < n; ++i) {
      // The exponent is rounded to float: the error grows ~1e-7 per nat below the largest.
      const float nats = std::isfinite(x[i]) ? -1.5f * x[i] : 0.0f;
      EXPECT_NEAR(wa[i], wb[i], (2e-6f + 1e-7f * nats) * wb[i] + 1e-30f) << i;
      if (x[i] == kNegInf) {
        EXPECT_EQ(wa[i], 0.0f);
      }
    }
    // The weight ahead of a token: larger values, and ties at lower positions.
    for (size_t at : {size_t{0}, n / 3, n > 0 ? n - 1 : 0}) {
      if (at >= n) continue;
      const double ahead = portable.mass_before(x.data(), wb.data(), n, x[at], at);
      EXPECT_NEAR(fast.mass_before(x.data(), wb.data(), n, x[at], at), ahead,
                  1e-6 * std::max(1.0, ahead));
    }
    EXPECT_NEAR(fast.sum(wb.data(), n, nullptr), portable.sum(wb.data(), n, nullptr),
                1e-6 * std::max(1.0, sb));
    const float thresholds[kernels::kThresholds] = {-1, -2, -3, -5, -8, -13, -21, -29};
    double fa[kernels::kThresholds], fb[kernels::kThresholds];
    fast.sums_above(x.data(), wb.data(), n, thresholds, fa);
    portable.sums_above(x.data(), wb.data(), n, thresholds, fb);
    for (int k = 0; k < kernels::kThresholds; ++k)
      EXPECT_NEAR(fa[k], fb[k], 1e-6 * std::max(1.0, fb[k]));
    std::vector<uint32_t> ta(room), tb(room);
    std::vector<float> tva(room), tvb(room), twa(room), twb(room);
    double above_a = 0, above_b = 0;
    const size_t ka = fast.compact_triples_in_range(x.data(), wb.data(), n, -9.0f, -1.0f, ta.data(),
                                                    tva.data(), twa.data(), &above_a);
    const size_t kb = portable.compact_triples_in_range(
        x.data(), wb.data(), n, -9.0f, -1.0f, tb.data(), tvb.data(), twb.data(), &above_b);
    ASSERT_EQ(ka, kb);
    EXPECT_NEAR(above_a, above_b, 1e-6 * std::max(1.0, above_b));
    for (size_t i = 0; i < ka; ++i) {
      EXPECT_EQ(ta[i], tb[i]);
      EXPECT_EQ(tva[i], tvb[i]);
      EXPECT_EQ(twa[i], twb[i]);
    }
    fast.zero_where_less(x.data(), wa.data(), n, -5.0f);
    portable.zero_where_less(x.data(), wb.data(), n, -5.0f);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(wa[i] == 0.0f, wb[i] == 0.0f) << i;
  }
}

}  // namespace
}  // namespace plinth::engine
