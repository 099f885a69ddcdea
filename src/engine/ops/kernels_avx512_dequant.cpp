// AVX-512 dequantizers for the exact path: bit-identical to reference_dequantize_row.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__F16C__)
#include <immintrin.h>

namespace plinth::engine::kernels {
namespace {

// The reference computes each value with one multiply (and one subtract for K-quant minimums),
// never a fused multiply-add, so these use separate mul / sub to round identically.
inline float half(uint16_t h) { return _cvtsh_ss(h); }
inline __m128i load16(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// 16 signed bytes -> 16 floats.
inline __m512 bytes_to_float(__m128i b) { return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(b)); }

void dequantize_q8_0(const BlockQ8_0* blocks, float* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
    __m512 d = _mm512_set1_ps(half(blocks[b].d));
    _mm512_storeu_ps(y, _mm512_mul_ps(d, bytes_to_float(load16(blocks[b].qs))));
    _mm512_storeu_ps(y + 16, _mm512_mul_ps(d, bytes_to_float(load16(blocks[b].qs + 16))));
  }
}

void dequantize_q4_0_or_q5_0(GgmlType t, const uint8_t* src, float* y, int64_t n) {
  const bool five = t == GgmlType::kQ5_0;
  const size_t bytes = five ? sizeof(BlockQ5_0) : sizeof(BlockQ4_0);
  for (int64_t b = 0; b < n / kQK; ++b, y += kQK, src += bytes) {
    uint16_t dh;
    std::memcpy(&dh, src, 2);
    __m512 d = _mm512_set1_ps(half(dh));
    __m128i packed = load16(src + (five ? 6 : 2));
    __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    if (five) {
      uint32_t qh;
      std::memcpy(&qh, src + 2, 4);
      lo = _mm_or_si128(lo, _mm_maskz_mov_epi8(static_cast<__mmask16>(qh), _mm_set1_epi8(0x10)));
      hi = _mm_or_si128(hi,
                        _mm_maskz_mov_epi8(static_cast<__mmask16>(qh >> 16), _mm_set1_epi8(0x10)));
    }
    __m128i offset = _mm_set1_epi8(five ? 16 : 8);
    _mm512_storeu_ps(y, _mm512_mul_ps(d, bytes_to_float(_mm_sub_epi8(lo, offset))));
    _mm512_storeu_ps(y + 16, _mm512_mul_ps(d, bytes_to_float(_mm_sub_epi8(hi, offset))));
  }
}

// Q4_K / Q5_K: y = (d * scale) * q - (dmin * min), per 32-value sub-block.
template <bool kFiveBit>
void dequantize_q45_K(const uint8_t* src, float* y, int64_t n) {
  using Block = std::conditional_t<kFiveBit, BlockQ5K, BlockQ4K>;
  const auto* blocks = reinterpret_cast<const Block*>(src);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const Block& blk = blocks[b];
    const float d = half(blk.d), dmin = half(blk.dmin);
    for (int j = 0; j < 4; ++j, y += 64) {
      uint8_t sc0, m0, sc1, m1;
      k_scale_min(2 * j, blk.scales, &sc0, &m0);
      k_scale_min(2 * j + 1, blk.scales, &sc1, &m1);
      __m512 d0 = _mm512_set1_ps(d * sc0), min0 = _mm512_set1_ps(dmin * m0);
      __m512 d1 = _mm512_set1_ps(d * sc1), min1 = _mm512_set1_ps(dmin * m1);
      for (int half_index = 0; half_index < 2; ++half_index) {
        const int l = 16 * half_index;
        __m128i packed = load16(blk.qs + 32 * j + l);
        __m128i lo = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
        __m128i hi = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
        if constexpr (kFiveBit) {
          __m128i h = load16(blk.qh + l);
          __m128i one = _mm_set1_epi8(1);
          lo = _mm_or_si128(
              lo,
              _mm_slli_epi16(_mm_and_si128(_mm_srl_epi16(h, _mm_cvtsi32_si128(2 * j)), one), 4));
          hi = _mm_or_si128(
              hi, _mm_slli_epi16(_mm_and_si128(_mm_srl_epi16(h, _mm_cvtsi32_si128(2 * j + 1)), one),
                                 4));
        }
        _mm512_storeu_ps(y + l, _mm512_sub_ps(_mm512_mul_ps(d0, bytes_to_float(lo)), min0));
        _mm512_storeu_ps(y + 32 + l, _mm512_sub_ps(_mm512_mul_ps(d1, bytes_to_float(hi)), min1));
      }
    }
  }
}

// Q6_K: y = (d * scale) * (q - 32), per 16-value group.
void dequantize_q6_K(const BlockQ6K* blocks, float* y, int64_t n) {
  const __m128i low = _mm_set1_epi8(0x0F), two = _mm_set1_epi8(3), offset = _mm_set1_epi8(32);
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const BlockQ6K& blk = blocks[b];
    const float d = half(blk.d);
    for (int h = 0; h < 2; ++h, y += 128) {
      for (int part = 0; part < 2; ++part) {  // l = 0..15, then 16..31
        const int l = 16 * part;
        __m128i l0 = load16(blk.ql + 64 * h + l), l1 = load16(blk.ql + 64 * h + 32 + l);
        __m128i hb = load16(blk.qh + 32 * h + l);
        auto high = [&](int shift) {
          return _mm_slli_epi16(_mm_and_si128(_mm_srl_epi16(hb, _mm_cvtsi32_si128(shift)), two), 4);
        };
        __m128i q[4] = {_mm_or_si128(_mm_and_si128(l0, low), high(0)),
                        _mm_or_si128(_mm_and_si128(l1, low), high(2)),
                        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(l0, 4), low), high(4)),
                        _mm_or_si128(_mm_and_si128(_mm_srli_epi16(l1, 4), low), high(6))};
        for (int k = 0; k < 4; ++k) {
          __m512 scale = _mm512_set1_ps(d * blk.scales[8 * h + part + 2 * k]);
          _mm512_storeu_ps(y + 32 * k + l,
                           _mm512_mul_ps(scale, bytes_to_float(_mm_sub_epi8(q[k], offset))));
        }
      }
    }
  }
}

}  // namespace

void avx512_dequantize(GgmlType t, const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (t) {
    case GgmlType::kQ8_0:
      return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, n);
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
      return dequantize_q4_0_or_q5_0(t, bytes, dst, n);
    case GgmlType::kQ4_K:
      return dequantize_q45_K<false>(bytes, dst, n);
    case GgmlType::kQ5_K:
      return dequantize_q45_K<true>(bytes, dst, n);
    case GgmlType::kQ6_K:
      return dequantize_q6_K(static_cast<const BlockQ6K*>(src), dst, n);
    case GgmlType::kF16: {
      int64_t i = 0;
      for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(
            dst + i,
            _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(bytes + 2 * i))));
      if (i < n) reference_dequantize_row(t, bytes + 2 * i, dst + i, n - i);
      return;
    }
    default:
      return reference_dequantize_row(t, src, dst, n);
  }
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
void avx512_dequantize(GgmlType t, const void* src, float* dst, int64_t n) {
  reference_dequantize_row(t, src, dst, n);
}
}  // namespace plinth::engine::kernels

#endif
