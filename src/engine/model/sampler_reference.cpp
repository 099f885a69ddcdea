// ReferenceSampler: temperature, full sort, top-k, top-p, then min-p, by definition.
#include "model/sampler_reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plinth::engine {
namespace {

bool more_likely(const std::pair<float, TokenId>& a, const std::pair<float, TokenId>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

}  // namespace

void ReferenceSampler::candidates(std::span<const float> logits) {
  const float kNegInf = -std::numeric_limits<float>::infinity();
  candidates_.clear();
  for (size_t i = 0; i < logits.size(); ++i)
    if (logits[i] != kNegInf)
      candidates_.emplace_back(logits[i] / params_.temperature, static_cast<TokenId>(i));
  if (candidates_.empty()) return;
  std::sort(candidates_.begin(), candidates_.end(), more_likely);
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < candidates_.size())
    candidates_.resize(static_cast<size_t>(params_.top_k));
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
      cumulative += candidates_[i].first;
      if (cumulative >= params_.top_p * total) {
        keep = i + 1;
        break;
      }
    }
  }
  if (params_.min_p > 0.0f) {  // the most likely candidate has weight 1 (exp(0))
    size_t n = 1;
    while (n < keep && candidates_[n].first >= params_.min_p) ++n;
    keep = n;
  }
  candidates_.resize(keep);
}

std::optional<TokenId> ReferenceSampler::sample(std::span<const float> logits) {
  if (params_.temperature <= 0.0f) {
    std::optional<TokenId> best;
    float best_logit = -std::numeric_limits<float>::infinity();
    for (size_t i = 0; i < logits.size(); ++i) {
      if (logits[i] > best_logit) {
        best_logit = logits[i];
        best = static_cast<TokenId>(i);
      }
    }
    return best;
  }
  candidates(logits);
  if (candidates_.empty()) return std::nullopt;
  double total = 0;
  for (const auto& c : candidates_) total += c.first;
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53 * total;
  double cumulative = 0;
  for (const auto& c : candidates_) {
    cumulative += c.first;
    if (u < cumulative) return c.second;
  }
  return candidates_.back().second;
}

std::vector<std::pair<TokenId, double>> ReferenceSampler::distribution(
    std::span<const float> logits) {
  std::vector<std::pair<TokenId, double>> out;
  if (params_.temperature <= 0.0f) {
    if (auto token = sample(logits)) out.emplace_back(*token, 1.0);
    return out;
  }
  candidates(logits);
  double total = 0;
  for (const auto& c : candidates_) total += c.first;
  for (const auto& c : candidates_) out.emplace_back(c.second, c.first / total);
  return out;
}

}  // namespace plinth::engine
