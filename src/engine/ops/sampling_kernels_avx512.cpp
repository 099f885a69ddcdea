// AVX-512F sampling passes: 16 logits per step, compress-stores for compaction and an exp taken as
// 2^t (rounding split, degree-5 fit; 1.5e-7 relative) scaled with vscalefps. The exp pass is
// compute-bound (it runs from L2): every vector operation saved in its loop is ~7% of its time.
#include "ops/sampling_kernels.h"

#if defined(__AVX512F__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/avx512_math.h"

namespace plinth::engine::kernels {
namespace {

float max_of16(const float* x, size_t n) {
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

float max16(const float* x, size_t n, float* block_max) {
  if (block_max == nullptr) return max_of16(x, n);
  __m512 best = _mm512_set1_ps(kNegInf);
  size_t block = 0;
  for (; block + kMaxBlock <= n; block += kMaxBlock) {
    __m512 acc0 = _mm512_loadu_ps(x + block), acc1 = _mm512_loadu_ps(x + block + 16);
    for (size_t i = block + 32; i < block + kMaxBlock; i += 32) {
      acc0 = _mm512_max_ps(acc0, _mm512_loadu_ps(x + i));
      acc1 = _mm512_max_ps(acc1, _mm512_loadu_ps(x + i + 16));
    }
    acc0 = _mm512_max_ps(acc0, acc1);
    best = _mm512_max_ps(best, acc0);
    block_max[block / kMaxBlock] = _mm512_reduce_max_ps(acc0);
  }
  float result = _mm512_reduce_max_ps(best);
  if (block < n) {
    const float tail = max_of16(x + block, n - block);
    block_max[block / kMaxBlock] = tail;
    result = std::max(result, tail);
  }
  return result;
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
  if (hi == kPosInf && index != nullptr && value == nullptr) {
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

// 2^f for f in [-0.5, 0.5]: a degree-5 fit, 1.5e-7 relative with float coefficients.
__m512 exp2_fraction(__m512 f) {
  __m512 p = _mm512_set1_ps(1.327641075e-03f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675540961e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713465e-02f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402212024e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440e-01f));
  return _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.000000119f));
}

// 2^y on the `live` lanes (0 elsewhere): y = k + f with k = round(y), scaled with vscalefps.
// Live lanes are above -126 (2^y a normal float).
__m512 exp2_live(__mmask16 live, __m512 y) {
  const __m512 k = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  return _mm512_maskz_scalef_ps(live, exp2_fraction(_mm512_sub_ps(y, k)), k);
}

// exp((x - max) * scale) is taken as 2^(x * c - max * c) with c = scale * log2(e): one fused
// operation per value. max * c rounded to float shifts every exponent by the same tiny amount
// (a common factor within 1e-6 of 1, which ExpSums allows for the weights); `correction` undoes
// it for a sum that must be exact.
struct Exp2Argument {
  __m512 c, max_c;
  double correction;  // the true sum is the computed sum times this
  Exp2Argument(float max, float scale) {
    const float cf = scale * 1.44269504088896341f;
    const float max_cf = max * cf;
    c = _mm512_set1_ps(cf);
    max_c = _mm512_set1_ps(max_cf);
    correction = std::exp2(static_cast<double>(max_cf) - static_cast<double>(max) * cf);
  }
  __m512 operator()(__m512 x) const { return _mm512_fmsub_ps(x, c, max_c); }
};

// Weights below 2^-125 of the largest are 0 (below float's normal range).
float effective_floor(float floor, float max, float scale) {
  return std::max(floor, max - 125.0f * 0.693147182f / scale);
}

// Float lanes summed per 1,024 values, then into a double: the float error stays ~1e-7.
double reduce_block(__m512 acc) { return static_cast<double>(_mm512_reduce_add_ps(acc)); }

// kRaw: 0 no raw sum, 1 the raw sum from the same exponentials (scale 1), 2 a second exp.
template <bool kStore, bool kAbove, int kRaw>
ExpSums exp_pass16(const float* x, size_t n, const ExpPass& pass) {
  const Exp2Argument arg(pass.max, pass.scale);
  const Exp2Argument raw_arg(pass.max, 1.0f);
  const __m512 f = _mm512_set1_ps(effective_floor(pass.floor, pass.max, pass.scale));
  const __m512 raw_floor = _mm512_set1_ps(effective_floor(kNegInf, pass.max, 1.0f));
  const __m512 t0 = _mm512_set1_ps(kAbove ? pass.thresholds[0] : 0.0f);
  const __m512 t1 = _mm512_set1_ps(kAbove ? pass.thresholds[1] : 0.0f);
  ExpSums sums;
  double raw = 0;
  for (size_t block = 0; block < n; block += kSumBlock) {
    const size_t end = std::min(n, block + kSumBlock);
    __m512 acc[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
    __m512 acc0 = acc[0], acc1 = acc[0], acc_raw = acc[0];
    auto step = [&](size_t i, __mmask16 lanes, __m512& sum) {
      const __m512 v = _mm512_maskz_loadu_ps(lanes, x + i);
      const __mmask16 live = _mm512_mask_cmp_ps_mask(lanes, v, f, _CMP_GE_OQ);
      __m512 e;
      if constexpr (kRaw == 1) {
        const __mmask16 finite = _mm512_mask_cmp_ps_mask(lanes, v, raw_floor, _CMP_GE_OQ);
        const __m512 all = exp2_live(finite, arg(v));
        acc_raw = _mm512_add_ps(acc_raw, all);
        e = _mm512_maskz_mov_ps(live, all);
      } else {
        e = exp2_live(live, arg(v));
      }
      if constexpr (kRaw == 2) {
        const __mmask16 finite = _mm512_mask_cmp_ps_mask(lanes, v, raw_floor, _CMP_GE_OQ);
        acc_raw = _mm512_add_ps(acc_raw, exp2_live(finite, raw_arg(v)));
      }
      if constexpr (kStore) _mm512_mask_storeu_ps(pass.weights + i, lanes, e);
      sum = _mm512_add_ps(sum, e);
      if constexpr (kAbove) {
        acc0 = _mm512_mask_add_ps(acc0, _mm512_cmp_ps_mask(v, t0, _CMP_GT_OQ), acc0, e);
        acc1 = _mm512_mask_add_ps(acc1, _mm512_cmp_ps_mask(v, t1, _CMP_GT_OQ), acc1, e);
      }
    };
    size_t i = block;
    for (; i + 32 <= end; i += 32) {  // two sums: the adds do not wait on each other
      step(i, 0xFFFF, acc[0]);
      step(i + 16, 0xFFFF, acc[1]);
    }
    for (; i < end; i += 16) step(i, tail_mask(end - i), acc[0]);
    const double in_block = reduce_block(_mm512_add_ps(acc[0], acc[1]));
    if (pass.block_sums != nullptr) pass.block_sums[block / kSumBlock] = in_block;
    sums.total += in_block;
    if constexpr (kAbove) {
      sums.above[0] += reduce_block(acc0);
      sums.above[1] += reduce_block(acc1);
    }
    if constexpr (kRaw != 0) raw += reduce_block(acc_raw);
  }
  if constexpr (kRaw != 0) sums.raw = raw * raw_arg.correction;
  return sums;
}

template <bool kStore, bool kAbove>
ExpSums exp_pass_raw16(const float* x, size_t n, const ExpPass& pass) {
  if (!pass.raw) return exp_pass16<kStore, kAbove, 0>(x, n, pass);
  if (!kStore && !kAbove && pass.block_sums == nullptr && pass.scale == 1.0f &&
      pass.floor <= effective_floor(kNegInf, pass.max, 1.0f)) {
    // Only the raw sum: it is the total.
    ExpSums sums = exp_pass16<false, false, 0>(x, n, pass);
    sums.raw = sums.total * Exp2Argument(pass.max, 1.0f).correction;
    return sums;
  }
  if (pass.scale == 1.0f) return exp_pass16<kStore, kAbove, 1>(x, n, pass);
  return exp_pass16<kStore, kAbove, 2>(x, n, pass);
}

ExpSums exp_weights16(const float* x, size_t n, const ExpPass& pass) {
  const bool store = pass.weights != nullptr, above = pass.thresholds != nullptr;
  if (store && above) return exp_pass_raw16<true, true>(x, n, pass);
  if (store) return exp_pass_raw16<true, false>(x, n, pass);
  if (above) return exp_pass_raw16<false, true>(x, n, pass);
  return exp_pass_raw16<false, false>(x, n, pass);
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
    static const SamplingKernels t{
        max16,        first_at_least16, compact_in_range16, compact_triples_in_range16,
        sums_above16, exp_weights16,    mass_before16,      zero_where_less16,
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
