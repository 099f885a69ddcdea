// Portable sampling passes (several independent accumulators so that the compiler can keep
// the pipelines busy) and the run-time choice of the vector table.
#include "ops/sampling_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace plinth::engine::kernels {
namespace {

float portable_max_of(const float* x, size_t n) {
  float acc[8] = {kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf, kNegInf};
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] = x[i + j] > acc[j] ? x[i + j] : acc[j];
  for (; i < n; ++i) acc[0] = x[i] > acc[0] ? x[i] : acc[0];
  return *std::max_element(acc, acc + 8);
}

float portable_max(const float* x, size_t n, float* block_max) {
  if (block_max == nullptr) return portable_max_of(x, n);
  float best = kNegInf;
  for (size_t block = 0; block < n; block += kMaxBlock) {
    const float in_block = portable_max_of(x + block, std::min(kMaxBlock, n - block));
    block_max[block / kMaxBlock] = in_block;
    best = std::max(best, in_block);
  }
  return best;
}

size_t portable_first_at_least(const float* x, size_t n, float threshold) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] >= threshold) return i;
  return n;
}

size_t portable_compact_in_range(const float* x, size_t n, float lo, float hi, uint32_t* index,
                                 float* value) {
  size_t count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] >= lo && x[i] <= hi) {
      index[count] = static_cast<uint32_t>(i);
      if (value != nullptr) value[count] = x[i];
      ++count;
    }
  }
  return count;
}

size_t portable_compact_triples_in_range(const float* x, const float* w, size_t n, float lo,
                                         float hi, uint32_t* index, float* value, float* weight,
                                         double* above) {
  size_t count = 0;
  double sum = 0;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] > hi) sum += w[i];
    if (x[i] >= lo && x[i] <= hi) {
      index[count] = static_cast<uint32_t>(i);
      value[count] = x[i];
      weight[count] = w[i];
      ++count;
    }
  }
  *above = sum;
  return count;
}

void portable_sums_above(const float* x, const float* w, size_t n, const float* thresholds,
                         double* out) {
  for (int k = 0; k < kThresholds; ++k) out[k] = 0;
  for (size_t i = 0; i < n; ++i)
    for (int k = 0; k < kThresholds; ++k) out[k] += x[i] > thresholds[k] ? w[i] : 0.0f;
}

ExpSums portable_exp_weights(const float* x, size_t n, const ExpPass& pass) {
  ExpSums sums;
  for (size_t block = 0; block < n; block += kSumBlock) {
    double in_block = 0;
    for (size_t i = block; i < std::min(n, block + kSumBlock); ++i) {
      const float e = x[i] >= pass.floor ? std::exp((x[i] - pass.max) * pass.scale) : 0.0f;
      if (pass.weights != nullptr) pass.weights[i] = e;
      in_block += e;
      if (pass.thresholds != nullptr) {
        for (int k = 0; k < 2; ++k) sums.above[k] += x[i] > pass.thresholds[k] ? e : 0.0f;
      }
      if (pass.raw) sums.raw += std::exp(static_cast<double>(x[i]) - pass.max);
    }
    if (pass.block_sums != nullptr) pass.block_sums[block / kSumBlock] = in_block;
    sums.total += in_block;
  }
  return sums;
}

double portable_mass_before(const float* x, const float* w, size_t n, float value, size_t index) {
  double total = 0;
  for (size_t i = 0; i < n; ++i)
    total += x[i] > value || (x[i] == value && i < index) ? w[i] : 0.0f;
  return total;
}

void portable_zero_where_less(const float* x, float* w, size_t n, float threshold) {
  for (size_t i = 0; i < n; ++i)
    if (x[i] < threshold) w[i] = 0.0f;
}

double portable_sum(const float* w, size_t n, double* block_sums) {
  double total = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    double in_block = 0;
    for (size_t i = block; i < std::min(n, block + kSumBlock); ++i) in_block += w[i];
    if (block_sums != nullptr) block_sums[block / kSumBlock] = in_block;
    total += in_block;
  }
  return total;
}

}  // namespace

const SamplingKernels& portable_sampling_kernels() {
  static const SamplingKernels table{portable_max,
                                     portable_first_at_least,
                                     portable_compact_in_range,
                                     portable_compact_triples_in_range,
                                     portable_sums_above,
                                     portable_exp_weights,
                                     portable_mass_before,
                                     portable_zero_where_less,
                                     portable_sum};
  return table;
}

const SamplingKernels& sampling_kernels() {
  static const SamplingKernels* chosen = [] {
    const SamplingKernels* avx512 = avx512_sampling_kernels();
    return avx512 != nullptr ? avx512 : &portable_sampling_kernels();
  }();
  return *chosen;
}

}  // namespace plinth::engine::kernels
