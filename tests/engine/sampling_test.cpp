// Sampler: greedy, temperature, top-k, top-p, min-p, seeds; raw-logit log-probs.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "model/sampler.h"

namespace plinth::engine {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::vector<float> logits_for(std::vector<double> probabilities) {
  std::vector<float> out;
  for (double p : probabilities) out.push_back(static_cast<float>(std::log(p)));
  return out;
}

std::map<TokenId, int> histogram(const SamplingParams& params, const std::vector<float>& logits,
                                 int draws) {
  Sampler sampler(params);
  std::map<TokenId, int> counts;
  for (int i = 0; i < draws; ++i) ++counts[*sampler.sample(logits)];
  return counts;
}

TEST(Sampler, GreedyPicksTheLargestFiniteLogit) {
  Sampler sampler({});
  EXPECT_EQ(sampler.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 2.9f}), 1);
  EXPECT_EQ(sampler.sample(std::vector<float>{kNegInf, kNegInf, -50.0f}), 2);
  EXPECT_EQ(sampler.sample(std::vector<float>{kNegInf, kNegInf}), std::nullopt);
}

TEST(Sampler, SameSeedGivesSameSequenceAndOtherSeedsDiffer) {
  const auto logits = logits_for({0.2, 0.2, 0.2, 0.2, 0.2});
  auto draw = [&](uint64_t seed) {
    Sampler sampler({.temperature = 1.0f, .seed = seed});
    std::vector<TokenId> out;
    for (int i = 0; i < 64; ++i) out.push_back(*sampler.sample(logits));
    return out;
  };
  EXPECT_EQ(draw(42), draw(42));
  EXPECT_NE(draw(42), draw(43));
}

TEST(Sampler, TemperatureOneFollowsTheDistribution) {
  auto counts = histogram({.temperature = 1.0f, .seed = 1}, logits_for({0.75, 0.25}), 20000);
  EXPECT_NEAR(counts[0] / 20000.0, 0.75, 0.02);
  // A low temperature sharpens: 0.75^4 / (0.75^4 + 0.25^4) = 0.988.
  auto sharp = histogram({.temperature = 0.25f, .seed = 1}, logits_for({0.75, 0.25}), 20000);
  EXPECT_NEAR(sharp[0] / 20000.0, 0.988, 0.01);
}

TEST(Sampler, TopKKeepsOnlyTheKMostLikely) {
  const auto logits = logits_for({0.1, 0.3, 0.05, 0.25, 0.3});
  auto counts = histogram({.temperature = 1.0f, .top_k = 3, .seed = 3}, logits, 5000);
  EXPECT_EQ(counts.size(), 3u);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(counts[3], 0);
  EXPECT_GT(counts[4], 0);
  auto one = histogram({.temperature = 2.0f, .top_k = 1, .seed = 3}, logits, 200);
  EXPECT_EQ(one.size(), 1u);
  EXPECT_EQ(one.begin()->first, 1);  // tie with token 4: the lower id wins
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const auto logits = logits_for({0.05, 0.5, 0.15, 0.3});
  auto counts = histogram({.temperature = 1.0f, .top_p = 0.75f, .seed = 5}, logits, 5000);
  EXPECT_EQ(counts.size(), 2u);  // 0.5 + 0.3 reaches 0.75
  EXPECT_NEAR(counts[1] / 5000.0, 0.5 / 0.8, 0.03);
}

TEST(Sampler, MinPDropsTokensBelowAFractionOfTheBest) {
  const auto logits = logits_for({0.4, 0.25, 0.19, 0.16});
  auto counts = histogram({.temperature = 1.0f, .min_p = 0.5f, .seed = 9}, logits, 5000);
  EXPECT_EQ(counts.size(), 2u);  // 0.19 < 0.5 * 0.4
  EXPECT_GT(counts[0], counts[1]);
}

TEST(Sampler, MaskedTokensAreNeverDrawn) {
  auto logits = logits_for({0.25, 0.25, 0.25, 0.25});
  logits[1] = logits[3] = kNegInf;
  auto counts = histogram({.temperature = 1.0f, .seed = 11}, logits, 2000);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts.count(1), 0u);
}

TEST(Logprobs, TopAreLogSoftmaxOfRawLogitsMostLikelyFirst) {
  const std::vector<float> logits{1.0f, 3.0f, 2.0f, 3.0f, -1.0f};
  const double lse = log_sum_exp(logits);
  double expected_lse = 0;
  for (float v : logits) expected_lse += std::exp(static_cast<double>(v));
  EXPECT_NEAR(lse, std::log(expected_lse), 1e-6);  // float weights
  auto top = top_logprobs(logits, 3, lse);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].id, 1);
  EXPECT_EQ(top[1].id, 3);
  EXPECT_EQ(top[2].id, 2);
  EXPECT_NEAR(top[2].logprob, 2.0 - std::log(expected_lse), 1e-6);
  double total = 0;
  for (float v : logits) total += std::exp(v - lse);
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_EQ(top_logprobs(logits, 10, lse).size(), logits.size());
}

}  // namespace
}  // namespace plinth::engine
