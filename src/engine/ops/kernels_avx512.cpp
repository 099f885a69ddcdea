// AVX-512 (F/BW/VL/DQ + VNNI) kernels: 512-bit float dots and vpdpbusd for 32-value blocks.
#include "ops/simd_kernels.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) && \
    defined(__AVX512DQ__) && defined(__AVX512VNNI__) && defined(__F16C__)
#include <immintrin.h>

#include <type_traits>

#include "ops/avx512_math.h"

namespace plinth::engine::kernels {

// Multi-token tiles (kernels_avx512_tiles.cpp).
void avx512_tile_q32(GgmlType t, int64_t n, const void* const* w, int rows,
                     const uint8_t* const* groups, int n_groups, QuadLayout layout,
                     int64_t prefetch, const TileOut& out);
void avx512_tile_k(GgmlType t, int64_t n, const void* w, const BlockQ8K* const* x, int tokens,
                   int64_t prefetch, float* out);
void avx512_quantize_quad(const float* const* x, int tokens, int64_t n, int32_t offset,
                          uint8_t* out, QuadLayout layout);
// Attention over the F16 cache (kernels_avx512_attention.cpp).
void avx512_attend_f16(const float* q, const uint16_t* keys, const uint16_t* values, int64_t stride,
                       int64_t n_pos, int32_t head_dim, float scale, float* scores, float* out);
// Panels (kernels_avx512_panels.cpp).
void avx512_panel_tile(GgmlType t, int64_t blocks, const uint8_t* panel,
                       const PanelActivation* const* xs, int tokens, float* const* ys);
void avx512_quantize_panels(const float* x, int64_t cols, PanelActivation* out);
// Exact decoders (kernels_avx512_dequant.cpp).
void avx512_dequantize(GgmlType t, const void* src, float* dst, int64_t n);

namespace {

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// Signed bytes w . x in fours via vpdpbusd (unsigned x signed): |w| against x carrying w's sign.
inline __m512i dot_i8(__m512i w, __m512i x) {
  __mmask64 negative = _mm512_movepi8_mask(w);
  __m512i signed_x = _mm512_mask_sub_epi8(x, negative, _mm512_setzero_si512(), x);
  return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(w), signed_x);
}

inline __m512i join(__m256i lo, __m256i hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

inline __m256i load32(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

float dot_f32(int64_t n, const float* a, const float* b) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i + 16 <= n; i += 16)
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  if (i < n) {
    __mmask16 tail = static_cast<__mmask16>((1u << (n - i)) - 1);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, a + i), _mm512_maskz_loadu_ps(tail, b + i),
                           acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void dot_f32_x4(int64_t n, const float* a, int64_t stride, const float* b, float* out) {
  __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                   _mm512_setzero_ps()};
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail_mask(static_cast<size_t>(n - i));
    __m512 bv = _mm512_maskz_loadu_ps(m, b + i);
    for (int r = 0; r < 4; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + r * stride + i), bv, acc[r]);
  }
  for (int r = 0; r < 4; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

// 16 accumulators + 4 weight vectors + 1 activation vector fit the 32 zmm registers.
void dot_f32_4x4(int64_t n, const float* a, int64_t a_stride, const float* b, int64_t b_stride,
                 float* out) {
  __m512 acc[4][4];
  for (auto& row : acc)
    for (auto& v : row) v = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = tail_mask(static_cast<size_t>(n - i));
    __m512 av[4];
    for (int r = 0; r < 4; ++r) av[r] = _mm512_maskz_loadu_ps(m, a + r * a_stride + i);
    for (int t = 0; t < 4; ++t) {
      __m512 bv = _mm512_maskz_loadu_ps(m, b + t * b_stride + i);
      for (int r = 0; r < 4; ++r) acc[r][t] = _mm512_fmadd_ps(av[r], bv, acc[r][t]);
    }
  }
  for (int r = 0; r < 4; ++r)
    for (int t = 0; t < 4; ++t) out[r * 4 + t] = _mm512_reduce_add_ps(acc[r][t]);
}

float dot_f16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 w0 = _mm512_cvtph_ps(load32(h + i));
    __m512 w1 = _mm512_cvtph_ps(load32(h + i + 16));
    acc0 = _mm512_fmadd_ps(w0, _mm512_loadu_ps(x + i), acc0);
    acc1 = _mm512_fmadd_ps(w1, _mm512_loadu_ps(x + i + 16), acc1);
  }
  float sum = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += half(h[i]) * x[i];
  return sum;
}

void axpy_f16(int64_t n, float a, const void* x, float* y) {
  const auto* h = static_cast<const uint16_t*>(x);
  const __m512 av = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(static_cast<size_t>(n - i));
    __m512 v = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, h + i));
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, v, _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void swiglu(int64_t n, float* gate, const float* up) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(static_cast<size_t>(n - i));
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    const __m512 silu =
        _mm512_div_ps(g, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(gate + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

float dot_bf16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  __m512 acc = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512i wide = _mm512_cvtepu16_epi32(load32(h + i));
    acc = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)), _mm512_loadu_ps(x + i),
                          acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  for (; i < n; ++i) sum += bf16_to_fp32(h[i]) * x[i];
  return sum;
}

// One-token decode of Q4_0 / Q5_0 rows. Q5_0 is most of a Q4_K_M file of a small model (rows of
// 896 values are no multiple of 256) and decode reads each weight once, so this loop has to keep
// up with memory: the per-row dots against Q8_0 blocks (the AVX2 set's, and this set's before)
// spend ~40 vector operations per pair of blocks (~25 GB/s from cache), this one 14. The token
// comes prepared (prepare_q32): its offset sums start the dot's accumulator and its scales are
// floats already. Each pair of weight blocks is read with one 8-byte load per block for d and qh,
// assembled in general registers (idle beside the vector units), and two broadcasts of the nibbles,
// which a variable shift and a mask split into values 0..15 and 16..31 in place. (Four rows sharing
// the token's loads were 5% faster from cache but read four interleaved streams, which the hardware
// prefetcher followed badly: 2.8x slower from memory, measured before the weights moved to huge
// pages.)
template <typename Block>
float dot_prepared(int64_t n, const Block* wb, const PreparedQ32& x) {
  constexpr bool kFifth = std::is_same_v<Block, BlockQ5_0>;
  const int64_t blocks = n / kQK;
  const __m512i shifts = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
  const __m512i low4 = _mm512_set1_epi8(0x0F), fifth = _mm512_set1_epi8(0x10);
  // The pair's two scales go to the low and the high 256 bits.
  const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  __m512 acc = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    uint64_t head0, head1;  // d (16 bits), then qh (Q5_0)
    std::memcpy(&head0, &wb[b], 8);
    std::memcpy(&head1, &wb[b + 1], 8);
    const auto dw = static_cast<uint32_t>((head0 & 0xFFFFu) | (head1 << 16 & 0xFFFF0000u));
    const __m128 scale =
        _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dw))),
                   _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x.d + b))));
    const __m512i packed = _mm512_mask_broadcast_i32x4(
        _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wb[b].qs))), 0xFF00,
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(wb[b + 1].qs)));
    __m512i q = _mm512_and_si512(_mm512_srlv_epi64(packed, shifts), low4);
    __m512i dot = _mm512_loadu_si512(x.neg_sums + b * kQK / 4);  // -16 * sum(x)
    if constexpr (kFifth) {
      const uint64_t qh = ((head0 >> 16) & 0xFFFFFFFFu) | (head1 >> 16 << 32);
      q = _mm512_mask_add_epi8(q, _cvtu64_mask64(qh), q, fifth);  // + 16 sets the fifth bit
    } else {
      dot = _mm512_srai_epi32(dot, 1);  // Q4_0 values are q - 8
    }
    dot = _mm512_dpbusd_epi32(dot, q, _mm512_loadu_si512(x.qs + b * kQK));
    acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(halves, _mm512_castps128_ps512(scale)),
                          _mm512_cvtepi32_ps(dot), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (b < blocks) {  // an odd block count: the last block on its own
    int32_t dot = 0;
    const Block& last = wb[b];
    uint32_t qh = 0;
    if constexpr (kFifth) std::memcpy(&qh, last.qh, 4);
    constexpr int kOffset = kFifth ? 16 : 8;
    for (int i = 0; i < kQK / 2; ++i) {
      const int lo = (last.qs[i] & 0x0F) | static_cast<int>((qh >> i) & 1u) << 4;
      const int hi = (last.qs[i] >> 4) | static_cast<int>((qh >> (i + 16)) & 1u) << 4;
      dot += (lo - kOffset) * x.qs[b * kQK + i] + (hi - kOffset) * x.qs[b * kQK + i + kQK / 2];
    }
    sum += _cvtsh_ss(last.d) * x.d[b] * static_cast<float>(dot);
  }
  return sum;
}

// Q8_0 rows against a prepared token: the token's values and float scales are ready; the weights'
// signs move onto the token's values (vpdpbusd multiplies unsigned by signed).
float dot_prepared_q8_0(int64_t n, const BlockQ8_0* wb, const PreparedQ32& x) {
  const int64_t blocks = n / kQK;
  const __m512i halves = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  __m512 acc = _mm512_setzero_ps();
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) {
    const auto dw = static_cast<uint32_t>(wb[b].d | static_cast<uint32_t>(wb[b + 1].d) << 16);
    const __m128 scale =
        _mm_mul_ps(_mm_cvtph_ps(_mm_cvtsi32_si128(static_cast<int>(dw))),
                   _mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(x.d + b))));
    const __m512i w = join(load32(wb[b].qs), load32(wb[b + 1].qs));
    const __m512i dot = dot_i8(w, _mm512_loadu_si512(x.qs + b * kQK));
    acc = _mm512_fmadd_ps(_mm512_permutexvar_ps(halves, _mm512_castps128_ps512(scale)),
                          _mm512_cvtepi32_ps(dot), acc);
  }
  float sum = _mm512_reduce_add_ps(acc);
  if (b < blocks) {  // an odd block count: the last block on its own
    int32_t dot = 0;
    for (int i = 0; i < kQK; ++i) dot += wb[b].qs[i] * x.qs[b * kQK + i];
    sum += _cvtsh_ss(wb[b].d) * x.d[b] * static_cast<float>(dot);
  }
  return sum;
}

float dot_q32_prepared(GgmlType t, int64_t n, const void* w, const uint8_t* x) {
  const PreparedQ32 prepared(x, n);
  if (t == GgmlType::kQ8_0) return dot_prepared_q8_0(n, static_cast<const BlockQ8_0*>(w), prepared);
  if (t == GgmlType::kQ5_0) return dot_prepared(n, static_cast<const BlockQ5_0*>(w), prepared);
  return dot_prepared(n, static_cast<const BlockQ4_0*>(w), prepared);
}

}  // namespace

const KernelSet* avx512_kernels() {
  static const KernelSet* set = []() -> const KernelSet* {
    const KernelSet* avx2 = avx2_kernels();
    if (!avx2 || !__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl") || !__builtin_cpu_supports("avx512dq") ||
        !__builtin_cpu_supports("avx512vnni"))
      return nullptr;
    // The K-quant kernels mix per-16/32 int16 scales, where vpdpbusd saves nothing over the
    // AVX2 maddubs + madd pair, so they are shared with the AVX2 set.
    static const KernelSet s{"avx512", dot_f32, dot_f32_x4, dot_f16_f32, dot_bf16_f32,
                             // matmul gives Q8_0-family rows to dot_q32_prepared (below); the
                             // AVX2 dots only complete the table.
                             avx2->dot_q8_0_q8_0, avx2->dot_q4_0_q8_0, avx2->dot_q5_0_q8_0,
                             avx2->dot_q4_K_q8_K, avx2->dot_q5_K_q8_K, avx2->dot_q6_K_q8_K,
                             avx512_dequantize, avx512_tile_q32, avx512_tile_k, dot_f32_4x4,
                             axpy_f16, avx512_attend_f16, swiglu, dot_q32_prepared,
                             avx512_quantize_quad, avx512_panel_tile, avx512_quantize_panels};
    return &s;
  }();
  return set;
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
const KernelSet* avx512_kernels() { return nullptr; }
}  // namespace plinth::engine::kernels

#endif
