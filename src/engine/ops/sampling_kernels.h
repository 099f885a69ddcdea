// Vector passes over a vocabulary's logits for the sampler: max, first index, compaction by
// threshold, exp weights and masked sums. One table per instruction set, chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace plinth::engine {

// The logits' infinities: -inf marks a token a schema mask excludes.
inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();
inline constexpr float kPosInf = std::numeric_limits<float>::infinity();

namespace kernels {

inline constexpr size_t kCompactSlack = 16;
inline constexpr int kThresholds = 8;
inline constexpr size_t kSumBlock = 1024;
// max() writes the largest value of each kMaxBlock values: the k-th largest block maximum is a
// threshold that at least k values reach, and only the blocks reaching it need a look.
inline constexpr size_t kMaxBlock = 256;

// One exp pass (what exp_weights does): w[i] = exp((x[i] - max) * scale) where x[i] >= floor,
// else 0, with x[i] <= max.
struct ExpPass {
  float max = 0;
  float scale = 1;
  float floor = 0;
  float* weights = nullptr;           // w, unless null
  double* block_sums = nullptr;       // the sum of each kSumBlock weights, unless null
  const float* thresholds = nullptr;  // unless null, two logits: ExpSums::above
  // Also ExpSums::raw, the sum of exp(x[i] - max) over every x[i] (scale 1, no floor): the
  // log-sum-exp that log-probs need, from the same pass.
  bool raw = false;
};

struct ExpSums {
  // The sum of the weights. Vector tables may scale every weight (and so these sums) by one
  // common factor within 1e-6 of 1, which draws and top-p cuts do not see.
  double total = 0;
  double above[2] = {0, 0};  // the weights of the x[i] above thresholds[0] and thresholds[1]
  double raw = 0;            // exact to ~1e-7 relative (no common factor)
};

struct SamplingKernels {
  // The largest value (-inf when n == 0 or every value is -inf; NaN is never the max);
  // block_max, unless null, gets the largest of each kMaxBlock values.
  float (*max)(const float* x, size_t n, float* block_max);
  // The first i with x[i] >= threshold, or n.
  size_t (*first_at_least)(const float* x, size_t n, float threshold);
  // Writes every i with lo <= x[i] <= hi to index, and x[i] to value unless it is null, in
  // increasing order of i; returns the count. Outputs need room for n + kCompactSlack values
  // (vector tables store whole vectors past the count).
  size_t (*compact_in_range)(const float* x, size_t n, float lo, float hi, uint32_t* index,
                             float* value);
  // compact_in_range with the weights too (index, value and weight of every i with
  // lo <= x[i] <= hi), and *above = the sum of w[i] over x[i] > hi, in one pass over x and w.
  size_t (*compact_triples_in_range)(const float* x, const float* w, size_t n, float lo, float hi,
                                     uint32_t* index, float* value, float* weight, double* above);
  // out[k] = the sum of w[i] over i with x[i] > thresholds[k], for k < kThresholds, in one pass.
  void (*sums_above)(const float* x, const float* w, size_t n, const float* thresholds,
                     double* out);
  // The exp pass that `pass` describes.
  ExpSums (*exp_weights)(const float* x, size_t n, const ExpPass& pass);
  // The weight ahead of token `index` in the order by value, then index: the sum of w[i] over i
  // with x[i] > value, or x[i] == value and i < index. One pass; what a top-p draw checks.
  double (*mass_before)(const float* x, const float* w, size_t n, float value, size_t index);
  // w[i] = 0 where x[i] < threshold.
  void (*zero_where_less)(const float* x, float* w, size_t n, float threshold);
  // The sum of w[0..n); block_sums, unless null, gets the sum of each kSumBlock values.
  double (*sum)(const float* w, size_t n, double* block_sums);
};

// The fastest table this CPU runs.
const SamplingKernels& sampling_kernels();
// Plain C++, for any CPU, and the reference the vector tables are tested against.
const SamplingKernels& portable_sampling_kernels();
// AVX-512 (nullptr where the CPU or the build lacks it).
const SamplingKernels* avx512_sampling_kernels();

}  // namespace kernels
}  // namespace plinth::engine
