// Vector passes over a vocabulary's logits for the sampler: max, first index, compaction by
// threshold, exp weights and masked sums. One table per instruction set, chosen at run time.
#pragma once

#include <cstddef>
#include <cstdint>

namespace plinth::engine::kernels {

inline constexpr size_t kCompactSlack = 16;
inline constexpr int kThresholds = 8;
inline constexpr size_t kSumBlock = 1024;

struct SamplingKernels {
  // The largest value (-inf when n == 0 or every value is -inf; NaN is never the max).
  float (*max)(const float* x, size_t n);
  // The first i with x[i] >= threshold, or n.
  size_t (*first_at_least)(const float* x, size_t n, float threshold);
  // Writes every i with lo <= x[i] <= hi to index, and x[i] to value unless it is null, in
  // increasing order of i; returns the count. Outputs need room for n + kCompactSlack values
  // (vector tables store whole vectors past the count).
  size_t (*compact_in_range)(const float* x, size_t n, float lo, float hi, uint32_t* index,
                             float* value);
  // Writes x[i] and w[i] for every i with lo <= x[i] <= hi to out_x and out_w (same room rule);
  // returns the count.
  size_t (*compact_pairs_in_range)(const float* x, const float* w, size_t n, float lo, float hi,
                                   float* out_x, float* out_w);
  // compact_in_range with the weights too (index, value and weight of every i with
  // lo <= x[i] <= hi), and *above = the sum of w[i] over x[i] > hi, in one pass over x and w.
  size_t (*compact_triples_in_range)(const float* x, const float* w, size_t n, float lo, float hi,
                                     uint32_t* index, float* value, float* weight, double* above);
  // out[k] = the sum of w[i] over i with x[i] > thresholds[k], for k < kThresholds, in one pass.
  void (*sums_above)(const float* x, const float* w, size_t n, const float* thresholds,
                     double* out);
  // w[i] = exp((x[i] - max) * scale) where x[i] >= floor, else 0 (so -inf is always 0 for a
  // finite floor); returns the sum of w. x[i] <= max. w may be null: only the sum. block_sums,
  // unless null, gets the sum of each kSumBlock values.
  double (*exp_weights)(const float* x, size_t n, float max, float scale, float floor, float* w,
                        double* block_sums);
  // exp_weights (w and block_sums required) that also sums, in the same pass, the weights of the
  // x[i] above each of two thresholds into above[0] and above[1].
  double (*exp_weights_above)(const float* x, size_t n, float max, float scale, float floor,
                              float* w, double* block_sums, const float* thresholds, double* above);
  // The sum of w[i] over i with x[i] > threshold.
  double (*sum_where_greater)(const float* x, const float* w, size_t n, float threshold);
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

}  // namespace plinth::engine::kernels
