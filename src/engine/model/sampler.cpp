// Sampler: temperature, then top-k, top-p and min-p cuts, then one seeded draw.
#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plinth::engine {
namespace {

bool more_likely(const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

Sampler::Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

std::optional<TokenId> Sampler::sample(std::span<const float> logits) {
  const float kNegInf = -std::numeric_limits<float>::infinity();
  if (params_.temperature <= 0.0f) {
    std::optional<TokenId> best;
    float best_logit = kNegInf;
    for (size_t i = 0; i < logits.size(); ++i) {
      if (logits[i] > best_logit) {
        best_logit = logits[i];
        best = static_cast<TokenId>(i);
      }
    }
    return best;
  }
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] != kNegInf)
      candidates_.emplace_back(logits[i] / params_.temperature, static_cast<TokenId>(i));
  if (candidates_.empty()) return std::nullopt;
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < candidates_.size()) {
    std::nth_element(candidates_.begin(), candidates_.begin() + params_.top_k, candidates_.end(),
                     more_likely);
    candidates_.resize(static_cast<size_t>(params_.top_k));
  }
  std::sort(candidates_.begin(), candidates_.end(), more_likely);
  // Probabilities (unnormalised) in place of the scaled logits.
  const float max_logit = candidates_.front().first;
  double total = 0;
  for (auto& c : candidates_) {
    c.first = std::exp(c.first - max_logit);
    total += c.first;
  }
  size_t keep = candidates_.size();
  if (params_.top_p < 1.0f) {
    double cumulative = 0;
    for (size_t i = 0; i < candidates_.size(); ++i) {
      cumulative += candidates_[i].first / total;
      if (cumulative >= params_.top_p) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {
    // The most likely candidate has probability weight 1 (exp(0)).
    size_t n = 1;
    while (n < keep && candidates_[n].first >= params_.min_p) ++n;
    keep = n;
  }
  double kept_total = 0;
  for (size_t i = 0; i < keep; ++i) kept_total += candidates_[i].first;
  // 53 random bits -> uniform [0, 1).
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * kept_total;
  double cumulative = 0;
  for (size_t i = 0; i < keep; ++i) {
    cumulative += candidates_[i].first;
    if (u < cumulative) return candidates_[i].second;
  }
  return candidates_[keep - 1].second;
}

double log_sum_exp(std::span<const float> logits) {
  float max = -std::numeric_limits<float>::infinity();
  for (float v : logits) max = std::max(max, v);
  double sum = 0;
  for (float v : logits) sum += std::exp(static_cast<double>(v) - max);
  return max + std::log(sum);
}

std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k, double lse) {
  std::vector<std::pair<float, TokenId>> best;
  best.reserve(static_cast<size_t>(k) + 1);
  for (size_t i = 0; i < logits.size(); ++i) {
    std::pair<float, TokenId> item(logits[i], static_cast<TokenId>(i));
    if (static_cast<int32_t>(best.size()) < k) {
      best.push_back(item);
      std::push_heap(best.begin(), best.end(), more_likely);  // heap top = least likely kept
    } else if (k > 0 && more_likely(item, best.front())) {
      std::pop_heap(best.begin(), best.end(), more_likely);
      best.back() = item;
      std::push_heap(best.begin(), best.end(), more_likely);
    }
  }
  std::sort(best.begin(), best.end(), more_likely);
  std::vector<TokenLogprob> out;
  out.reserve(best.size());
  for (const auto& [logit, id] : best) out.push_back({id, static_cast<float>(logit - lse)});
  return out;
}

}  // namespace plinth::engine
