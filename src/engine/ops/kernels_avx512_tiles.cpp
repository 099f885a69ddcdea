// AVX-512 K-quant tiles: one Q4_K / Q5_K / Q6_K row against up to 8 tokens, unpacked once.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include <type_traits>

namespace plinth::engine::kernels {
namespace {

// Q6_K scale lanes: int16 lane i of vector k (values 64k + 2i, 2i + 1) is in group 4k + i / 8.
struct ScaleIndex {
  alignas(64) int16_t lanes[4][32];
};
constexpr ScaleIndex make_q6_scale_index() {
  ScaleIndex r{};
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 32; ++i) r.lanes[k][i] = static_cast<int16_t>(4 * k + i / 8);
  return r;
}
constexpr ScaleIndex kQ6ScaleIndex = make_q6_scale_index();
// Q4_K / Q5_K scale lanes: vector j holds sub-blocks 2j (int16 lanes 0..15) and 2j + 1.
constexpr ScaleIndex make_q45_scale_index() {
  ScaleIndex r{};
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 32; ++i) r.lanes[j][i] = static_cast<int16_t>(2 * j + i / 16);
  return r;
}
constexpr ScaleIndex kQ45ScaleIndex = make_q45_scale_index();

inline float half(uint16_t h) { return _cvtsh_ss(h); }
inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}
inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The next rows' bytes at `prefetch` past each super-block (0: none), a line at a time.
template <typename Block>
inline void prefetch_block(const Block* block, int64_t prefetch) {
  if (prefetch == 0) return;
  const char* p = reinterpret_cast<const char*>(block) + prefetch;
  for (size_t at = 0; at < sizeof(Block); at += 64) _mm_prefetch(p + at, _MM_HINT_T0);
}

constexpr int64_t kAhead = 1;
// Batched decode: the next super-block's activations of every token, so they come back into L1
// ahead of use after the weight stream evicted them.
template <int kTokens>
inline void prefetch_activations(const BlockQ8K* const* x, int64_t b, int64_t blocks) {
  if constexpr (kTokens >= 2) {
    if (b + kAhead >= blocks) return;
#pragma GCC unroll 8
    for (int t = 0; t < kTokens; ++t) {
      const char* p = reinterpret_cast<const char*>(&x[t][b + kAhead]);
      for (size_t at = 0; at < sizeof(BlockQ8K); at += 64) _mm_prefetch(p + at, _MM_HINT_T0);
      _mm_prefetch(p + sizeof(BlockQ8K) - 1, _MM_HINT_T0);
    }
  }
}

// The loops carry `#pragma GCC unroll`: GCC at -O2 leaves them rolled, and the weight vectors and
// per-token accumulators then live on the stack, reloaded for every token.

// Q4_K / Q5_K: 64 values (two sub-blocks) per 512-bit vector, unsigned, times q8 via maddubs,
// scaled per sub-block and accumulated with vpdpwssd; minimums from the activation block sums.
template <int kTokens, bool kFiveBit>
void tile_q45_K(int64_t n, const void* w, const BlockQ8K* const* x, int64_t prefetch, float* out) {
  using Block = std::conditional_t<kFiveBit, BlockQ5K, BlockQ4K>;
  const auto* wb = static_cast<const Block*>(w);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m512 acc[kTokens];
  __m256 acc_min[kTokens];
  for (int t = 0; t < kTokens; ++t) acc[t] = _mm512_setzero_ps(), acc_min[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQKK; ++b) {
    prefetch_block(&wb[b], prefetch);
    prefetch_activations<kTokens>(x, b, n / kQKK);
    // The eight 6-bit scales (bytes 0..7) and minimums (bytes 8..15), widened to int16 in one
    // vector.
    alignas(16) uint8_t scales_mins[16];
    k_scales_and_mins(wb[b].scales, scales_mins);
    const __m128i bytes = _mm_load_si128(reinterpret_cast<const __m128i*>(scales_mins));
    const __m512i scales16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(bytes));
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_srli_si128(bytes, 8));
    const __m256i mins =  // each minimum twice: one per 16-value activation sum
        _mm256_set_m128i(_mm_unpackhi_epi16(mins16, mins16), _mm_unpacklo_epi16(mins16, mins16));
    __m512i q[4], scale[4];
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFiveBit) hbits = load32(wb[b].qh);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      __m256i bits = load32(wb[b].qs + 32 * j);
      __m256i lo = _mm256_and_si256(bits, low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low_mask);
      if constexpr (kFiveBit) {
        __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j)), one);
        __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j + 1)), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
      }
      q[j] = join(lo, hi);
      scale[j] = _mm512_permutexvar_epi16(_mm512_load_si512(kQ45ScaleIndex.lanes[j]), scales16);
    }
    const float d = half(wb[b].d), dmin = half(wb[b].dmin);
#pragma GCC unroll 8
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8K& xb = x[t][b];
      __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) {
        __m512i xv = _mm512_loadu_si512(xb.qs + 64 * j);
        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q[j], xv), scale[j]);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xb.d), _mm512_cvtepi32_ps(sumi), acc[t]);
      __m256i bsum_min = _mm256_madd_epi16(load32(xb.bsums), mins);
      acc_min[t] =
          _mm256_fmadd_ps(_mm256_set1_ps(dmin * xb.d), _mm256_cvtepi32_ps(bsum_min), acc_min[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) - hsum256(acc_min[t]);
}

// Q6_K: values 0..63 (the -32 offset applied through the block sums), 16-value int8 scales.
template <int kTokens>
void tile_q6_K(int64_t n, const void* w, const BlockQ8K* const* x, int64_t prefetch, float* out) {
  const auto* wb = static_cast<const BlockQ6K*>(w);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(3);
  __m512 acc[kTokens];
  __m256 acc_offset[kTokens];
  for (int t = 0; t < kTokens; ++t)
    acc[t] = _mm512_setzero_ps(), acc_offset[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQKK; ++b) {
    prefetch_block(&wb[b], prefetch);
    prefetch_activations<kTokens>(x, b, n / kQKK);
    __m512i q[4], scale[4];
#pragma GCC unroll 2
    for (int h = 0; h < 2; ++h) {
      __m256i l0 = load32(wb[b].ql + 64 * h), l1 = load32(wb[b].ql + 64 * h + 32);
      __m256i hb = load32(wb[b].qh + 32 * h);
      auto high = [&](int shift) {
        return _mm256_slli_epi16(
            _mm256_and_si256(_mm256_srl_epi16(hb, _mm_cvtsi32_si128(shift)), two_bits), 4);
      };
      __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, low_mask), high(0));
      __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, low_mask), high(2));
      __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low_mask), high(4));
      __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low_mask), high(6));
      q[2 * h] = join(q0, q1);      // values 128h + 0..63
      q[2 * h + 1] = join(q2, q3);  // values 128h + 64..127
    }
    __m256i scales16 =
        _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb[b].scales)));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k)
      scale[k] = _mm512_permutexvar_epi16(_mm512_load_si512(kQ6ScaleIndex.lanes[k]),
                                          _mm512_castsi256_si512(scales16));
    const float d = half(wb[b].d);
#pragma GCC unroll 8
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8K& xb = x[t][b];
      __m512i sumi = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        __m512i xv = _mm512_loadu_si512(xb.qs + 64 * k);
        sumi = _mm512_dpwssd_epi32(sumi, _mm512_maddubs_epi16(q[k], xv), scale[k]);
      }
      acc[t] = _mm512_fmadd_ps(_mm512_set1_ps(d * xb.d), _mm512_cvtepi32_ps(sumi), acc[t]);
      __m256i offset = _mm256_madd_epi16(load32(xb.bsums), scales16);
      acc_offset[t] = _mm256_fmadd_ps(_mm256_set1_ps(-32.0f * d * xb.d), _mm256_cvtepi32_ps(offset),
                                      acc_offset[t]);
    }
  }
  for (int t = 0; t < kTokens; ++t) out[t] = _mm512_reduce_add_ps(acc[t]) + hsum256(acc_offset[t]);
}

template <int kTokens>
void tile_k_n(GgmlType t, int64_t n, const void* w, const BlockQ8K* const* x, int64_t prefetch,
              float* out) {
  switch (t) {
    case GgmlType::kQ4_K:
      return tile_q45_K<kTokens, false>(n, w, x, prefetch, out);
    case GgmlType::kQ5_K:
      return tile_q45_K<kTokens, true>(n, w, x, prefetch, out);
    default:
      return tile_q6_K<kTokens>(n, w, x, prefetch, out);
  }
}

}  // namespace

void avx512_tile_k(GgmlType t, int64_t n, const void* w, const BlockQ8K* const* x, int tokens,
                   int64_t prefetch, float* out) {
  // clang-format off
  switch (tokens) {
    case 1: return tile_k_n<1>(t, n, w, x, prefetch, out);
    case 2: return tile_k_n<2>(t, n, w, x, prefetch, out);
    case 3: return tile_k_n<3>(t, n, w, x, prefetch, out);
    case 4: return tile_k_n<4>(t, n, w, x, prefetch, out);
    case 5: return tile_k_n<5>(t, n, w, x, prefetch, out);
    case 6: return tile_k_n<6>(t, n, w, x, prefetch, out);
    case 7: return tile_k_n<7>(t, n, w, x, prefetch, out);
    default: return tile_k_n<8>(t, n, w, x, prefetch, out);
  }
  // clang-format on
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_tile_k(GgmlType, int64_t, const void*, const BlockQ8K* const*, int, int64_t, float*) {}
}  // namespace plinth::engine::kernels

#endif
