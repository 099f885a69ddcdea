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
  static constexpr size_t kBlockBytes = kPanelRows * sizeof(BlockQ8_0);
  static void groups(const uint8_t* body, __m512i* w) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) w[k] = _mm512_loadu_si512(body + 64 * k);
  }
};
template <>
struct Unpack<GgmlType::kQ4_0> {
  static constexpr size_t kBlockBytes = kPanelRows * sizeof(BlockQ4_0);
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
  static constexpr size_t kBlockBytes = kPanelRows * sizeof(BlockQ5_0);
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

// One token's 8 vpdpbusd against a block's eight weight groups: values 0..15 into s0, 16..31
// into s1. Two chains of four keep the dependent sequences short when few tokens interleave.
inline void token_dots(const __m512i* w, const int8_t* q, __m512i& s0, __m512i& s1) {
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    s0 = _mm512_dpbusd_epi32(s0, w[k], broadcast4(q + 4 * k));
    s1 = _mm512_dpbusd_epi32(s1, w[k + 4], broadcast4(q + 16 + 4 * k));
  }
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
    // prefetcher, paced by that, left a 145 MB Q8_0 matrix at 198 GMAC/s from memory against 270
    // with this (2 threads; no change for one token, which memory bounds either way).
    for (size_t line = 0; line < Unpack<kType>::kBlockBytes; line += 64)
      _mm_prefetch(reinterpret_cast<const char*>(panel) + kPrefetchAhead + line, _MM_HINT_T0);
    __m512i w[8];
    Unpack<kType>::groups(panel + panel_layout::kBody, w);
    // Unrolled: GCC at -O2 leaves short loops rolled and keeps w and acc in memory.
#pragma GCC unroll 16
    for (int i = 0; i < kTokens; ++i) {
      const PanelActivation& x = xs[i][b];
      __m512i s0 = _mm512_set1_epi32(-offset * x.sum), s1 = _mm512_setzero_si512();
      token_dots(w, x.q, s0, s1);
      const __m512 scale = _mm512_mul_ps(row_scales, _mm512_set1_ps(x.d));
      acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[i]);
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) _mm512_storeu_ps(ys[i], acc[i]);
}

// Q4_K / Q5_K (see panels.cpp for the layout): per super-block the 16 rows' eight scales and
// minimums come out of the packed 6-bit bytes with byte-wise shifts and masks, once for every
// token; per 32-value sub-block each token then takes 8 vpdpbusd (nibbles 0..15, no offset), a
// scale FMA and a minimum FMA. Q5_K adds the rows' qh bytes before the nibbles: bit s of a byte is
// the fifth bit of sub-block s, one vptestmb and a masked add per group.

// Byte j of each row's 32-bit lane, as a float.
inline __m512 byte_of_row(__m512i v, int j) {
  return _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_srli_epi32(v, 8 * j), _mm512_set1_epi32(0xFF)));
}

template <bool kFiveBit, int kTokens>
void panel_tile_q45_K(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                      float* const* ys) {
  constexpr size_t kBlockBytes = kPanelRows * (kFiveBit ? sizeof(BlockQ5K) : sizeof(BlockQ4K));
  constexpr int kSubBlocks = kQKK / kQK;
  const __m512i low = _mm512_set1_epi8(0x0F), six = _mm512_set1_epi8(0x3F),
                top = _mm512_set1_epi8(0x30);
  __m512 acc[kTokens];
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < blocks / kSubBlocks; ++sb, panel += kBlockBytes) {
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)));
    const __m512 dmin = _mm512_cvtph_ps(
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + panel_layout::kKMins)));
    // Bytes 0..3, 4..7 and 8..11 of each row's packed scales; llama.cpp's get_scale_min_k4:
    // sub-blocks 0..3 take the low 6 bits of bytes j (scale) and 4 + j (min), sub-blocks 4..7 a
    // nibble of byte 8 + j and the top 2 bits of bytes j and 4 + j.
    const uint8_t* packed = panel + panel_layout::kKScales;
    const __m512i v0 = _mm512_loadu_si512(packed), v1 = _mm512_loadu_si512(packed + 64),
                  v2 = _mm512_loadu_si512(packed + 128);
    const __m512i scales[2] = {_mm512_and_si512(v0, six),
                               _mm512_or_si512(_mm512_and_si512(v2, low),
                                               _mm512_and_si512(_mm512_srli_epi16(v0, 2), top))};
    const __m512i mins[2] = {_mm512_and_si512(v1, six),
                             _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(v2, 4), low),
                                             _mm512_and_si512(_mm512_srli_epi16(v1, 2), top))};
    const uint8_t* high = panel + panel_layout::kQ5KHigh;  // Q5_K
    const uint8_t* nibbles =
        panel + (kFiveBit ? panel_layout::kQ5KNibbles : panel_layout::kQ4KNibbles);
#pragma GCC unroll 1
    for (int j = 0; j < kSubBlocks; ++j) {
      // The super-block 4 KB ahead, an eighth per sub-block: all 36 lines at once (the Q8_0
      // family's per-block burst) left a 67 MB matrix at 205 GMAC/s from memory, spread 285.
      const size_t part = kBlockBytes / kSubBlocks;
      for (size_t line = j * part; line < (j + 1) * part; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(panel) + kPrefetchAhead + line, _MM_HINT_T0);
      const __m512 row_scale = _mm512_mul_ps(d, byte_of_row(scales[j / 4], j % 4));
      const __m512 row_min = _mm512_mul_ps(dmin, byte_of_row(mins[j / 4], j % 4));
      __m512i w[8];
      const uint8_t* pair = nibbles + 512 * (j / 2);
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m512i v = _mm512_loadu_si512(pair + 64 * k);
        w[k] = _mm512_and_si512(j % 2 == 0 ? v : _mm512_srli_epi16(v, 4), low);
        if constexpr (kFiveBit) {
          const __mmask64 set = _mm512_test_epi8_mask(_mm512_loadu_si512(high + 64 * k),
                                                      _mm512_set1_epi8(static_cast<char>(1 << j)));
          w[k] = _mm512_mask_add_epi8(w[k], set, w[k], _mm512_set1_epi8(16));
        }
      }
#pragma GCC unroll 16
      for (int i = 0; i < kTokens; ++i) {
        const PanelActivation& x = xs[i][sb * kSubBlocks + j];
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
        token_dots(w, x.q, s0, s1);
        const __m512 scale = _mm512_mul_ps(row_scale, _mm512_set1_ps(x.d));
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[i]);
        acc[i] =
            _mm512_fmadd_ps(row_min, _mm512_set1_ps(-(x.d * static_cast<float>(x.sum))), acc[i]);
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) _mm512_storeu_ps(ys[i], acc[i]);
}

// Q6_K (see panels.cpp for the layout): per super-block the 16 rows' int8 scales come out of four
// vectors with a shift pair each; per 32-value sub-block the weights are assembled from a nibble
// of ql and two bits of qh, and each token takes two chains of 4 vpdpbusd (one per 16-value
// half, started at -32 * the half's sum) and one FMA per half.
constexpr size_t kQ6KBlockBytes = kPanelRows * sizeof(BlockQ6K);

// Signed byte j of each row's 32-bit lane, as a float.
inline __m512 signed_byte_of_row(__m512i v, int j) {
  return _mm512_cvtepi32_ps(_mm512_srai_epi32(_mm512_slli_epi32(v, 24 - 8 * j), 24));
}

template <int kTokens>
void panel_tile_q6_K(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                     float* const* ys) {
  constexpr int kSubBlocks = kQKK / kQK;
  const __m512i low = _mm512_set1_epi8(0x0F), top = _mm512_set1_epi8(0x30);
  __m512 acc[kTokens];
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) acc[i] = _mm512_setzero_ps();
  for (int64_t sb = 0; sb < blocks / kSubBlocks; ++sb, panel += kQ6KBlockBytes) {
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel)));
#pragma GCC unroll 1
    for (int j = 0; j < kSubBlocks; ++j) {
      const size_t part = kQ6KBlockBytes / kSubBlocks;  // prefetched 4 KB ahead, spread
      for (size_t line = j * part; line < (j + 1) * part; line += 64)
        _mm_prefetch(reinterpret_cast<const char*>(panel) + kPrefetchAhead + line, _MM_HINT_T0);
      const __m512i scales = _mm512_loadu_si512(panel + panel_layout::kQ6KScales + 64 * (j / 2));
      const __m512 row_scale[2] = {_mm512_mul_ps(d, signed_byte_of_row(scales, 2 * (j % 2))),
                                   _mm512_mul_ps(d, signed_byte_of_row(scales, 2 * (j % 2) + 1))};
      const int half = j / 4, s = j % 4;
      const uint8_t* ql = panel + panel_layout::kQ6KLow + 512 * (2 * half + s % 2);
      const uint8_t* qh = panel + panel_layout::kQ6KHigh + 512 * half;
      __m512i w[8];
#pragma GCC unroll 8
      for (int k = 0; k < 8; ++k) {
        const __m512i l = _mm512_loadu_si512(ql + 64 * k), h = _mm512_loadu_si512(qh + 64 * k);
        const __m512i nibble = _mm512_and_si512(s < 2 ? l : _mm512_srli_epi16(l, 4), low);
        // Bits 2s and 2s + 1 of qh to bits 4 and 5 (16-bit shifts: what crosses a byte is masked).
        const __m512i bits =
            s < 2 ? _mm512_slli_epi16(h, 4 - 2 * s) : _mm512_srli_epi16(h, 2 * s - 4);
        w[k] = _mm512_or_si512(nibble, _mm512_and_si512(bits, top));
      }
#pragma GCC unroll 16
      for (int i = 0; i < kTokens; ++i) {
        const PanelActivation& x = xs[i][sb * kSubBlocks + j];
        __m512i s0 = _mm512_set1_epi32(-32 * x.sum_low);
        __m512i s1 = _mm512_set1_epi32(-32 * (x.sum - x.sum_low));
        token_dots(w, x.q, s0, s1);
        const __m512 dx = _mm512_set1_ps(x.d);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0), _mm512_mul_ps(row_scale[0], dx), acc[i]);
        acc[i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1), _mm512_mul_ps(row_scale[1], dx), acc[i]);
      }
    }
  }
#pragma GCC unroll 16
  for (int i = 0; i < kTokens; ++i) _mm512_storeu_ps(ys[i], acc[i]);
}

// The kernel for kType and kTokens tokens.
template <GgmlType kType, int kTokens>
void tile_for(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
              float* const* ys) {
  if constexpr (kType == GgmlType::kQ4_K) {
    panel_tile_q45_K<false, kTokens>(blocks, panel, xs, ys);
  } else if constexpr (kType == GgmlType::kQ5_K) {
    panel_tile_q45_K<true, kTokens>(blocks, panel, xs, ys);
  } else if constexpr (kType == GgmlType::kQ6_K) {
    panel_tile_q6_K<kTokens>(blocks, panel, xs, ys);
  } else {
    panel_tile<kType, kTokens>(blocks, panel, xs, ys);
  }
}

template <GgmlType kType>
void panel_tile_any(int64_t blocks, const uint8_t* panel, const PanelActivation* const* xs,
                    int tokens, float* const* ys) {
  // clang-format off
  switch (tokens) {
    case 1: return tile_for<kType, 1>(blocks, panel, xs, ys);
    case 2: return tile_for<kType, 2>(blocks, panel, xs, ys);
    case 3: return tile_for<kType, 3>(blocks, panel, xs, ys);
    case 4: return tile_for<kType, 4>(blocks, panel, xs, ys);
    case 5: return tile_for<kType, 5>(blocks, panel, xs, ys);
    case 6: return tile_for<kType, 6>(blocks, panel, xs, ys);
    case 7: return tile_for<kType, 7>(blocks, panel, xs, ys);
    case 8: return tile_for<kType, 8>(blocks, panel, xs, ys);
    case 16: return tile_for<kType, 16>(blocks, panel, xs, ys);
    default: break;
  }
  // clang-format on
  tile_for<kType, 8>(blocks, panel, xs, ys);  // 9 to 15: eight, then the rest
  panel_tile_any<kType>(blocks, panel, xs + 8, tokens - 8, ys + 8);
}

}  // namespace

void avx512_quantize_panels(const float* x, int64_t cols, PanelActivation* out) {
  for (int64_t b = 0; b < cols / kQK; ++b, x += kQK) {
    // quantize_row_q8_0's arithmetic: amax / 127, x * (1 / d) rounded to nearest even (the
    // default MXCSR mode of vcvtps2dq), the f16-rounded d as the scale.
    const __m512 v0 = _mm512_loadu_ps(x), v1 = _mm512_loadu_ps(x + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
    const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q), _mm512_cvtepi32_epi8(q0));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out[b].q + 16), _mm512_cvtepi32_epi8(q1));
    out[b].d = fp16_to_fp32(fp32_to_fp16(d));
    out[b].sum_low = _mm512_reduce_add_epi32(q0);
    out[b].sum = out[b].sum_low + _mm512_reduce_add_epi32(q1);
  }
}

void avx512_panel_tile(GgmlType t, int64_t blocks, const uint8_t* panel,
                       const PanelActivation* const* xs, int tokens, float* const* ys) {
  switch (t) {
    case GgmlType::kQ8_0:
      return panel_tile_any<GgmlType::kQ8_0>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ4_0:
      return panel_tile_any<GgmlType::kQ4_0>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ4_K:
      return panel_tile_any<GgmlType::kQ4_K>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ5_K:
      return panel_tile_any<GgmlType::kQ5_K>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ6_K:
      return panel_tile_any<GgmlType::kQ6_K>(blocks, panel, xs, tokens, ys);
    case GgmlType::kQ5_0:
      return panel_tile_any<GgmlType::kQ5_0>(blocks, panel, xs, tokens, ys);
    default:
      return;  // no other type is stored in panels (panels_fit)
  }
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_panel_tile(GgmlType, int64_t, const uint8_t*, const PanelActivation* const*, int,
                       float* const*) {}
void avx512_quantize_panels(const float*, int64_t, PanelActivation*) {}
}  // namespace plinth::engine::kernels

#endif
