// The textbook sampler: sort every candidate, then cut. Kept as the oracle the fast Sampler is
// tested against and as the baseline its benchmark measures in the same run.
#pragma once

#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "plinth/engine/engine.h"

namespace plinth::engine {

class ReferenceSampler {
 public:
  explicit ReferenceSampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}
  std::optional<TokenId> sample(std::span<const float> logits);
  // Every token sample() can pick with its probability, most likely first.
  std::vector<std::pair<TokenId, double>> distribution(std::span<const float> logits);

 private:
  // Sorted candidates (probability weight, token) cut to those that can be drawn.
  void candidates(std::span<const float> logits);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<std::pair<float, TokenId>> candidates_;
};

}  // namespace plinth::engine
