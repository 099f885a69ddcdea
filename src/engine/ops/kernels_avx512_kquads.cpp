// AVX-512 quad tiles for K-quant rows (Q4_K / Q5_K / Q6_K) against groups of four tokens in the
// quad layout: batched decode and prompts. The one-row K tiles (kernels_avx512_tiles.cpp) pair a
// row with Q8_K tokens through maddubs + vpdpwssd, two instructions per 64 products, plus a
// conversion and an FMA per token and super-block. Here each 32-value sub-block is handled like a
// Q8_0-family block of the quad tile: 8 vpdpbusd give the integer dots of 4 rows x 4 tokens, and
// the sub-block's scale (and Q4_K / Q5_K minimum, or Q6_K's second 16-value scale) is applied in
// float on the 16 sums at once. The activations are Q8_0 per 32 values (finer than Q8_K's per
// 256), so the products are at least as close to the exact ones as the K tiles'.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

#include "ops/avx512_quad_parts.h"

namespace plinth::engine::kernels {
namespace {

using quad_parts::dots;
using quad_parts::packed_rows;
using quad_parts::Rotated;
using quad_parts::row_halves;
using quad_parts::RowPrefetch;
using quad_parts::store_tile;
using quad_parts::token_bias;
using quad_parts::token_scales;

// Byte `index` of each row's 128-bit lane in all four of its 32-bit lanes, as an int32: unsigned,
// or signed (sign-extended from the top byte).
inline __m512i byte_per_row(__m512i bytes, int index) {
  return _mm512_shuffle_epi8(bytes, _mm512_set1_epi32(static_cast<int32_t>(0x80808000u | index)));
}
inline __m512i signed_byte_per_row(__m512i bytes, int index) {
  const auto control = static_cast<int32_t>(0x00808080u | static_cast<uint32_t>(index) << 24);
  return _mm512_srai_epi32(_mm512_shuffle_epi8(bytes, _mm512_set1_epi32(control)), 24);
}

// Q4_K / Q5_K: a super-block's eight scales (bytes 0..7) and minimums (bytes 8..15).
inline __m128i scales_mins_of(const uint8_t* packed12) {
  alignas(16) uint8_t bytes[16];
  kernels::k_scales_and_mins(packed12, bytes);
  return _mm_load_si128(reinterpret_cast<const __m128i*>(bytes));
}

// Q4_K / Q5_K: value = d * scale_j * q - dmin * min_j with q in 0..15 (0..31). The activations
// carry bias = -sum(x) (offset 1), so a block adds x_scale * (scale_j * dot + min_j * bias).
template <int kGroups, bool kFiveBit>
void tile_q45_K_quads(int64_t n, const uint8_t* const* row, int rows, const uint8_t* const* groups,
                      int64_t prefetch, const TileOut& out) {
  using Block = std::conditional_t<kFiveBit, BlockQ5K, BlockQ4K>;
  constexpr size_t kQs = offsetof(Block, qs), kScales = offsetof(Block, scales);
  const int64_t blocks = n / kQKK;
  RowPrefetch prefetcher(prefetch == 0 ? nullptr : row[0] + prefetch,
                         4 * blocks * static_cast<int64_t>(sizeof(Block)), blocks);
  const __m512i low_mask = _mm512_set1_epi8(0x0F), sixteen = _mm512_set1_epi8(16);
  __m512 acc[kGroups];
  for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t at = static_cast<size_t>(b) * sizeof(Block);
    prefetcher.step();
    const __m512 d = row_halves(row, at + offsetof(Block, d));
    const __m512 dmin = row_halves(row, at + offsetof(Block, dmin));
    __m512i scales_mins = _mm512_castsi128_si512(scales_mins_of(row[0] + at + kScales));
    scales_mins = _mm512_inserti32x4(scales_mins, scales_mins_of(row[1] + at + kScales), 1);
    scales_mins = _mm512_inserti32x4(scales_mins, scales_mins_of(row[2] + at + kScales), 2);
    scales_mins = _mm512_inserti32x4(scales_mins, scales_mins_of(row[3] + at + kScales), 3);
    __m512i high[2] = {};
    if constexpr (kFiveBit) {
      high[0] = packed_rows(row, at + offsetof(Block, qh));
      high[1] = packed_rows(row, at + offsetof(Block, qh) + 16);
    }
#pragma GCC unroll 1
    for (int pair = 0; pair < 4; ++pair) {
      // Sub-blocks 2 * pair (low nibbles) and 2 * pair + 1 (high nibbles) share 32 bytes a row.
      const size_t qs = at + kQs + 32 * static_cast<size_t>(pair);
      const __m512i first = packed_rows(row, qs), second = packed_rows(row, qs + 16);
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        const int j = 2 * pair + half;
        __m512i lo = _mm512_and_si512(_mm512_srli_epi16(first, 4 * half), low_mask);
        __m512i hi = _mm512_and_si512(_mm512_srli_epi16(second, 4 * half), low_mask);
        if constexpr (kFiveBit) {
          const __m512i bit = _mm512_set1_epi8(static_cast<char>(1 << j));
          lo = _mm512_mask_add_epi8(lo, _mm512_test_epi8_mask(high[0], bit), lo, sixteen);
          hi = _mm512_mask_add_epi8(hi, _mm512_test_epi8_mask(high[1], bit), hi, sixteen);
        }
        const Rotated wl(lo), wh(hi);
        const __m512 scale = _mm512_mul_ps(d, _mm512_cvtepi32_ps(byte_per_row(scales_mins, j)));
        const __m512 min =
            _mm512_mul_ps(dmin, _mm512_cvtepi32_ps(byte_per_row(scales_mins, 8 + j)));
#pragma GCC unroll 4
        for (int g = 0; g < kGroups; ++g) {
          const uint8_t* x = groups[g] + (b * (kQKK / kQK) + j) * kQuadBlockBytes;
          __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
          dots(wl, wh, x, s0, s1);
          const __m512 bias = _mm512_cvtepi32_ps(token_bias(x, kQuadBiasOffset));
          const __m512 sum = _mm512_fmadd_ps(
              min, bias, _mm512_mul_ps(scale, _mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1))));
          acc[g] = _mm512_fmadd_ps(sum, token_scales(x), acc[g]);
        }
      }
    }
  }
  store_tile<kGroups>(acc, rows, out);
}

// Q6_K: value = d * scale_16 * (q - 32) with q in 0..63 and a signed scale per 16 values. The
// activations carry -32 * sum(x) for the whole block and for values 0..15, which start the two
// halves' dots; each half then takes its own scale.
template <int kGroups>
void tile_q6_K_quads(int64_t n, const uint8_t* const* row, int rows, const uint8_t* const* groups,
                     int64_t prefetch, const TileOut& out) {
  const int64_t blocks = n / kQKK;
  RowPrefetch prefetcher(prefetch == 0 ? nullptr : row[0] + prefetch,
                         4 * blocks * static_cast<int64_t>(sizeof(BlockQ6K)), blocks);
  const __m512i low_mask = _mm512_set1_epi8(0x0F), top_bits = _mm512_set1_epi8(0x30);
  __m512 acc[kGroups];
  for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_setzero_ps();
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t at = static_cast<size_t>(b) * sizeof(BlockQ6K);
    prefetcher.step();
    const __m512i scales = packed_rows(row, at + offsetof(BlockQ6K, scales));
    // The super-block's sums before d (one multiply per super-block instead of two per sub-block).
    __m512 block_acc[kGroups];
    for (int g = 0; g < kGroups; ++g) block_acc[g] = _mm512_setzero_ps();
#pragma GCC unroll 1
    for (int h = 0; h < 2; ++h) {
      // Half h (values 128h..): ql[64h..] holds sub-blocks q = 0, 1 in its low nibbles (32 bytes
      // each) and q = 2, 3 in its high ones; qh[32h..] their top two bits at 2q.
      const size_t qh = at + offsetof(BlockQ6K, qh) + 32 * static_cast<size_t>(h);
      const __m512i top[2] = {packed_rows(row, qh), packed_rows(row, qh + 16)};
#pragma GCC unroll 1
      for (int p = 0; p < 2; ++p) {
        const size_t ql =
            at + offsetof(BlockQ6K, ql) + 64 * static_cast<size_t>(h) + 32 * static_cast<size_t>(p);
        const __m512i low[2] = {packed_rows(row, ql), packed_rows(row, ql + 16)};
#pragma GCC unroll 2
        for (int nibble = 0; nibble < 2; ++nibble) {
          const int q = p + 2 * nibble, j = 4 * h + q;
          // Bits 2q, 2q + 1 of qh moved to bits 4, 5 (16-bit shifts: the bits that cross into
          // the next byte are masked off), or'ed onto the nibble: vpternlog's A | (B & C).
          auto values = [&](int i) {
            const __m512i l =
                _mm512_and_si512(nibble ? _mm512_srli_epi16(low[i], 4) : low[i], low_mask);
            const __m512i t = q < 2    ? _mm512_slli_epi16(top[i], 4 - 2 * q)
                              : q == 2 ? top[i]
                                       : _mm512_srli_epi16(top[i], 2);
            return _mm512_ternarylogic_epi32(l, t, top_bits, 0xF8);
          };
          const Rotated wl(values(0)), wh(values(1));
          const __m512 scale_lo = _mm512_cvtepi32_ps(signed_byte_per_row(scales, 2 * j));
          const __m512 scale_hi = _mm512_cvtepi32_ps(signed_byte_per_row(scales, 2 * j + 1));
#pragma GCC unroll 4
          for (int g = 0; g < kGroups; ++g) {
            const uint8_t* x = groups[g] + (b * (kQKK / kQK) + j) * kQuadBlockBytes;
            const __m512i low_bias = token_bias(x, kQuadLowBiasOffset);
            __m512i s0 = low_bias, s1 = _mm512_sub_epi32(token_bias(x, kQuadBiasOffset), low_bias);
            dots(wl, wh, x, s0, s1);
            const __m512 sum = _mm512_fmadd_ps(scale_hi, _mm512_cvtepi32_ps(s1),
                                               _mm512_mul_ps(scale_lo, _mm512_cvtepi32_ps(s0)));
            block_acc[g] = _mm512_fmadd_ps(sum, token_scales(x), block_acc[g]);
          }
        }
      }
    }
    const __m512 d = row_halves(row, at + offsetof(BlockQ6K, d));
    for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_fmadd_ps(d, block_acc[g], acc[g]);
  }
  store_tile<kGroups>(acc, rows, out);
}

template <int kGroups>
void tile_k_quads_n(GgmlType t, int64_t n, const uint8_t* const* w, int rows,
                    const uint8_t* const* groups, int64_t prefetch, const TileOut& out) {
  const uint8_t* row[4];  // fewer than four rows repeat the last (its results are dropped)
  for (int r = 0; r < 4; ++r) row[r] = w[r < rows ? r : rows - 1];
  if (t == GgmlType::kQ4_K)
    return tile_q45_K_quads<kGroups, false>(n, row, rows, groups, prefetch, out);
  if (t == GgmlType::kQ5_K)
    return tile_q45_K_quads<kGroups, true>(n, row, rows, groups, prefetch, out);
  return tile_q6_K_quads<kGroups>(n, row, rows, groups, prefetch, out);
}

}  // namespace

void avx512_tile_k_quads(GgmlType t, int64_t n, const void* const* w, int rows,
                         const uint8_t* const* groups, int n_groups, int64_t prefetch,
                         const TileOut& out) {
  const auto* const* r = reinterpret_cast<const uint8_t* const*>(w);
  // clang-format off
  switch (n_groups) {
    case 1: return tile_k_quads_n<1>(t, n, r, rows, groups, prefetch, out);
    case 2: return tile_k_quads_n<2>(t, n, r, rows, groups, prefetch, out);
    case 3: return tile_k_quads_n<3>(t, n, r, rows, groups, prefetch, out);
    default: return tile_k_quads_n<4>(t, n, r, rows, groups, prefetch, out);
  }
  // clang-format on
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_tile_k_quads(GgmlType, int64_t, const void* const*, int, const uint8_t* const*, int,
                         int64_t, float*) {}
}  // namespace plinth::engine::kernels

#endif
