// AVX-512 panel kernels (see panels.h): 16 rows of a panel against up to 16 tokens. Per block,
// the eight 4-value groups of the 16 rows are unpacked into eight vectors once; each token then
// takes 8 vpdpbusd against its 4-byte groups broadcast from memory, one conversion, one scale
// product and one FMA, and its 16 sums stay in one register until the single store at the end.
#include "ops/panels.h"
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

namespace plinth::engine::kernels {
namespace {

// The eight groups of one panel block as unsigned bytes (value + panel_weight_offset).
template <GgmlType kType>
struct Unpack;
template <>
struct Unpack<GgmlType::kQ8_0> {
  static constexpr size_t kBlockBytes = 16 * sizeof(BlockQ8_0);
  static void groups(const uint8_t* body, __m512i* w) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) w[k] = _mm512_loadu_si512(body + 64 * k);
  }
};
template <>
struct Unpack<GgmlType::kQ4_0> {
  static constexpr size_t kBlockBytes = 16 * sizeof(BlockQ4_0);
  static void groups(const uint8_t* body, __m512i* w) {
    const __m512i low = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 4
    for (int j = 0; j < 4; ++j) {
      const __m512i v = _mm512_loadu_si512(body + 64 * j);
      w[j] = _mm512_and_si512(v, low);
      w[j + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
    }
  }
};
template <>
struct Unpack<GgmlType::kQ5_0> {
  static constexpr size_t kBlockBytes = 16 * sizeof(BlockQ5_0);
  static void groups(const uint8_t* body, __m512i* w) {
    Unpack<GgmlType::kQ4_0>::groups(body + 64, w);
    // Bit k of each byte of the fifth-bit vector belongs to group k: add 16 where it is set.
    const __m512i fifth = _mm512_loadu_si512(body);
    const __m512i sixteen = _mm512_set1_epi8(16);
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      const __mmask64 set =
          _mm512_test_epi8_mask(fifth, _mm512_set1_epi8(static_cast<char>(1 << k)));
      w[k] = _mm512_mask_add_epi8(w[k], set, w[k], sixteen);
    }
  }
};

constexpr size_t kPrefetchAhead = 4096;

inline __m512i broadcast4(const int8_t* q) {
  int32_t v;
  std::memcpy(&v, q, 4);
  return _mm512_set1_epi32(v);
}

template <GgmlType kType, int kTokens>
void panel_tile(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                float* const* ys) {
  const int32_t offset = panel_weight_offset(kType);
  __m512 acc[kTokens];
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b, panel += Unpack<kType>::kBlockBytes) {
    const __m512 row_scales =
        _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)));
    // The lines 4 KB ahead: with 16 tokens a block takes ~200 instructions, and the hardware
    // prefetcher, paced by that, left a 150 MB Q8_0 matrix at 198 GMAC/s from memory against 270
    // with this (2 threads; no change for one token, which memory bounds either way).
    for (size_t line = 0; line < Unpack<kType>::kBlockBytes; line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(panel) + kPrefetchAhead + line, _MM_HINT_T0);
    __m512i w[8];
    Unpack<kType>::groups(panel + 32, w);
    // Unrolled: GCC at -O2 leaves short loops rolled and keeps w and acc in memory.
#pragma GCC unroll 16
    for (int i = 0; i < kTokens; ++i) {
      const PanelActivation& x = xs[i][b];
      // Two chains of four: the dependent vpdpbusd sequences stay short for one token.
      __m512i s0 = _mm512_set1_epi32(-offset * x.sum), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
      for (int k = 0; k < 4; ++k) {
        s0 = _mm512_dpbusd_epi32(s0, w[k], broadcast4(x.q + 4 * k));
        s1 = _mm512_dpbusd_epi32(s1, w[k + 4], broadcast4(x.q + 16 + 4 * k));
      }
      const __m512 scale = _mm512_mul_ps(row_scales, _mm512_set1_ps(x.d));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) _mm512_storeu_ps(ys[i], acc[i]);
}

template <GgmlType kType>
void panel_tile_any(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                    int tokens, float* const* ys) {
  // clang-format off
  switch (tokens) {
    case 1: return panel_tile<kType, 1>(blocks, panel, xs, ys);
    case 2: return panel_tile<kType, 2>(blocks, panel, xs, ys);
    case 3: return panel_tile<kType, 3>(blocks, panel, xs, ys);
    case 4: return panel_tile<kType, 4>(blocks, panel, xs, ys);
    case 5: return panel_tile<kType, 5>(blocks, panel, xs, ys);
    case 6: return panel_tile<kType, 6>(blocks, panel, xs, ys);
    case 7: return panel_tile<kType, 7>(blocks, panel, xs, ys);
    case 8: return panel_tile<kType, 8>(blocks, panel, xs, ys);
    case 16: return panel_tile<kType, 16>(blocks, panel, xs, ys);
    default: break;
  }
  // clang-format on
  panel_tile<kType, 8>(blocks, panel, xs, ys);  // 9 to 15: eight, then the rest
  panel_tile_any<kType>(blocks, panel, xs + 8, tokens - 8, ys + 8);
}

}  // namespace

void avx512_panel_tile(GgmlType t, int64_t blocks, const uint8_t* panel,
                       const PanelActivation* const* xs, int tokens, float* const* ys) {
  switch (t) {
    case GgmlType::kQ8_0:
      return panel_tile_any<GgmlType::kQ8_0>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ4_0:
      return panel_tile_any<GgmlType::kQ4_0>(blocks, panel, xs, tokens, ys);
    default:
      return panel_tile_any<GgmlType::kQ5_0>(blocks, panel, xs, tokens, ys);
  }
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_panel_tile(GgmlType, int64_t, const uint8_t*, const PanelActivation* const*, int,
                       float* const*) {}
}  // namespace plinth::engine::kernels

#endif
