// Parts shared by the AVX-512 quad tiles (kernels_avx512_quads.cpp, kernels_avx512_kquads.cpp):
// loads of four rows into the tile layout, the activations' broadcasts, the row prefetcher.
// Included only by translation units built with AVX-512.
#ifndef PLINTH_ENGINE_OPS_AVX512_QUAD_PARTS_H_
#define PLINTH_ENGINE_OPS_AVX512_QUAD_PARTS_H_

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "ops/simd_kernels.h"

namespace plinth::engine::kernels::quad_parts {

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

// 16 bytes of each of four rows at `offset`: row r in 128-bit lane r (the tile layout).
inline __m512i packed_rows(const uint8_t* const* row, size_t offset) {
  auto load16 = [](const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  __m512i v = _mm512_castsi128_si512(load16(row[0] + offset));
  v = _mm512_inserti32x4(v, load16(row[1] + offset), 1);
  v = _mm512_inserti32x4(v, load16(row[2] + offset), 2);
  return _mm512_inserti32x4(v, load16(row[3] + offset), 3);
}

// Lane 4r + j: row r's f16 at byte `offset` (a block scale) as a float. Gathered in a scalar
// register: the integer ALUs are idle in the tiles, and inserting the halves one by one would
// cost shuffles on the vector ports the dots need.
inline __m512 row_halves(const uint8_t* const* row, size_t offset) {
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  uint64_t packed = 0;
#pragma GCC unroll 4
  for (int r = 0; r < 4; ++r) {
    uint16_t h;
    std::memcpy(&h, row[r] + offset, 2);
    packed |= uint64_t{h} << (16 * r);
  }
  const __m128i halves = _mm_cvtsi64_si128(static_cast<long long>(packed));
  return _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_cvtph_ps(halves)));
}

// 16 bytes of the activations, in every 128-bit lane.
inline __m512i broadcast16(const uint8_t* p) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// The four rotations the quad layout pairs with the activations: 32-bit lane j of rotation k
// holds the weights' 4-byte group (j + k) % 4.
struct Rotated {
  __m512i v[4];
  explicit Rotated(__m512i x)
      : v{x, _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0x39)),
          _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0x4E)),
          _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0x93))} {}
};

// The integer dots of one 32-value block against one group of four tokens, values 0..15 (s0) and
// 16..31 (s1), each started at its seed: two chains keep the dependent vpdpbusd sequences short.
inline void dots(const Rotated& wl, const Rotated& wh, const uint8_t* x, __m512i& s0, __m512i& s1) {
#pragma GCC unroll 4
  for (size_t k = 0; k < 4; ++k) {
    s0 = _mm512_dpbusd_epi32(s0, wl.v[k], broadcast16(x + 16 * k));
    s1 = _mm512_dpbusd_epi32(s1, wh.v[k], broadcast16(x + 64 + 16 * k));
  }
}
// The group's four token scales, in every 128-bit lane.
inline __m512 token_scales(const uint8_t* x) {
  return _mm512_broadcast_f32x4(_mm_loadu_ps(reinterpret_cast<const float*>(x + kQuadScaleOffset)));
}
// The group's four int32 biases at `offset` (kQuadBiasOffset, kQuadLowBiasOffset), in every lane.
inline __m512i token_bias(const uint8_t* x, size_t offset) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(x + offset)));
}

// Lane 4r + j of group g's sums is row r of token 4g + j. A 4 x 4 transpose in the register puts
// each token's four rows in one 128-bit lane, stored straight to the token's row of the output.
template <int kGroups>
void store_tile(const __m512* acc, int rows, const TileOut& out) {
  const __m512i transpose = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
  const auto row_mask = static_cast<__mmask8>((1u << rows) - 1u);
  auto store = [&](int token, __m128 rows_of_token) {
    if (token < out.tokens) _mm_mask_storeu_ps(out.y + token * out.stride, row_mask, rows_of_token);
  };
  for (int g = 0; g < kGroups; ++g) {
    const __m512 t = _mm512_permutexvar_ps(transpose, acc[g]);
    store(4 * g, _mm512_castps512_ps128(t));
    store(4 * g + 1, _mm512_extractf32x4_ps(t, 1));
    store(4 * g + 2, _mm512_extractf32x4_ps(t, 2));
    store(4 * g + 3, _mm512_extractf32x4_ps(t, 3));
  }
}

// Prefetches the caller's next rows (`bytes` from `from`, adjacent in the file) a few lines per
// block, in address order. One ascending stream: four interleaved per-row streams (the rows the
// tile reads) got half the bandwidth of one stream here, prefetched or not; this gets all of it.
// The lines go to L1 when the next rows fit beside the tile's own data (-15% per block for Q8_0
// over L2), to L2 when they are larger (ffn_down's 4864-wide rows would evict the activations).
class RowPrefetch {
 public:
  static constexpr int64_t kL1Bytes = 8192;
  RowPrefetch(const uint8_t* from, int64_t bytes, int64_t blocks)
      : at_(reinterpret_cast<const char*>(from)),
        end_(at_ + (from == nullptr ? 0 : bytes)),
        per_block_(static_cast<int>((bytes / 64 + blocks) / std::max<int64_t>(blocks, 1))),
        to_l1_(bytes <= kL1Bytes) {}
  void step() {
    if (to_l1_) {
      for (int i = 0; i < per_block_ && at_ < end_; ++i, at_ += 64) _mm_prefetch(at_, _MM_HINT_T0);
    } else {
      for (int i = 0; i < per_block_ && at_ < end_; ++i, at_ += 64) _mm_prefetch(at_, _MM_HINT_T1);
    }
  }

 private:
  const char* at_;
  const char* end_;
  int per_block_;
  bool to_l1_;
};

}  // namespace plinth::engine::kernels::quad_parts

#endif  // PLINTH_ENGINE_OPS_AVX512_QUAD_PARTS_H_
