// Token sampling (greedy, temperature, top-k, top-p, min-p, seeded) and raw-logit log-probs,
// without sorting the vocabulary: vector passes plus selection over small candidate sets.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "ops/sampling_kernels.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params);
  // Picks a token; tokens whose logit is -inf are never chosen. nullopt when every token is -inf.
  std::optional<TokenId> sample(std::span<const float> logits);
  // The distribution sample() draws from: every token it can pick with its probability, most
  // likely first. For tests and benchmarks.
  std::vector<std::pair<TokenId, double>> distribution(std::span<const float> logits);

 private:
  // Leaves in ids_/values_/weights_ the tokens that can be drawn (weight > 0) and returns their
  // total weight; 0 when no token can be drawn.
  double select(std::span<const float> logits);
  void keep_top_k(std::span<const float> logits, float floor);
  // Zeroes the weights past the top-p cut. best and floor bound the candidates' logits.
  void cut_top_p(double total, float best, float floor);
  void ensure_capacity(size_t n);
  uint32_t id_at(size_t i) const { return identity_ ? static_cast<uint32_t>(i) : ids_[i]; }

  SamplingParams params_;
  std::mt19937_64 rng_;
  const kernels::SamplingKernels& kernels_;
  // The candidates: count_ logits at values_ with their weights; token ids are the positions
  // (identity_, when every token is a candidate and values_ points at the logits) or ids_.
  size_t count_ = 0;
  bool identity_ = false;
  const float* values_ = nullptr;
  // Scratch, reused between tokens (only grows).
  std::vector<uint32_t> ids_;
  std::vector<float> value_store_;
  std::vector<float> weights_;
  std::vector<double> block_sums_;  // weights_ summed per kernels::kSumBlock
  std::vector<uint32_t> bracket_;
  std::vector<float> bracket_values_[2], bracket_weights_[2];
};

// log(sum(exp(logits))) (float weights summed in double; relative error ~1e-7).
double log_sum_exp(std::span<const float> logits);
// The k most likely tokens by raw logit with their log-softmax, most likely first (ties: lower id).
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k, double lse);

// The k most likely (logit, token) pairs among the tokens with logit >= floor, most likely first
// (ties: lower id). Thins the vocabulary with a threshold taken from a sample before selecting.
// Unsorted when `sorted` is false.
std::vector<std::pair<float, TokenId>> top_tokens(std::span<const float> logits, size_t k,
                                                  float floor, bool sorted = true);

}  // namespace plinth::engine
