// Selection over a vocabulary's logits without sorting it: the k most likely tokens (threshold
// from block maxima or a strided sample, then one compaction) and the log-sum-exp that log-probs
// need.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "plinth/engine/engine.h"

namespace plinth::engine {

// Most likely first: the larger logit, then the lower id. A function object (not a function
// pointer) so that sorts and selections inline it.
inline constexpr auto more_likely = [](const std::pair<float, TokenId>& a,
                                       const std::pair<float, TokenId>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
};

// log(sum(exp(logits))) (float weights summed in double; relative error ~1e-7).
double log_sum_exp(std::span<const float> logits);
// The same with the largest logit already known.
double log_sum_exp(std::span<const float> logits, float best);
// The k most likely tokens by raw logit with their log-softmax, most likely first (ties: lower id);
// block_max as for top_tokens.
std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k, double lse,
                                       std::span<const float> block_max = {});

// The k most likely (logit, token) pairs among the tokens with logit >= floor, most likely first
// (ties: lower id). Thins the vocabulary with a threshold before selecting: the k-th largest of
// block_max (the logits' maximum per kernels::kMaxBlock, when given and k is at most their count;
// only the blocks reaching it are read), else one taken from a sample. Unsorted when `sorted` is
// false.
std::vector<std::pair<float, TokenId>> top_tokens(std::span<const float> logits, size_t k,
                                                  float floor, bool sorted = true,
                                                  std::span<const float> block_max = {});

}  // namespace plinth::engine
