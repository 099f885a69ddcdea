// Top-k selection and log-sum-exp over a vocabulary's logits (see logit_selection.h).
#include "model/logit_selection.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "ops/sampling_kernels.h"

namespace plinth::engine {
namespace {

// Strided sample used to place a threshold when there are no block maxima.
constexpr size_t kSample = 2048;
// Vocabularies this small (beyond 4k) are compacted without a threshold.
constexpr size_t kSelectDirectly = 1024;

// Every token with logit >= threshold among the blocks whose maximum reaches it.
size_t compact_blocks_reaching(std::span<const float> logits, std::span<const float> block_max,
                               float threshold, uint32_t* index) {
  const auto& kernels = kernels::sampling_kernels();
  size_t count = 0;
  for (size_t b = 0; b < block_max.size(); ++b) {
    if (!(block_max[b] >= threshold)) continue;
    const size_t begin = b * kernels::kMaxBlock;
    const size_t len = std::min(kernels::kMaxBlock, logits.size() - begin);
    const size_t found = kernels.compact_in_range(logits.data() + begin, len, threshold, kPosInf,
                                                  index + count, nullptr);
    for (size_t j = count; j < count + found; ++j) index[j] += static_cast<uint32_t>(begin);
    count += found;
  }
  return count;
}

// A threshold that a little more than k of the logits reach, placed from a strided sample
// (`floor` when the sample cannot tell).
float sampled_threshold(std::span<const float> logits, size_t k, float floor) {
  const size_t n = logits.size();
  if (k == 0 || n <= 4 * k + kSelectDirectly) return floor;
  const double expected = static_cast<double>(k) * kSample / static_cast<double>(n);
  const auto rank = static_cast<size_t>(expected + 4.0 * std::sqrt(expected) + 8.0);
  if (rank >= kSample) return floor;
  float sample[kSample];
  for (size_t j = 0; j < kSample; ++j) sample[j] = logits[j * n / kSample];
  std::nth_element(sample, sample + rank, sample + kSample, std::greater<>());
  return std::max(floor, sample[rank]);
}

}  // namespace

std::vector<std::pair<float, TokenId>> top_tokens(std::span<const float> logits, size_t k,
                                                  float floor, bool sorted,
                                                  std::span<const float> block_max) {
  const auto& kernels = kernels::sampling_kernels();
  const size_t n = logits.size();
  thread_local std::vector<uint32_t> index;
  if (index.size() < n + kernels::kCompactSlack) index.resize(n + kernels::kCompactSlack);
  size_t count = 0;
  if (k > 0 && k <= block_max.size()) {
    // k blocks reach their k-th largest maximum, each with a token at least that large.
    thread_local std::vector<float> maxima;
    maxima.assign(block_max.begin(), block_max.end());
    std::nth_element(maxima.begin(), maxima.begin() + static_cast<ptrdiff_t>(k - 1), maxima.end(),
                     std::greater<>());
    const float threshold = std::max(floor, maxima[k - 1]);
    count = compact_blocks_reaching(logits, block_max, threshold, index.data());
  } else {
    const float threshold = sampled_threshold(logits, k, floor);
    count = kernels.compact_in_range(logits.data(), n, threshold, kPosInf, index.data(), nullptr);
    if (count < k && threshold > floor)
      count = kernels.compact_in_range(logits.data(), n, floor, kPosInf, index.data(), nullptr);
  }
  std::vector<std::pair<float, TokenId>> best;
  best.reserve(count);
  for (size_t i = 0; i < count; ++i)
    best.emplace_back(logits[index[i]], static_cast<TokenId>(index[i]));
  if (k < best.size()) {
    std::nth_element(best.begin(), best.begin() + static_cast<ptrdiff_t>(k), best.end(),
                     more_likely);
    best.resize(k);
  }
  if (sorted) std::sort(best.begin(), best.end(), more_likely);
  return best;
}

double log_sum_exp(std::span<const float> logits) {
  return log_sum_exp(logits,
                     kernels::sampling_kernels().max(logits.data(), logits.size(), nullptr));
}

double log_sum_exp(std::span<const float> logits, float best) {
  const auto& kernels = kernels::sampling_kernels();
  if (!(best > kNegInf)) return kNegInf;
  const kernels::ExpSums sums = kernels.exp_weights(
      logits.data(), logits.size(),
      {.max = best, .scale = 1.0f, .floor = std::numeric_limits<float>::lowest(), .raw = true});
  return best + std::log(sums.raw);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k, double lse,
                                       std::span<const float> block_max) {
  std::vector<TokenLogprob> out;
  if (k <= 0) return out;
  for (const auto& [logit, id] :
       top_tokens(logits, static_cast<size_t>(k), kNegInf, true, block_max))
    out.push_back({id, static_cast<float>(logit - lse)});
  return out;
}

}  // namespace plinth::engine
