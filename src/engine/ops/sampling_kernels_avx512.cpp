// AVX-512F sampling passes: 16 logits per step, compress-stores for compaction and an exp taken as
// 2^t (rounding split, degree-5 fit; 1.5e-7 relative) scaled with vscalefps.
#include "ops/sampling_kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace plinth::engine::kernels {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

__mmask16 tail_mask(size_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

float max16(const float* x, size_t n) {
  __m512 acc0 = _mm512_set1_ps(kNegInf), acc1 = acc0;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_max_ps(acc0, _mm512_loadu_ps(x + i));  // max_ps(acc, NaN) keeps acc
    acc1 = _mm512_max_ps(acc1, _mm512_loadu_ps(x + i + 16));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    acc0 = _mm512_mask_max_ps(acc0, m, acc0, _mm512_maskz_loadu_ps(m, x + i));
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(acc0, acc1));
}

size_t first_at_least16(const float* x, size_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __mmask16 hit =
        _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, x + i), t, _CMP_GE_OQ);
    if (hit) return i + static_cast<size_t>(__builtin_ctz(hit));
  }
  return n;
}

size_t compact_in_range16(const float* x, size_t n, float lo, float hi, uint32_t* index,
                          float* value) {
  const __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
  const __m512i step = _mm512_set1_epi32(16);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  size_t count = 0;
  size_t i = 0;
  if (hi == std::numeric_limits<float>::infinity() && index != nullptr && value == nullptr) {
    // Everything at least lo (what top_tokens asks, few hits): one compare per vector, one
    // branch per 64 values, the hits' positions from the combined mask's bits.
    for (; i + 64 <= n; i += 64) {
      uint64_t hits = 0;
      for (int part = 0; part < 4; ++part) {
        const __mmask16 hit = _mm512_cmp_ps_mask(_mm512_loadu_ps(x + i + 16 * part), l, _CMP_GE_OQ);
        hits |= static_cast<uint64_t>(hit) << (16 * part);
      }
      for (; hits != 0; hits &= hits - 1)
        index[count++] = static_cast<uint32_t>(i + static_cast<size_t>(__builtin_ctzll(hits)));
    }
    idx = _mm512_add_epi32(idx, _mm512_set1_epi32(static_cast<int>(i)));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __mmask16 hit =
        _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(m, v, l, _CMP_GE_OQ), v, h, _CMP_LE_OQ);
    if (hit) {
      // Compress in a register and store the whole vector: a masked compress-store to memory is
      // microcoded (slow) on some CPUs (AMD Zen 4).
      _mm512_storeu_si512(index + count, _mm512_maskz_compress_epi32(hit, idx));
      if (value != nullptr) _mm512_storeu_ps(value + count, _mm512_maskz_compress_ps(hit, v));
      count += static_cast<size_t>(__builtin_popcount(hit));
    }
    idx = _mm512_add_epi32(idx, step);
  }
  return count;
}

size_t compact_pairs_in_range16(const float* x, const float* w, size_t n, float lo, float hi,
                                float* out_x, float* out_w) {
  const __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
  size_t count = 0;
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    const __mmask16 hit =
        _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(m, v, l, _CMP_GE_OQ), v, h, _CMP_LE_OQ);
    if (hit) {
      _mm512_storeu_ps(out_x + count, _mm512_maskz_compress_ps(hit, v));
      _mm512_storeu_ps(out_w + count,
                       _mm512_maskz_compress_ps(hit, _mm512_maskz_loadu_ps(m, w + i)));
      count += static_cast<size_t>(__builtin_popcount(hit));
    }
  }
  return count;
}

size_t compact_triples_in_range16(const float* x, const float* w, size_t n, float lo, float hi,
                                  uint32_t* index, float* value, float* weight, double* above) {
  const __m512 l = _mm512_set1_ps(lo), h = _mm512_set1_ps(hi);
  const __m512i step = _mm512_set1_epi32(16);
  __m512i idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  size_t count = 0;
  double sum = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 m = tail_mask(end - i);
      const __m512 v = _mm512_maskz_loadu_ps(m, x + i);
      const __m512 wv = _mm512_maskz_loadu_ps(m, w + i);
      acc = _mm512_mask_add_ps(acc, _mm512_mask_cmp_ps_mask(m, v, h, _CMP_GT_OQ), acc, wv);
      const __mmask16 hit =
          _mm512_mask_cmp_ps_mask(_mm512_mask_cmp_ps_mask(m, v, l, _CMP_GE_OQ), v, h, _CMP_LE_OQ);
      if (hit) {
        _mm512_storeu_si512(index + count, _mm512_maskz_compress_epi32(hit, idx));
        _mm512_storeu_ps(value + count, _mm512_maskz_compress_ps(hit, v));
        _mm512_storeu_ps(weight + count, _mm512_maskz_compress_ps(hit, wv));
        count += static_cast<size_t>(__builtin_popcount(hit));
      }
      idx = _mm512_add_epi32(idx, step);
    }
    sum += static_cast<double>(_mm512_reduce_add_ps(acc));
  }
  *above = sum;
  return count;
}

void sums_above16(const float* x, const float* w, size_t n, const float* thresholds, double* out) {
  __m512 t[kThresholds];
  for (int k = 0; k < kThresholds; ++k) {
    t[k] = _mm512_set1_ps(thresholds[k]);
    out[k] = 0;
  }
  for (size_t block = 0; block < n; block += 1024) {
    const size_t end = std::min(n, block + 1024);
    __m512 acc[kThresholds];
    for (int k = 0; k < kThresholds; ++k) acc[k] = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 lanes = tail_mask(end - i);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      const __m512 wv = _mm512_maskz_loadu_ps(lanes, w + i);
      for (int k = 0; k < kThresholds; ++k)
        acc[k] = _mm512_mask_add_ps(acc[k], _mm512_cmp_ps_mask(v, t[k], _CMP_GT_OQ), acc[k], wv);
    }
    for (int k = 0; k < kThresholds; ++k)
      out[k] += static_cast<double>(_mm512_reduce_add_ps(acc[k]));
  }
}

// exp(a) for a <= 0 on the `live` lanes (0 elsewhere), as 2^(a log2 e): k = round(a log2 e), then
// f = a log2 e - k from one fused multiply-subtract (no rounding of the product), a degree-5 fit
// of 2^f on [-0.5, 0.5] (1.5e-7 relative with float coefficients), scaled by 2^k. Callers keep
// live lanes above -87 (2^-125, a normal float), so no clamp is needed.
__m512 exp_live(__mmask16 live, __m512 a) {
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 k =
      _mm512_roundscale_ps(_mm512_mul_ps(a, log2e), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  const __m512 f = _mm512_fmsub_ps(a, log2e, k);
  __m512 p = _mm512_set1_ps(1.327641075e-03f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713465e-02f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402212024e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000119f));
  return _mm512_maskz_scalef_ps(live, p, k);
}

// The exp passes' floor: weights below 2^-125 of the largest are 0 (they are below float's normal
// range; exp_live needs its arguments above -87).
float effective_floor(float floor, float max, float scale) {
  return std::max(floor, max - 125.0f * 0.693147182f / scale);
}

// Float lanes summed per 1,024 values, then into a double: the float error stays ~1e-7.
double reduce_block(__m512 acc) { return static_cast<double>(_mm512_reduce_add_ps(acc)); }

double exp_weights16(const float* x, size_t n, float max, float scale, float floor, float* w,
                     double* block_sums) {
  // (x - max) * scale as one fused x * scale - max * scale: the product's rounding scales every
  // weight alike (and is exact at scale 1).
  const __m512 m = _mm512_set1_ps(max * scale), s = _mm512_set1_ps(scale);
  const __m512 f = _mm512_set1_ps(effective_floor(floor, max, scale));
  double total = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 lanes = tail_mask(end - i);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      const __mmask16 live = _mm512_mask_cmp_ps_mask(lanes, v, f, _CMP_GE_OQ);
      const __m512 e = exp_live(live, _mm512_fmsub_ps(v, s, m));
      if (w != nullptr) _mm512_mask_storeu_ps(w + i, lanes, e);
      acc = _mm512_add_ps(acc, e);
    }
    const double in_block = reduce_block(acc);
    if (block_sums != nullptr) block_sums[block / kSumBlock] = in_block;
    total += in_block;
  }
  return total;
}

double exp_weights_above16(const float* x, size_t n, float max, float scale, float floor, float* w,
                           double* block_sums, const float* thresholds, double* above) {
  // (x - max) * scale as one fused x * scale - max * scale: the product's rounding scales every
  // weight alike (and is exact at scale 1).
  const __m512 m = _mm512_set1_ps(max * scale), s = _mm512_set1_ps(scale);
  const __m512 f = _mm512_set1_ps(effective_floor(floor, max, scale));
  const __m512 t0 = _mm512_set1_ps(thresholds[0]), t1 = _mm512_set1_ps(thresholds[1]);
  double total = 0;
  above[0] = above[1] = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc = _mm512_setzero_ps(), acc0 = acc, acc1 = acc;
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 lanes = tail_mask(end - i);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      const __mmask16 live = _mm512_mask_cmp_ps_mask(lanes, v, f, _CMP_GE_OQ);
      const __m512 e = exp_live(live, _mm512_fmsub_ps(v, s, m));
      _mm512_mask_storeu_ps(w + i, lanes, e);
      acc = _mm512_add_ps(acc, e);
      acc0 = _mm512_mask_add_ps(acc0, _mm512_cmp_ps_mask(v, t0, _CMP_GT_OQ), acc0, e);
      acc1 = _mm512_mask_add_ps(acc1, _mm512_cmp_ps_mask(v, t1, _CMP_GT_OQ), acc1, e);
    }
    const double in_block = reduce_block(acc);
    block_sums[block / kSumBlock] = in_block;
    total += in_block;
    above[0] += reduce_block(acc0);
    above[1] += reduce_block(acc1);
  }
  return total;
}

double sum_where_greater16(const float* x, const float* w, size_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  double total = 0;
  for (size_t block = 0; block < n; block += 1024) {
    const size_t end = std::min(n, block + 1024);
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 lanes = tail_mask(end - i);
      const __mmask16 hit =
          _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, x + i), t, _CMP_GT_OQ);
      acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(hit, w + i));
    }
    total += reduce_block(acc);
  }
  return total;
}

double mass_before16(const float* x, const float* w, size_t n, float value, size_t index) {
  // Before `index` ties count too (>=), from it on only larger values (>).
  const __m512 t = _mm512_set1_ps(value);
  double total = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16) {
      const __mmask16 lanes = tail_mask(end - i);
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      __mmask16 hit = _mm512_mask_cmp_ps_mask(lanes, v, t, _CMP_GT_OQ);
      if (i < index) hit |= _mm512_mask_cmp_ps_mask(lanes & tail_mask(index - i), v, t, _CMP_EQ_OQ);
      acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(hit, w + i));
    }
    total += reduce_block(acc);
  }
  return total;
}

void zero_where_less16(const float* x, float* w, size_t n, float threshold) {
  const __m512 t = _mm512_set1_ps(threshold);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 lanes = tail_mask(n - i);
    const __mmask16 less =
        _mm512_mask_cmp_ps_mask(lanes, _mm512_maskz_loadu_ps(lanes, x + i), t, _CMP_LT_OQ);
    if (less) _mm512_mask_storeu_ps(w + i, less, _mm512_setzero_ps());
  }
}

double sum16(const float* w, size_t n, double* block_sums) {
  double total = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc = _mm512_setzero_ps();
    for (size_t i = block; i < end; i += 16)
      acc = _mm512_add_ps(acc, _mm512_maskz_loadu_ps(tail_mask(end - i), w + i));
    const double in_block = reduce_block(acc);
    if (block_sums != nullptr) block_sums[block / kSumBlock] = in_block;
    total += in_block;
  }
  return total;
}

}  // namespace

const SamplingKernels* avx512_sampling_kernels() {
  static const SamplingKernels* table = []() -> const SamplingKernels* {
    if (!__builtin_cpu_supports("avx512f")) return nullptr;
    static const SamplingKernels t{max16,
                                   first_at_least16,
                                   compact_in_range16,
                                   compact_pairs_in_range16,
                                   compact_triples_in_range16,
                                   sums_above16,
                                   exp_weights16,
                                   exp_weights_above16,
                                   sum_where_greater16,
                                   mass_before16,
                                   zero_where_less16,
                                   sum16};
    return &t;
  }();
  return table;
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
const SamplingKernels* avx512_sampling_kernels() { return nullptr; }
}  // namespace plinth::engine::kernels

#endif
