// Sampler: temperature, then top-k, top-p and min-p cuts, then one seeded draw. The vocabulary is
// only touched by vector passes (max, compaction, exp, masked sums); sorting is confined to ~k
// candidates for top-k and to a small bracket of logits around the top-p cut.
#include "model/sampler.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <utility>

namespace plinth::engine {
namespace {

// Tokens whose weight is below e^-40 of the best one are never drawn: together they carry under
// 1e-10 of the mass for any vocabulary below 2^24 tokens, far below the draw's resolution.
constexpr float kPruneNats = 40.0f;
// Candidate sets this small are sorted outright.
constexpr size_t kSortDirectly = 1024;
// A top-p bracket is narrowed (a cheap pass over it per step) until it is this small to sort.
constexpr size_t kSortBracket = 128;
// A top-p cut this wide (and no min-p cut past it) is drawn by rejection rather than applied.
constexpr float kRejectFromP = 0.25f;
constexpr int kMaxTries = 24;
// The band prediction: a strided sample of this many candidates, a histogram of this many
// buckets, and at least this effective sample size (heavy tails leave too few tokens that count).
constexpr size_t kBandSample = 1024;
constexpr int kBandBuckets = 256;
constexpr double kMinEffectiveSample = 64;
// With heavy tails, the nucleus is first looked for among this many most likely tokens.
constexpr size_t kHeavyCandidates = 256;

// Eight descending thresholds around where a strided sample of the bracket puts the cut: the
// logit above which the weight reaches `need`.
// With `narrow`, only two thresholds close around the predicted cut (cheap to test on the whole
// vocabulary: two masked sums instead of eight).
void place_thresholds(const float* v, const float* w, size_t n, double need, bool narrow,
                      float* thresholds) {
  constexpr size_t kPoints = 256;
  std::pair<float, float> sample[kPoints];
  for (size_t j = 0; j < kPoints; ++j) sample[j] = {v[j * n / kPoints], w[j * n / kPoints]};
  std::sort(sample, sample + kPoints, std::greater<>());
  const double scale = static_cast<double>(n) / kPoints;
  double cumulative = 0;
  size_t at = kPoints - 1;
  for (size_t j = 0; j < kPoints; ++j) {
    cumulative += sample[j].second * scale;
    if (cumulative >= need) {
      at = j;
      break;
    }
  }
  constexpr int kOffsets[kernels::kThresholds] = {-64, -32, -16, -6, 6, 16, 32, 64};
  constexpr int kNarrowOffsets[2] = {-12, 12};
  const int count = narrow ? 2 : kernels::kThresholds;
  for (int k = 0; k < count; ++k) {
    const int offset = narrow ? kNarrowOffsets[k] : kOffsets[k];
    const auto j = std::clamp<long>(static_cast<long>(at) + offset, 0, kPoints - 1);
    thresholds[k] = sample[j].first;
  }
}

}  // namespace

Sampler::Sampler(const SamplingParams& params, bool log_sum_exp_wanted, PassThreads threads)
    : params_(params),
      log_sum_exp_wanted_(log_sum_exp_wanted),
      threads_(threads),
      rng_(params.seed),
      kernels_(kernels::sampling_kernels()) {}

void Sampler::ensure_capacity(size_t n) {
  const size_t room = n + kernels::kCompactSlack;
  if (ids_.size() >= room) return;
  ids_.resize(room);
  value_store_.resize(room);
  weights_.resize(room);
  block_sums_.resize(room / kernels::kSumBlock + 1);
  block_max_.resize(room / kernels::kMaxBlock + 1);
  bracket_.resize(room);
  for (int i = 0; i < 2; ++i) {
    bracket_positions_[i].resize(room);
    bracket_values_[i].resize(room);
    bracket_weights_[i].resize(room);
  }
}

size_t Sampler::locate(double u) const {
  const float* w = weights_.data();
  double before = 0;
  for (size_t block = 0; block < count_; block += kernels::kSumBlock) {
    const size_t end = std::min(count_, block + kernels::kSumBlock);
    const double in_block = block_sums_[block / kernels::kSumBlock];
    if (u < before + in_block || end == count_) {
      // The sequential sum may round differently from the vector one: the last drawable token of
      // the block (or of the whole set) takes any remainder.
      size_t last = count_;
      for (size_t i = block; i < end; ++i) {
        if (w[i] <= 0.0f) continue;
        last = i;
        before += w[i];
        if (u < before) return i;
      }
      if (last != count_) return last;
      break;
    }
    before += in_block;
  }
  for (size_t i = count_; i-- > 0;)
    if (w[i] > 0.0f) return i;
  return count_;
}

double Sampler::raw_log_sum_exp(std::span<const float> logits) const {
  if (raw_lse_) return *raw_lse_;
  if (!last_best_) return log_sum_exp(logits);
  if (!(*last_best_ > kNegInf)) return kNegInf;
  const auto sums = exp_pass(logits.data(), logits.size(),
                             {.max = *last_best_,
                              .scale = 1.0f,
                              .floor = std::numeric_limits<float>::lowest(),
                              .raw = true});
  return static_cast<double>(*last_best_) + std::log(sums.raw);
}

std::vector<TokenLogprob> Sampler::top_logprobs(std::span<const float> logits, int32_t k,
                                                double lse) const {
  return engine::top_logprobs(logits, k, lse,
                              last_best_ ? block_maxima(logits.size()) : std::span<const float>());
}

std::span<const float> Sampler::block_maxima(size_t n) const {
  return std::span<const float>(block_max_)
      .first((n + kernels::kMaxBlock - 1) / kernels::kMaxBlock);
}

std::optional<TokenId> Sampler::sample(std::span<const float> logits) {
  raw_lse_.reset();
  last_best_.reset();
  if (params_.temperature <= 0.0f) {
    const size_t n = logits.size();
    ensure_capacity(n);
    const float best = max_of(logits);
    last_best_ = best;
    if (!(best > kNegInf)) return std::nullopt;
    // The first block holding the maximum holds the first token at it.
    size_t block = 0;
    while (block_max_[block] != best) ++block;
    const size_t begin = block * kernels::kMaxBlock;
    const size_t len = std::min(kernels::kMaxBlock, n - begin);
    return static_cast<TokenId>(begin + kernels_.first_at_least(logits.data() + begin, len, best));
  }
  double total = select(logits, /*materialize=*/false);
  if (!(total > 0)) return std::nullopt;
  // 53 random bits -> uniform [0, 1).
  auto uniform = [&] { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; };
  if (cut_pending_ || band_pending_ || check_pending_) return draw_with_rejection(total);
  const size_t i = locate(uniform() * total);
  if (i == count_) return std::nullopt;
  return static_cast<TokenId>(id_at(i));
}

std::optional<TokenId> Sampler::sample_masked(std::span<const float> logits) {
  const bool wanted = std::exchange(log_sum_exp_wanted_, false);
  const std::optional<TokenId> token = sample(logits);
  log_sum_exp_wanted_ = wanted;
  return token;
}

std::optional<TokenId> Sampler::draw_with_rejection(double total) {
  auto uniform = [&] { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; };
  // A draw from every candidate that lands past the top-p cut (or below min-p) is redrawn, which
  // draws exactly from the kept tokens. p >= kRejectFromP keeps the expected tries low; after
  // kMaxTries the cuts are applied to the weights and the last draw is exact as well.
  const double target = static_cast<double>(params_.top_p) * top_p_total_;
  for (int attempt = 0; attempt < kMaxTries; ++attempt) {
    const size_t i = locate(uniform() * total);
    if (i == count_) break;
    const float x = values_[i];
    if (x < min_floor_) continue;
    if (cut_pending_) {
      if (!past_cut(i)) return static_cast<TokenId>(id_at(i));
      continue;
    }
    if (band_pending_) {
      if (x > band_.keep) return static_cast<TokenId>(id_at(i));
      if (x <= band_.cut) continue;
    }
    // Near the cut (or no band known): the token is in the nucleus when the weight of the tokens
    // ordered before it is short of the target; one pass over the candidates.
    if (mass_before(x, i) < target) return static_cast<TokenId>(id_at(i));
  }
  if (band_pending_) {
    cut_top_p(top_p_total_, band_.keep, band_.cut, &band_);
  } else if (check_pending_) {
    cut_top_p(top_p_total_, best_, floor_, nullptr, heavy_);
  }
  band_pending_ = check_pending_ = false;
  total = apply_cuts(min_floor_);
  if (!(total > 0)) return std::nullopt;
  const size_t i = locate(uniform() * total);
  if (i == count_) return std::nullopt;
  return static_cast<TokenId>(id_at(i));
}

std::optional<Sampler::Band> Sampler::predict_band(float best, float temperature, float floor,
                                                   bool* heavy) const {
  *heavy = false;
  const size_t n = count_;
  float xs[kBandSample], ws[kBandSample];
  for (size_t j = 0; j < kBandSample; ++j) xs[j] = values_[j * n / kBandSample];
  const double total =
      kernels_
          .exp_weights(xs, kBandSample,
                       {.max = best, .scale = 1.0f / temperature, .floor = floor, .weights = ws})
          .total;
  if (!(total > 0)) return std::nullopt;
  double squares = 0;
  float lowest = best;
  for (size_t j = 0; j < kBandSample; ++j) {
    if (ws[j] <= 0.0f) continue;
    squares += static_cast<double>(ws[j]) * ws[j];
    lowest = std::min(lowest, xs[j]);
  }
  const double effective = total * total / squares;
  *heavy = effective < kMinEffectiveSample;
  if (*heavy || !(lowest < best)) return std::nullopt;
  // The sample's share of weight above a logit errs by ~sqrt(p(1-p)/effective): four of those
  // (plus a margin for the histogram's resolution) on either side of p.
  const double p = params_.top_p;
  const double delta = 4.0 * std::sqrt(p * (1.0 - p) / effective) + 0.01;
  double histogram[kBandBuckets] = {};
  const float per_bucket = static_cast<float>(kBandBuckets) / (best - lowest);
  for (size_t j = 0; j < kBandSample; ++j) {
    if (ws[j] <= 0.0f) continue;
    const int b = std::min(kBandBuckets - 1, static_cast<int>((best - xs[j]) * per_bucket));
    histogram[b] += ws[j];
  }
  Band band;
  band.keep = best;
  band.cut = std::numeric_limits<float>::lowest();
  double cumulative = 0;
  for (int b = 0; b < kBandBuckets; ++b) {
    cumulative += histogram[b];
    const double share = cumulative / total;
    const float edge = best - static_cast<float>(b + 1) / per_bucket;
    if (share <= p - delta) band.keep = edge;
    if (share >= p + delta) {
      band.cut = edge;
      break;
    }
  }
  if (!(band.cut < band.keep)) return std::nullopt;
  return band;
}

std::vector<std::pair<TokenId, double>> Sampler::distribution(std::span<const float> logits) {
  std::vector<std::pair<TokenId, double>> out;
  if (params_.temperature <= 0.0f) {
    if (auto token = sample(logits)) out.emplace_back(*token, 1.0);
    return out;
  }
  const double total = select(logits, /*materialize=*/true);
  if (!(total > 0)) return out;
  std::vector<std::pair<float, TokenId>> order;
  for (size_t i = 0; i < count_; ++i)
    if (weights_[i] > 0.0f) order.emplace_back(values_[i], static_cast<TokenId>(id_at(i)));
  std::sort(order.begin(), order.end(), more_likely);
  const double scale = 1.0 / params_.temperature;
  const float best = order.empty() ? 0.0f : order.front().first;
  double sum = 0;
  for (const auto& [value, id] : order) sum += std::exp((value - best) * scale);
  for (const auto& [value, id] : order)
    out.emplace_back(id, std::exp((value - best) * scale) / sum);
  return out;
}

double Sampler::select(std::span<const float> logits, bool materialize) {
  const size_t n = logits.size();
  ensure_capacity(n);
  count_ = 0;
  cut_pending_ = false;
  band_pending_ = false;
  check_pending_ = false;
  const float best = max_of(logits);
  last_best_ = best;
  if (!(best > kNegInf)) return 0;
  const float t = params_.temperature;
  const bool cut_p = params_.top_p < 1.0f;
  const float min_p_floor = params_.min_p > 0.0f ? best + t * std::log(params_.min_p) : kNegInf;
  // min-p applies after top-p (whose total includes the tokens min-p drops), so it can only
  // prune up front when there is no top-p cut.
  // never a -inf logit
  const float prune = std::max(best - t * kPruneNats, std::numeric_limits<float>::lowest());
  const float floor = cut_p ? prune : std::max(prune, min_p_floor);

  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < n) {
    keep_top_k(logits, floor);
  } else {
    // Every token is a candidate: weights straight from the logits, no compaction.
    identity_ = true;
    values_ = logits.data();
    count_ = n;
  }
  // A wide top-p cut over many candidates: a band predicted to hold the cut is checked by the
  // exp pass itself (the weight above each of its ends), and draws resolve it lazily.
  const bool reject =
      cut_p && !materialize && params_.top_p >= kRejectFromP && count_ > kSortDirectly;
  bool heavy = false;
  const std::optional<Band> band =
      reject && identity_ ? predict_band(best, t, floor, &heavy) : std::nullopt;
  // The block sums are what the draw walks; every cut below recomputes them.
  // Tokens below the floor (pruned, or cut by min-p alone) get no weight in the same pass. When
  // log-probs are wanted and every token is a candidate, the same pass sums their raw terms.
  // (Summing them, and finding the maximum, in the output matmul as it writes each block was
  // tried: it moved the work rather than saving it, ~20 us more per token there against 10-25
  // less here, so the sampler keeps it.)
  const float ends[2] = {band ? band->keep : 0.0f, band ? band->cut : 0.0f};
  const kernels::ExpSums sums = exp_pass(values_, count_,
                                         {.max = best,
                                          .scale = 1.0f / t,
                                          .floor = floor,
                                          .weights = weights_.data(),
                                          .block_sums = block_sums_.data(),
                                          .thresholds = band ? ends : nullptr,
                                          .raw = log_sum_exp_wanted_ && identity_});
  const double total = sums.total;
  const double* band_above = sums.above;
  if (log_sum_exp_wanted_ && identity_ && sums.raw > 0)
    raw_lse_ = static_cast<double>(best) + std::log(sums.raw);
  if (!cut_p) return total;
  min_floor_ = min_p_floor;
  top_p_total_ = total;
  const double target = static_cast<double>(params_.top_p) * total;
  if (band && band_above[0] < target && band_above[1] >= target) {
    band_ = *band;
    band_.above = band_above[0];
    band_pending_ = true;
    return total;
  }
  if (reject && identity_) {
    // With heavy tails the cut is usually among the few hundred most likely tokens, which the
    // block maxima find reading a few blocks: cheaper than a check pass per draw.
    if (heavy && cut_top_p(total, best, floor, nullptr, true, /*heavy_only=*/true)) {
      cut_pending_ = true;
      return total;
    }
    best_ = best, floor_ = floor, heavy_ = heavy;
    check_pending_ = true;
    return total;
  }
  cut_top_p(total, best, floor, nullptr, heavy);
  if (reject) {
    cut_pending_ = true;
    return total;
  }
  return apply_cuts(min_p_floor);
}

void Sampler::keep_top_k(std::span<const float> logits, float floor) {
  const auto best = top_tokens(logits, static_cast<size_t>(params_.top_k), floor, false,
                               block_maxima(logits.size()));
  identity_ = false;
  count_ = best.size();
  for (size_t i = 0; i < count_; ++i) {
    value_store_[i] = best[i].first;
    ids_[i] = static_cast<uint32_t>(best[i].second);
  }
  values_ = value_store_.data();
}

double Sampler::apply_cuts(float min_floor) {
  float* w = weights_.data();
  kernels_.zero_where_less(values_, w, count_, cut_value_);
  // Ties at the cut's logit are all in the final bracket (or, when not, found by a scan).
  if (bracket_has_ties_) {
    const uint32_t* positions = bracket_positions_[bracket_side_].data();
    for (size_t j = 0; j < bracket_count_; ++j) {
      const uint32_t i = positions[j];
      if (values_[i] == cut_value_ && id_at(i) > cut_id_) w[i] = 0.0f;
    }
  } else {
    for (size_t i = 0; i < count_; ++i)
      if (values_[i] == cut_value_ && id_at(i) > cut_id_) w[i] = 0.0f;
  }
  if (min_floor > kNegInf) kernels_.zero_where_less(values_, w, count_, min_floor);
  cut_pending_ = false;
  return kernels_.sum(w, count_, block_sums_.data());
}

bool Sampler::cut_top_p(double total, float best, float floor, const Band* band, bool heavy,
                        bool heavy_only) {
  const double target = static_cast<double>(params_.top_p) * total;
  const size_t c = count_;
  const float* w = weights_.data();
  const float* v = values_;
  // The bracket: (position, logit, weight) of every candidate with logit in [lo, hi], with the
  // cut's logit in [lo, hi] and `above` the weight strictly above hi. The first pass over the
  // candidates compacts a narrow bracket around where a strided sample puts the cut and sums the
  // weight above it; only when the sample misjudged does a second pass take the side that holds
  // the cut. Then passes over the (small) bracket narrow it with eight thresholds until it can
  // be sorted.
  int side = 0;
  auto compact = [&](float lo, float hi, double* above_hi) {
    return kernels_.compact_triples_in_range(v, w, c, lo, hi, bracket_positions_[side].data(),
                                             bracket_values_[side].data(),
                                             bracket_weights_[side].data(), above_hi);
  };
  float lo = floor, hi = best;
  double above = 0;
  size_t bn = 0;
  bracket_has_ties_ = true;
  bool found = false;
  if (band == nullptr && heavy && identity_ && c > kSortDirectly) {
    // A few tokens carry the mass: when the most likely ones reach the target, the cut is among
    // them (they are a prefix of the order by logit, then id, that the cut walks).
    const auto top =
        top_tokens(std::span<const float>(v, c), kHeavyCandidates, floor, false, block_maxima(c));
    double weight = 0;
    for (const auto& [value, id] : top) weight += w[id];
    if (!top.empty() && weight >= target) {
      lo = best;
      for (size_t j = 0; j < top.size(); ++j) {
        const auto id = static_cast<uint32_t>(top[j].second);
        bracket_positions_[side][j] = id;
        bracket_values_[side][j] = top[j].first;
        bracket_weights_[side][j] = w[id];
        lo = std::min(lo, top[j].first);
      }
      bn = top.size();
      found = true;
      // Tokens tied with the last one may be left out: the cut's ties are then found by a scan.
      bracket_has_ties_ = false;
    }
  }
  if (!found && heavy_only) return false;
  if (!found && band != nullptr) {
    lo = std::nextafter(band->cut, kPosInf), hi = band->keep, above = band->above;
    double ignored = 0;
    bn = compact(lo, hi, &ignored);
  } else if (!found && c > kSortDirectly) {
    float guess[2];
    place_thresholds(v, w, c, target, /*narrow=*/true, guess);
    double above_guess = 0;
    bn = compact(guess[1], guess[0], &above_guess);
    const double in_guess = kernels_.sum(bracket_weights_[side].data(), bn, nullptr);
    if (above_guess >= target) {  // the cut is above the bracket
      lo = std::nextafter(guess[0], kPosInf);
      bn = compact(lo, hi, &above);
    } else if (above_guess + in_guess < target) {  // below it
      hi = std::nextafter(guess[1], kNegInf);
      above = above_guess + in_guess;
      double ignored = 0;
      bn = compact(lo, hi, &ignored);
    } else {
      lo = guess[1], hi = guess[0], above = above_guess;
    }
  } else if (!found) {
    bn = compact(lo, hi, &above);
  }
  bool from_sample = true;
  while (bn > kSortBracket && lo < hi) {
    const float* bv = bracket_values_[side].data();
    const float* bw = bracket_weights_[side].data();
    float thresholds[kernels::kThresholds];
    double sums[kernels::kThresholds];
    constexpr int count = kernels::kThresholds;
    if (from_sample) {
      place_thresholds(bv, bw, bn, target - above, false, thresholds);
    } else {
      for (int k = 0; k < count; ++k)
        thresholds[k] = hi - (hi - lo) * static_cast<float>(k + 1) / (count + 1);
    }
    kernels_.sums_above(bv, bw, bn, thresholds, sums);
    int k = 0;
    while (k < count && above + sums[k] < target) ++k;
    float new_lo = lo, new_hi = hi;
    double new_above = above;
    if (k < count) new_lo = std::nextafter(thresholds[k], kPosInf);
    if (k > 0) {
      new_hi = thresholds[k - 1];
      new_above = above + sums[k - 1];
    }
    if (new_lo == lo && new_hi == hi) break;  // the range no longer splits (float resolution)
    lo = new_lo, hi = new_hi, above = new_above;
    const size_t before = bn;
    bn = kernels_.compact_in_range(bv, bn, lo, hi, bracket_.data(), nullptr);
    const int next = side ^ 1;
    for (size_t j = 0; j < bn; ++j) {
      const uint32_t at = bracket_[j];
      bracket_positions_[next][j] = bracket_positions_[side][at];
      bracket_values_[next][j] = bv[at];
      bracket_weights_[next][j] = bw[at];
    }
    side = next;
    // A sample that misjudged the mass (a few heavy tokens) falls back to even spacing once.
    from_sample = bn * 4 < before;
  }
  bracket_side_ = side;
  bracket_count_ = bn;
  // Sort the bracket's tokens (by logit, then id) and walk to the cut.
  cut_value_ = kNegInf;  // nothing to cut when the bracket is empty (rounding at p ~ 1)
  cut_id_ = std::numeric_limits<uint32_t>::max();
  if (bn == 0) return true;
  const uint32_t* pos = bracket_positions_[side].data();
  const float* bv = bracket_values_[side].data();
  const float* bw = bracket_weights_[side].data();
  for (size_t j = 0; j < bn; ++j) bracket_[j] = static_cast<uint32_t>(j);
  std::sort(bracket_.begin(), bracket_.begin() + static_cast<ptrdiff_t>(bn),
            [&](uint32_t a, uint32_t b) {
              return bv[a] > bv[b] || (bv[a] == bv[b] && id_at(pos[a]) < id_at(pos[b]));
            });
  double kept = above;
  uint32_t cut = bracket_[bn - 1];
  for (size_t j = 0; j < bn; ++j) {
    kept += bw[bracket_[j]];
    if (kept >= target) {
      cut = bracket_[j];
      break;
    }
  }
  cut_value_ = bv[cut];
  cut_id_ = id_at(pos[cut]);
  return true;
}

}  // namespace plinth::engine
