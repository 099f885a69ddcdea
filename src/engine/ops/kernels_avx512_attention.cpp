// AVX-512 single-query attention over the fast path's F16 KV cache, one head at a time.
//
// Attention was ~11% of a 4-sequence decode step: a kernel call per position for the score, a
// libm exp per score and another call per position to add its value row (loading and storing the
// 64-float output each time). Here each position costs one half conversion and one FMA per 16
// dimensions for the score and the same for the value, scores are reduced four positions at a
// time, exp is vectorized and the output stays in registers.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>

#include "ops/avx512_math.h"

namespace plinth::engine::kernels {
namespace {

inline __m512 halves16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The four sums of a, b, c, d (each 16 lanes) as one 128-bit vector.
inline __m128 sum4(__m512 a, __m512 b, __m512 c, __m512 d) {
  // Per 128-bit lane: (a0 + a2, b0 + b2, a1 + a3, b1 + b3), the same for c, d, then (a, b, c, d).
  const __m512 ab = _mm512_add_ps(_mm512_unpacklo_ps(a, b), _mm512_unpackhi_ps(a, b));
  const __m512 cd = _mm512_add_ps(_mm512_unpacklo_ps(c, d), _mm512_unpackhi_ps(c, d));
  const __m512 abcd =
      _mm512_add_ps(_mm512_shuffle_ps(ab, cd, 0x44), _mm512_shuffle_ps(ab, cd, 0xEE));
  const __m256 half = _mm256_add_ps(_mm512_castps512_ps256(abcd), _mm512_extractf32x8_ps(abcd, 1));
  return _mm_add_ps(_mm256_castps256_ps128(half), _mm256_extractf128_ps(half, 1));
}

// scores[p] = scale * q . K[p] for p < n_pos (head_dim = 16 * chunks).
void scores_f16(const float* q, const uint16_t* keys, int64_t stride, int64_t n_pos, int chunks,
                float scale, float* scores) {
  const __m128 s = _mm_set1_ps(scale);
  int64_t p = 0;
  for (; p + 4 <= n_pos; p += 4) {
    const uint16_t* k = keys + p * stride;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int64_t c = 0; c < chunks; ++c) {
      const __m512 qc = _mm512_loadu_ps(q + 16 * c);
      a0 = _mm512_fmadd_ps(halves16(k + 16 * c), qc, a0);
      a1 = _mm512_fmadd_ps(halves16(k + stride + 16 * c), qc, a1);
      a2 = _mm512_fmadd_ps(halves16(k + 2 * stride + 16 * c), qc, a2);
      a3 = _mm512_fmadd_ps(halves16(k + 3 * stride + 16 * c), qc, a3);
    }
    _mm_storeu_ps(scores + p, _mm_mul_ps(sum4(a0, a1, a2, a3), s));
  }
  for (; p < n_pos; ++p) {
    __m512 a = _mm512_setzero_ps();
    for (int64_t c = 0; c < chunks; ++c)
      a = _mm512_fmadd_ps(halves16(keys + p * stride + 16 * c), _mm512_loadu_ps(q + 16 * c), a);
    scores[p] = _mm512_reduce_add_ps(a) * scale;
  }
}

// scores <- softmax(scores).
void softmax16(float* scores, int64_t n) {
  __m512 m = _mm512_set1_ps(scores[0]);
  for (int64_t i = 0; i < n; i += 16)
    m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(static_cast<size_t>(n - i)),
                                              scores + i));  // never past n
  const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(m));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = tail_mask(static_cast<size_t>(n - i));
    const __m512 e = exp_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(live, scores + i), max));
    _mm512_mask_storeu_ps(scores + i, live, e);
    sum = _mm512_mask_add_ps(sum, live, sum, e);
  }
  const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 live = tail_mask(static_cast<size_t>(n - i));
    _mm512_mask_storeu_ps(scores + i, live,
                          _mm512_mul_ps(_mm512_maskz_loadu_ps(live, scores + i), inv));
  }
}

// out = sum over p of weights[p] * V[p]: per 16 dimensions, four positions' chains in flight.
void weighted_values_f16(const float* weights, const uint16_t* values, int64_t stride,
                         int64_t n_pos, int chunks, float* out) {
  for (int64_t c = 0; c < chunks; ++c) {
    const uint16_t* v = values + 16 * c;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int64_t p = 0;
    for (; p + 4 <= n_pos; p += 4, v += 4 * stride) {
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(weights[p]), halves16(v), a0);
      a1 = _mm512_fmadd_ps(_mm512_set1_ps(weights[p + 1]), halves16(v + stride), a1);
      a2 = _mm512_fmadd_ps(_mm512_set1_ps(weights[p + 2]), halves16(v + 2 * stride), a2);
      a3 = _mm512_fmadd_ps(_mm512_set1_ps(weights[p + 3]), halves16(v + 3 * stride), a3);
    }
    for (; p < n_pos; ++p, v += stride)
      a0 = _mm512_fmadd_ps(_mm512_set1_ps(weights[p]), halves16(v), a0);
    _mm512_storeu_ps(out + 16 * c, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  }
}

}  // namespace

void avx512_attend_f16(const float* q, const uint16_t* keys, const uint16_t* values, int64_t stride,
                       int64_t n_pos, int32_t head_dim, float scale, float* scores, float* out) {
  const int chunks = head_dim / 16;
  scores_f16(q, keys, stride, n_pos, chunks, scale, scores);
  softmax16(scores, n_pos);
  weighted_values_f16(scores, values, stride, n_pos, chunks, out);
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_attend_f16(const float*, const uint16_t*, const uint16_t*, int64_t, int64_t, int32_t,
                       float, float*, float*) {}
}  // namespace plinth::engine::kernels

#endif
