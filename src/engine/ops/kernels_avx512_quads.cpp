// AVX-512 quad tiles: Q8_0 / Q4_0 / Q5_0 rows against groups of four tokens (vpdpbusd); K-quant
// rows go to kernels_avx512_kquads.cpp.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>

#include "ops/avx512_quad_parts.h"

namespace plinth::engine::kernels {
namespace {

using quad_parts::broadcast16;
using quad_parts::dots;
using quad_parts::join;
using quad_parts::load32;
using quad_parts::packed_rows;
using quad_parts::Rotated;
using quad_parts::row_halves;
using quad_parts::RowPrefetch;
using quad_parts::store_tile;
using quad_parts::token_bias;
using quad_parts::token_scales;

// One 32-value block of four rows as unsigned bytes (the stored value plus the type's
// quad_weight_offset: Q8_0 128, Q4_0 8, Q5_0 16), in the tile
// layout: lo holds values 0..15 of row r in 128-bit lane r, hi values 16..31.
struct UnpackQ8_0 {
  void operator()(const uint8_t* const* row, size_t at, __m512i& lo, __m512i& hi) const {
    const __m512i bias = _mm512_set1_epi8(static_cast<char>(0x80));
    __m512i r01 = join(load32(row[0] + at + 2), load32(row[1] + at + 2));
    __m512i r23 = join(load32(row[2] + at + 2), load32(row[3] + at + 2));
    lo = _mm512_xor_si512(_mm512_shuffle_i32x4(r01, r23, _MM_SHUFFLE(2, 0, 2, 0)), bias);
    hi = _mm512_xor_si512(_mm512_shuffle_i32x4(r01, r23, _MM_SHUFFLE(3, 1, 3, 1)), bias);
  }
};
// Q4_0 / Q5_0 store values 0..15 in the low nibbles and 16..31 in the high ones: with the four
// rows' 16 packed bytes in one vector, a mask and a shift give both halves already in the tile
// layout, with no cross-lane shuffles.
struct UnpackQ4_0 {
  void operator()(const uint8_t* const* row, size_t at, __m512i& lo, __m512i& hi) const {
    const __m512i v = packed_rows(row, at + 2), low_mask = _mm512_set1_epi8(0x0F);
    lo = _mm512_and_si512(v, low_mask);
    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_mask);
  }
};
struct UnpackQ5_0 {
  void operator()(const uint8_t* const* row, size_t at, __m512i& lo, __m512i& hi) const {
    // Fifth bits: bit j of a row's qh belongs to value j, gathered as byte masks in scalar
    // registers (the integer ALUs are idle here). Unrolled: GCC leaves the loop rolled, shifting
    // by %cl and chaining the ors.
    uint64_t lo_bits = 0, hi_bits = 0;
#pragma GCC unroll 4
    for (int r = 0; r < 4; ++r) {
      uint16_t lo, hi;
      std::memcpy(&lo, row[r] + at + 2, 2);
      std::memcpy(&hi, row[r] + at + 4, 2);
      lo_bits |= uint64_t{lo} << (16 * r);
      hi_bits |= uint64_t{hi} << (16 * r);
    }
    const __m512i v = packed_rows(row, at + 6), low_mask = _mm512_set1_epi8(0x0F);
    const __m512i sixteen = _mm512_set1_epi8(16);
    const __m512i l = _mm512_and_si512(v, low_mask);
    const __m512i h = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_mask);
    lo = _mm512_mask_add_epi8(l, lo_bits, l, sixteen);
    hi = _mm512_mask_add_epi8(h, hi_bits, h, sixteen);
  }
};

// Four rows against groups of four tokens (the quad layout, see quantize_quad_q8_0). 128-bit lane
// r of a vector holds 16 values of row r; the weights are also rotated by one, two and three
// 4-byte groups (shared by every token), and the quad layout holds the activations rotated the
// other way, one token per 32-bit lane. Four vpdpbusd over the rotations then leave in 32-bit lane
// j of row r the whole integer dot of row r with token j: one conversion, one scale and one FMA
// serve 4 rows x 4 tokens, where a token per vector needed four of each. The weights are the
// unsigned operand (stored value + offset); the group's precomputed -offset * sum(x) starts the
// accumulator, so the integer result is exactly sum(w * x).
// Per (4 rows, 4 tokens, block): 8 vpdpbusd + add + convert + mul + FMA.
// Fewer than four rows repeat the last row pointer (its results are dropped).
template <int kGroups, typename Unpack>
void tile_quads(int64_t n, const uint8_t* const* w, int rows, size_t block_bytes,
                const uint8_t* const* groups, int64_t prefetch, const TileOut& out) {
  Unpack unpack;
  const uint8_t* row[4];
  for (int r = 0; r < 4; ++r) row[r] = w[r < rows ? r : rows - 1];
  __m512 acc[kGroups];
  for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_setzero_ps();
  const int64_t blocks = n / kQK;
  RowPrefetch prefetcher(prefetch == 0 ? nullptr : row[0] + prefetch,
                         4 * blocks * static_cast<int64_t>(block_bytes), blocks);
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t at = static_cast<size_t>(b) * block_bytes;
    prefetcher.step();
    __m512i lo, hi;  // values 0..15, 16..31
    unpack(row, at, lo, hi);
    const Rotated wl(lo), wh(hi);
    const __m512 ws = row_halves(row, at);  // the blocks start with their f16 scale
    // Unrolled loops keep wl / wh and the sums in registers: GCC at -O2 leaves these short loops
    // rolled and spills the arrays, and the stores and reloads then cost more than the dots.
#pragma GCC unroll 4
    for (int g = 0; g < kGroups; ++g) {
      const uint8_t* x = groups[g] + b * kQuadBlockBytes;
      __m512i s0 = token_bias(x, kQuadBiasOffset), s1 = _mm512_setzero_si512();
      dots(wl, wh, x, s0, s1);
      const __m512 scale = _mm512_mul_ps(ws, token_scales(x));
      acc[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[g]);
    }
  }
  store_tile<kGroups>(acc, rows, out);
}

// One group in the kRotatedTokens layout. The weights stay as unpacked: in rotation k, lane j of
// row r pairs the row's group j with token (j + k) % 4's group j, so sum k (both halves) holds
// partial dots of four different tokens; rotating it by k lanes lines every token up with its
// lane, and the four sums add into the same 4 rows x 4 tokens as tile_quads. Per block: 8 vpdpbusd
// + 3 shuffles + 3 adds + convert + mul + FMA, against 6 weight shuffles for the other layout
// (one group: the sums are fewer than the weight vectors).
template <typename Unpack>
void tile_quad_sums(int64_t n, const uint8_t* const* w, int rows, size_t block_bytes,
                    const uint8_t* x, int64_t prefetch, const TileOut& out) {
  Unpack unpack;
  const uint8_t* row[4];
  for (int r = 0; r < 4; ++r) row[r] = w[r < rows ? r : rows - 1];
  __m512 acc = _mm512_setzero_ps();
  const int64_t blocks = n / kQK;
  RowPrefetch prefetcher(prefetch == 0 ? nullptr : row[0] + prefetch,
                         4 * blocks * static_cast<int64_t>(block_bytes), blocks);
  for (int64_t b = 0; b < blocks; ++b, x += kQuadBlockBytes) {
    const size_t at = static_cast<size_t>(b) * block_bytes;
    prefetcher.step();
    __m512i lo, hi;  // values 0..15, 16..31
    unpack(row, at, lo, hi);
    const __m512 ws = row_halves(row, at);  // the blocks start with their f16 scale
    __m512i s[4];
    s[0] = _mm512_dpbusd_epi32(broadcast16(x + kQuadBiasOffset), lo, broadcast16(x));
#pragma GCC unroll 4
    for (int k = 1; k < 4; ++k)
      s[k] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), lo, broadcast16(x + 16 * k));
#pragma GCC unroll 4
    for (int k = 0; k < 4; ++k) s[k] = _mm512_dpbusd_epi32(s[k], hi, broadcast16(x + 64 + 16 * k));
    // Lane j of sum k belongs to token (j + k) % 4: (s0 + s1 >> 1) + (s2 + s3 >> 1) >> 2, in lanes.
    const __m512i s01 = _mm512_add_epi32(s[0], _mm512_shuffle_epi32(s[1], _MM_PERM_CBAD));
    const __m512i s23 = _mm512_add_epi32(s[2], _mm512_shuffle_epi32(s[3], _MM_PERM_CBAD));
    const __m512i sum = _mm512_add_epi32(s01, _mm512_shuffle_epi32(s23, _MM_PERM_BADC));
    const __m512 scale = _mm512_mul_ps(ws, token_scales(x));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), scale, acc);
  }
  store_tile<1>(&acc, rows, out);
}

template <typename Unpack>
void tile_any(int64_t n, const uint8_t* const* w, int rows, size_t block_bytes,
              const uint8_t* const* groups, int n_groups, QuadLayout layout, int64_t prefetch,
              const TileOut& out) {
  if (layout == QuadLayout::kRotatedTokens)
    return tile_quad_sums<Unpack>(n, w, rows, block_bytes, groups[0], prefetch, out);
  // clang-format off
  switch (n_groups) {
    case 1: return tile_quads<1, Unpack>(n, w, rows, block_bytes, groups, prefetch, out);
    case 2: return tile_quads<2, Unpack>(n, w, rows, block_bytes, groups, prefetch, out);
    case 3: return tile_quads<3, Unpack>(n, w, rows, block_bytes, groups, prefetch, out);
    default: return tile_quads<4, Unpack>(n, w, rows, block_bytes, groups, prefetch, out);
  }
  // clang-format on
}

}  // namespace

void avx512_quantize_quad(const float* const* x, int tokens, int64_t n, int32_t offset,
                          uint8_t* out, QuadLayout layout) {
  for (int64_t b = 0; b < n / kQK; ++b, out += kQuadBlockBytes) {
    if (tokens < 4) std::memset(out, 0, kQuadBlockBytes);
    for (int j = 0; j < tokens; ++j) {
      // The reference's arithmetic: amax / 127, x * (1 / d) rounded to nearest even (the
      // default MXCSR mode of vcvtps2dq), the f16-rounded d as the scale.
      const __m512 v0 = _mm512_loadu_ps(x[j] + b * kQK), v1 = _mm512_loadu_ps(x[j] + b * kQK + 16);
      const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1)));
      const float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
      const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(v0, _mm512_set1_ps(id)));
      const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(v1, _mm512_set1_ps(id)));
      const int32_t low = _mm512_reduce_add_epi32(q0);
      const int32_t bias = -offset * (low + _mm512_reduce_add_epi32(q1)), low_bias = -offset * low;
      const float scale = fp16_to_fp32(fp32_to_fp16(d));
      alignas(16) uint32_t groups[2][4];
      _mm_store_si128(reinterpret_cast<__m128i*>(groups[0]), _mm512_cvtepi32_epi8(q0));
      _mm_store_si128(reinterpret_cast<__m128i*>(groups[1]), _mm512_cvtepi32_epi8(q1));
      for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g)
          std::memcpy(
              out + (4 * h + quad_rotation(layout, j, g)) * 16 + 4 * quad_lane(layout, j, g),
              &groups[h][g], 4);
      std::memcpy(out + kQuadScaleOffset + 4 * j, &scale, 4);
      std::memcpy(out + kQuadBiasOffset + 4 * j, &bias, 4);
      std::memcpy(out + kQuadLowBiasOffset + 4 * j, &low_bias, 4);
    }
  }
}

// K-quant rows (kernels_avx512_kquads.cpp): the group-rotated layout only.
void avx512_tile_k_quads(GgmlType t, int64_t n, const void* const* w, int rows,
                         const uint8_t* const* groups, int n_groups, int64_t prefetch,
                         const TileOut& out);

void avx512_tile_q32(GgmlType t, int64_t n, const void* const* w, int rows,
                     const uint8_t* const* groups, int n_groups, QuadLayout layout,
                     int64_t prefetch, const TileOut& out) {
  const auto* const* r = reinterpret_cast<const uint8_t* const*>(w);
  switch (t) {
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return avx512_tile_k_quads(t, n, w, rows, groups, n_groups, prefetch, out);
    case GgmlType::kQ8_0:
      return tile_any<UnpackQ8_0>(n, r, rows, sizeof(BlockQ8_0), groups, n_groups, layout, prefetch,
                                  out);
    case GgmlType::kQ4_0:
      return tile_any<UnpackQ4_0>(n, r, rows, sizeof(BlockQ4_0), groups, n_groups, layout, prefetch,
                                  out);
    default:
      return tile_any<UnpackQ5_0>(n, r, rows, sizeof(BlockQ5_0), groups, n_groups, layout, prefetch,
                                  out);
  }
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
// Never selected without AVX-512 (avx512_kernels() returns nullptr then).
void avx512_tile_q32(GgmlType, int64_t, const void* const*, int, const uint8_t* const*, int,
                     QuadLayout, int64_t, const TileOut&) {}
void avx512_quantize_quad(const float* const*, int, int64_t, int32_t, uint8_t*, QuadLayout) {}
}  // namespace plinth::engine::kernels

#endif
