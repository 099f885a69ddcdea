// Token sampling (greedy, temperature, top-k, top-p, min-p, seeded) and raw-logit log-probs,
// without sorting the vocabulary: vector passes plus selection over small candidate sets.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <utility>
#include <vector>

#include "model/logit_selection.h"
#include "ops/sampling_kernels.h"
#include "ops/thread_pool.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

// The model's thread pool, lent to the sampler's passes over the vocabulary: they run between
// forward passes, when the pool's threads are idle (and still spinning, so a hand-off costs
// ~1 us). Without a pool every pass runs on the calling thread.
struct PassThreads {
  ThreadPool* pool = nullptr;
  std::mutex* mutex = nullptr;  // held while the pool runs (it serves one caller at a time)
};

class Sampler {
 public:
  // With log_sum_exp_wanted (the caller asks for log-probs), sample() takes the raw logits'
  // log-sum-exp in its own exp pass where it can.
  explicit Sampler(const SamplingParams& params, bool log_sum_exp_wanted = false,
                   PassThreads threads = {});
  // Picks a token; tokens whose logit is -inf are never chosen. nullopt when every token is -inf.
  std::optional<TokenId> sample(std::span<const float> logits);
  // sample() without the log-sum-exp, whatever the constructor asked: a second draw from the
  // same step's logits after a schema mask, whose log-probs came from the first.
  std::optional<TokenId> sample_masked(std::span<const float> logits);
  // The distribution sample() draws from: every token it can pick with its probability, most
  // likely first. For tests and benchmarks.
  std::vector<std::pair<TokenId, double>> distribution(std::span<const float> logits);
  // log(sum(exp(logits))) of the logits the last sample() drew from, when its own exp pass
  // found it (log_sum_exp_wanted and every token a candidate): logprobs then need no second exp
  // pass. nullopt otherwise.
  std::optional<double> last_log_sum_exp() const { return raw_lse_; }
  // log(sum(exp(logits))) of the logits the last sample() was given: last_log_sum_exp() when
  // known, else one exp pass that reuses the largest logit sample() found.
  double raw_log_sum_exp(std::span<const float> logits) const;
  // The k most likely of the logits the last sample() was given, with their log-softmax (lse
  // from raw_log_sum_exp), most likely first: only the blocks whose maximum can hold one are read.
  std::vector<TokenLogprob> top_logprobs(std::span<const float> logits, int32_t k,
                                         double lse) const;

 private:
  // Leaves in ids_/values_/weights_ the tokens that can be drawn (weight > 0) and returns their
  // total weight; 0 when no token can be drawn.
  // With `materialize`, the top-p and min-p cuts are applied to the weights; otherwise a top-p cut
  // may be left pending (cut_pending_): the weights still hold every candidate and a draw rejects
  // the tokens past the cut (cheaper than rewriting the vocabulary's weights when p is large).
  double select(std::span<const float> logits, bool materialize);
  void keep_top_k(std::span<const float> logits, float floor);
  // Finds the top-p cut (cut_value_, cut_id_). best and floor bound the candidates' logits; a
  // band known to hold the cut (its logits in (band->cut, band->keep], band->above the weight
  // above it) spares the first pass over the candidates.
  struct Band {
    float keep = 0;    // every candidate above is inside the nucleus
    float cut = 0;     // every candidate at or below is outside it
    double above = 0;  // the weight above `keep`
  };
  // With `heavy` (a few tokens carry the mass), the most likely candidates are tried first.
  // With heavy_only, only the most likely tokens are tried: false (nothing found) when they do
  // not reach the target.
  bool cut_top_p(double total, float best, float floor, const Band* band = nullptr,
                 bool heavy = false, bool heavy_only = false);
  // Where a strided sample of the candidates puts the top-p cut, widened by the sample's error;
  // nullopt when the sample cannot tell (a few tokens carry the mass).
  std::optional<Band> predict_band(float best, float temperature, float floor, bool* heavy) const;
  // Draws with rejection past the pending cut (band_pending_, cut_pending_ or check_pending_).
  std::optional<TokenId> draw_with_rejection(double total);
  // Zeroes the weights past the cut and below min_floor; returns the new total.
  double apply_cuts(float min_floor);
  // The candidate position where the cumulative weight passes u (count_ when none).
  size_t locate(double u) const;
  bool past_cut(size_t i) const {
    return values_[i] < cut_value_ || (values_[i] == cut_value_ && id_at(i) > cut_id_);
  }
  void ensure_capacity(size_t n);
  // block_max_ for the last max_of() over n logits.
  std::span<const float> block_maxima(size_t n) const;
  // fn(part, begin, end) over [0, n): up to 4 parts (whole kSumBlocks) that the pool's threads
  // claim one at a time when n is large enough to gain from it, else one part on this thread.
  // Returns the part count.
  int split(size_t n, const std::function<void(int part, size_t begin, size_t end)>& fn) const;
  // The pass over the vocabulary's (or the candidates') logits, split.
  float max_of(std::span<const float> logits);
  kernels::ExpSums exp_pass(const float* x, size_t n, const kernels::ExpPass& pass) const;
  // kernels::mass_before over the candidates, split.
  double mass_before(float value, size_t index) const;
  uint32_t id_at(size_t i) const { return identity_ ? static_cast<uint32_t>(i) : ids_[i]; }

  SamplingParams params_;
  bool log_sum_exp_wanted_ = false;
  PassThreads threads_;
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
  std::vector<float> block_max_;    // the last logits' maximum per kernels::kMaxBlock
  std::vector<uint32_t> bracket_;
  std::vector<uint32_t> bracket_positions_[2];  // positions in the candidates
  std::vector<float> bracket_values_[2], bracket_weights_[2];
  size_t bracket_count_ = 0;      // bracket_positions_[bracket_side_] holds every tie at the cut
  bool bracket_has_ties_ = true;  // ...unless this is false
  int bracket_side_ = 0;
  // The top-p cut: candidates with a lower logit, or the same logit and a higher id, are out.
  float cut_value_ = 0;
  uint32_t cut_id_ = 0;
  bool cut_pending_ = false;
  // The cut is only known to lie in band_ (exp pass sums); found exactly when a draw lands there.
  bool band_pending_ = false;
  Band band_;
  // The cut is not known at all: a draw's token is kept when the weight ahead of it (one masked
  // sum over the candidates) is below the target. Only with identity_ (position = id order).
  bool check_pending_ = false;
  float best_ = 0, floor_ = 0;  // the candidates' largest logit and the pruning floor
  bool heavy_ = false;          // a few tokens carry the mass (see predict_band)
  double top_p_total_ = 0;      // the total weight the top-p target is a fraction of
  float min_floor_ = 0;         // min-p: candidates below are out (-inf: none)
  std::optional<double> raw_lse_;
  std::optional<float> last_best_;  // the largest logit the last sample() found
};

}  // namespace plinth::engine
