// AVX-512 multi-token tiles: weight rows against up to 8 tokens, weights unpacked once.
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
inline uint16_t block_scale(const uint8_t* block) {  // Q8_0 / Q4_0 / Q5_0 start with f16 d
  uint16_t d;
  std::memcpy(&d, block, 2);
  return d;
}
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

// One 32-value block of four rows as unsigned bytes (the stored value plus kOffset), in the tile
// layout: lo holds values 0..15 of row r in 128-bit lane r, hi values 16..31.
// kToL2: prefetch into L2 only (T1). Q8_0 is the most memory-bound: L2 prefetches keep more
// misses in flight than L1 ones, and the batch step overlaps memory with compute (-20% at four
// tokens). The denser Q4_0 / Q5_0 are compute-bound and lose ~20% to the extra L1 misses.
struct UnpackQ8_0 {
  static constexpr bool kToL2 = true;
  static constexpr int32_t kOffset = 128;
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
inline __m512i packed_rows(const uint8_t* const* row, size_t offset) {
  auto load16 = [](const uint8_t* p) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  };
  __m512i v = _mm512_castsi128_si512(load16(row[0] + offset));
  v = _mm512_inserti32x4(v, load16(row[1] + offset), 1);
  v = _mm512_inserti32x4(v, load16(row[2] + offset), 2);
  return _mm512_inserti32x4(v, load16(row[3] + offset), 3);
}
struct UnpackQ4_0 {
  static constexpr bool kToL2 = false;
  static constexpr int32_t kOffset = 8;
  void operator()(const uint8_t* const* row, size_t at, __m512i& lo, __m512i& hi) const {
    const __m512i v = packed_rows(row, at + 2), low_mask = _mm512_set1_epi8(0x0F);
    lo = _mm512_and_si512(v, low_mask);
    hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_mask);
  }
};
struct UnpackQ5_0 {
  static constexpr bool kToL2 = false;
  static constexpr int32_t kOffset = 16;
  void operator()(const uint8_t* const* row, size_t at, __m512i& lo, __m512i& hi) const {
    // Fifth bits: bit j of a row's qh belongs to value j, gathered as byte masks in scalar
    // registers (the integer ALUs are idle here).
    uint64_t lo_bits = 0, hi_bits = 0;
    for (int r = 0; r < 4; ++r) {
      uint32_t bits;
      std::memcpy(&bits, row[r] + at + 2, 4);
      lo_bits |= uint64_t{bits & 0xFFFF} << (16 * r);
      hi_bits |= uint64_t{bits >> 16} << (16 * r);
    }
    const __m512i v = packed_rows(row, at + 6), low_mask = _mm512_set1_epi8(0x0F);
    const __m512i sixteen = _mm512_set1_epi8(16);
    const __m512i l = _mm512_and_si512(v, low_mask);
    const __m512i h = _mm512_and_si512(_mm512_srli_epi16(v, 4), low_mask);
    lo = _mm512_mask_add_epi8(l, lo_bits, l, sixteen);
    hi = _mm512_mask_add_epi8(h, hi_bits, h, sixteen);
  }
};

inline __m512i broadcast16(const uint8_t* p) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// Four rows against groups of four tokens (the quad layout, see quantize_quad_q8_0). 128-bit lane
// r of a vector holds 16 values of row r; the weights are also rotated by one, two and three
// 4-byte groups (shared by every token), and the quad layout holds the activations rotated the
// other way, one token per 32-bit lane. Four vpdpbusd over the rotations then leave in 32-bit lane
// j of row r the whole integer dot of row r with token j: one conversion, one scale and one FMA
// serve 4 rows x 4 tokens, where a token per vector needed four of each. The weights are the
// unsigned operand (stored value + kOffset); the group's precomputed -kOffset * sum(x) starts the
// accumulator, so the integer result is exactly sum(w * x).
// Per (4 rows, 4 tokens, block): 8 vpdpbusd + add + convert + mul + FMA.
// Fewer than four rows repeat the last row pointer (its results are dropped).
// out[r * 4 * kGroups + token].
template <int kGroups, typename Unpack>
void tile_quads(int64_t n, const uint8_t* const* w, int rows, size_t block_bytes,
                const uint8_t* const* groups, int64_t prefetch, float* out) {
  Unpack unpack;
  const uint8_t* row[4];
  for (int r = 0; r < 4; ++r) row[r] = w[r < rows ? r : rows - 1];
  const __m512i spread = _mm512_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
  __m512 acc[kGroups];
  for (int g = 0; g < kGroups; ++g) acc[g] = _mm512_setzero_ps();
  const int64_t blocks = n / kQK;
  for (int64_t b = 0; b < blocks; ++b) {
    const size_t at = static_cast<size_t>(b) * block_bytes;
    if (prefetch != 0)
      for (int r = 0; r < 4; ++r)
        if constexpr (Unpack::kToL2) {
          _mm_prefetch(reinterpret_cast<const char*>(row[r] + at + prefetch), _MM_HINT_T1);
        } else {
          _mm_prefetch(reinterpret_cast<const char*>(row[r] + at + prefetch), _MM_HINT_T0);
        }
    __m512i lo, hi;  // values 0..15, 16..31
    unpack(row, at, lo, hi);
    // Rotation k: 32-bit lane j holds the weights' 4-byte group (j + k) % 4.
    const __m512i wl[4] = {lo, _mm512_shuffle_epi32(lo, static_cast<_MM_PERM_ENUM>(0x39)),
                           _mm512_shuffle_epi32(lo, static_cast<_MM_PERM_ENUM>(0x4E)),
                           _mm512_shuffle_epi32(lo, static_cast<_MM_PERM_ENUM>(0x93))};
    const __m512i wh[4] = {hi, _mm512_shuffle_epi32(hi, static_cast<_MM_PERM_ENUM>(0x39)),
                           _mm512_shuffle_epi32(hi, static_cast<_MM_PERM_ENUM>(0x4E)),
                           _mm512_shuffle_epi32(hi, static_cast<_MM_PERM_ENUM>(0x93))};
    // The four f16 scales gathered in a scalar register: the integer ALUs are idle here, and
    // inserting them one by one would cost shuffles on the vector ports the dots need.
    const uint64_t packed =
        uint64_t{block_scale(row[0] + at)} | uint64_t{block_scale(row[1] + at)} << 16 |
        uint64_t{block_scale(row[2] + at)} << 32 | uint64_t{block_scale(row[3] + at)} << 48;
    __m128i halves = _mm_cvtsi64_si128(static_cast<long long>(packed));
    const __m512 ws = _mm512_permutexvar_ps(spread, _mm512_castps128_ps512(_mm_cvtph_ps(halves)));
    for (int g = 0; g < kGroups; ++g) {
      const uint8_t* x = groups[g] + b * kQuadBlockBytes;
      // Two chains (low and high halves) keep the dependent vpdpbusd sequences short.
      __m512i s0 = broadcast16(x + kQuadBiasOffset), s1 = _mm512_setzero_si512();
      for (int k = 0; k < 4; ++k) {
        s0 = _mm512_dpbusd_epi32(s0, wl[k], broadcast16(x + 16 * k));
        s1 = _mm512_dpbusd_epi32(s1, wh[k], broadcast16(x + 64 + 16 * k));
      }
      const __m512 scale = _mm512_mul_ps(
          ws, _mm512_broadcast_f32x4(
                  _mm_loadu_ps(reinterpret_cast<const float*>(x + kQuadScaleOffset))));
      acc[g] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), scale, acc[g]);
    }
  }
  for (int g = 0; g < kGroups; ++g) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, acc[g]);
    for (int r = 0; r < rows; ++r)
      for (int j = 0; j < 4; ++j) out[r * 4 * kGroups + 4 * g + j] = lanes[4 * r + j];
  }
}

// The next rows' bytes at `prefetch` past each super-block (0: none), a line at a time.
template <typename Block>
inline void prefetch_block(const Block* block, int64_t prefetch) {
  if (prefetch == 0) return;
  const char* p = reinterpret_cast<const char*>(block) + prefetch;
  for (size_t at = 0; at < sizeof(Block); at += 64) _mm_prefetch(p + at, _MM_HINT_T0);
}

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
    // The eight 6-bit scales (bytes 0..7) and minimums (bytes 8..15) unpacked with 32-bit
    // masks (llama.cpp's arrangement of k_scale_min), widened to int16 in one vector.
    uint32_t packed[4];
    std::memcpy(packed, wb[b].scales, 12);
    packed[3] = ((packed[2] >> 4) & 0x0F0F0F0F) | (((packed[1] >> 6) & 0x03030303) << 4);
    const uint32_t low_scales = packed[1] & 0x3F3F3F3F;
    packed[1] = (packed[2] & 0x0F0F0F0F) | (((packed[0] >> 6) & 0x03030303) << 4);
    packed[2] = low_scales;
    packed[0] &= 0x3F3F3F3F;
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
    const __m512i scales16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(bytes));
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_srli_si128(bytes, 8));
    const __m256i mins =  // each minimum twice: one per 16-value activation sum
        _mm256_set_m128i(_mm_unpackhi_epi16(mins16, mins16), _mm_unpacklo_epi16(mins16, mins16));
    __m512i q[4], scale[4];
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFiveBit) hbits = load32(wb[b].qh);
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
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8K& xb = x[t][b];
      __m512i sumi = _mm512_setzero_si512();
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
    __m512i q[4], scale[4];
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
    for (int k = 0; k < 4; ++k)
      scale[k] = _mm512_permutexvar_epi16(_mm512_load_si512(kQ6ScaleIndex.lanes[k]),
                                          _mm512_castsi256_si512(scales16));
    const float d = half(wb[b].d);
    for (int t = 0; t < kTokens; ++t) {
      const BlockQ8K& xb = x[t][b];
      __m512i sumi = _mm512_setzero_si512();
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

template <int kGroups>
void tile_quads_n(GgmlType t, int64_t n, const void* const* w, int rows,
                  const uint8_t* const* groups, int64_t prefetch, float* out) {
  const auto* const* r = reinterpret_cast<const uint8_t* const*>(w);
  switch (t) {
    case GgmlType::kQ8_0:
      return tile_quads<kGroups, UnpackQ8_0>(n, r, rows, sizeof(BlockQ8_0), groups, prefetch, out);
    case GgmlType::kQ4_0:
      return tile_quads<kGroups, UnpackQ4_0>(n, r, rows, sizeof(BlockQ4_0), groups, prefetch, out);
    default:
      return tile_quads<kGroups, UnpackQ5_0>(n, r, rows, sizeof(BlockQ5_0), groups, prefetch, out);
  }
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

void avx512_quantize_quad(const float* const* x, int tokens, int64_t n, int32_t offset,
                          uint8_t* out) {
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
      const int32_t bias = -offset * _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
      const float scale = fp16_to_fp32(fp32_to_fp16(d));
      alignas(16) uint32_t groups[2][4];
      _mm_store_si128(reinterpret_cast<__m128i*>(groups[0]), _mm512_cvtepi32_epi8(q0));
      _mm_store_si128(reinterpret_cast<__m128i*>(groups[1]), _mm512_cvtepi32_epi8(q1));
      for (int h = 0; h < 2; ++h)
        for (int k = 0; k < 4; ++k)
          std::memcpy(out + (4 * h + k) * 16 + 4 * j, &groups[h][(j + k) % 4], 4);
      std::memcpy(out + kQuadScaleOffset + 4 * j, &scale, 4);
      std::memcpy(out + kQuadBiasOffset + 4 * j, &bias, 4);
    }
  }
}

void avx512_tile_q32(GgmlType t, int64_t n, const void* const* w, int rows,
                     const uint8_t* const* groups, int n_groups, int64_t prefetch, float* out) {
  // clang-format off
  switch (n_groups) {
    case 1: return tile_quads_n<1>(t, n, w, rows, groups, prefetch, out);
    case 2: return tile_quads_n<2>(t, n, w, rows, groups, prefetch, out);
    case 3: return tile_quads_n<3>(t, n, w, rows, groups, prefetch, out);
    default: return tile_quads_n<4>(t, n, w, rows, groups, prefetch, out);
  }
  // clang-format on
}

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
void avx512_tile_q32(GgmlType, int64_t, const void* const*, int, const uint8_t* const*, int,
                     int64_t, float*) {}
void avx512_tile_k(GgmlType, int64_t, const void*, const BlockQ8K* const*, int, int64_t, float*) {}
void avx512_quantize_quad(const float* const*, int, int64_t, int32_t, uint8_t*) {}
}  // namespace plinth::engine::kernels

#endif
