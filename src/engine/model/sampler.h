// Token sampling (greedy, temperature, top-k, top-p, min-p, seeded) and raw-logit log-probs.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "plinth/engine/engine.h"

namespace plinth::engine {

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Picks a token; tokens whose logit is -inf are never chosen. nullopt when every token is -inf.
  std::optional<TokenId> sample(std::span<const float> logits);

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, TokenId>> candidates_;  // reused scratch
};

// log(sum(exp(logits))), computed stably in double.
double log_sum_exp(std::span<const float> logits);
// The k most likely tokens by raw logit with their log-softmax, most likely first (ties: lower id).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k, double lse);

}  // namespace plinth::engine
