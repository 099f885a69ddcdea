// AVX2 + FMA + F16C kernels (compiled with those flags only; chosen at run time).
#include "ops/simd_kernels.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#if defined(__clang__) && __clang_major__ < 16
#include <cpuid.h>
#endif

#include <type_traits>

namespace plinth::engine::kernels {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

inline float half(uint16_t h) { return _cvtsh_ss(h); }

// Signed bytes w . x summed in fours into 8 floats. maddubs wants unsigned x signed, so the sign
// of w moves onto x; |x| <= 127 keeps the int16 pair sums from saturating.
inline __m256 dot_i8_to_f32(__m256i w, __m256i x) {
  __m256i dot16 = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
  return _mm256_cvtepi32_ps(_mm256_madd_epi16(dot16, _mm256_set1_epi16(1)));
}

// 16 packed nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in bytes 16..31.
inline __m256i nibbles_to_bytes(const uint8_t* p) {
  __m128i t = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  __m256i both = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// 32 bits -> 32 bytes, byte i = 0xFF when bit i is set.
inline __m256i bits_to_bytes(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  const __m256i spread = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                           0x0101010101010101, 0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)), spread);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  return _mm256_cmpeq_epi8(_mm256_and_si256(bytes, bit), bit);
}

float dot_f32(int64_t n, const float* a, const float* b) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8)
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void dot_f32_x4(int64_t n, const float* a, int64_t stride, const float* b, float* out) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 bv = _mm256_loadu_ps(b + i);
    for (int r = 0; r < 4; ++r)
      acc[r] = _mm256_fmadd_ps(_mm256_loadu_ps(a + r * stride + i), bv, acc[r]);
  }
  for (int r = 0; r < 4; ++r) {
    out[r] = hsum(acc[r]);
    for (int64_t j = i; j < n; ++j) out[r] += a[r * stride + j] * b[j];
  }
}

float dot_f16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 w0 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
    __m256 w1 = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i + 8)));
    acc0 = _mm256_fmadd_ps(w0, _mm256_loadu_ps(x + i), acc0);
    acc1 = _mm256_fmadd_ps(w1, _mm256_loadu_ps(x + i + 8), acc1);
  }
  float sum = hsum(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) sum += half(h[i]) * x[i];
  return sum;
}

void axpy_f16(int64_t n, float a, const void* x, float* y) {
  const auto* h = static_cast<const uint16_t*>(x);
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
    _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, v, _mm256_loadu_ps(y + i)));
  }
  for (; i < n; ++i) y[i] += a * half(h[i]);
}

float dot_bf16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
    __m256 wf = _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
    acc = _mm256_fmadd_ps(wf, _mm256_loadu_ps(x + i), acc);
  }
  float sum = hsum(acc);
  for (; i < n; ++i) sum += bf16_to_fp32(h[i]) * x[i];
  return sum;
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ8_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    __m256i wq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb[b].qs));
    __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[b].qs));
    __m256 d = _mm256_set1_ps(half(wb[b].d) * half(xb[b].d));
    acc = _mm256_fmadd_ps(d, dot_i8_to_f32(wq, xq), acc);
  }
  return hsum(acc);
}

float dot_q4_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ4_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    __m256i wq = _mm256_sub_epi8(nibbles_to_bytes(wb[b].qs), _mm256_set1_epi8(8));
    __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[b].qs));
    __m256 d = _mm256_set1_ps(half(wb[b].d) * half(xb[b].d));
    acc = _mm256_fmadd_ps(d, dot_i8_to_f32(wq, xq), acc);
  }
  return hsum(acc);
}

float dot_q5_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ5_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQK; ++b) {
    __m256i high = _mm256_and_si256(bits_to_bytes(wb[b].qh), _mm256_set1_epi8(0x10));
    __m256i wq =
        _mm256_sub_epi8(_mm256_or_si256(nibbles_to_bytes(wb[b].qs), high), _mm256_set1_epi8(16));
    __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(xb[b].qs));
    __m256 d = _mm256_set1_ps(half(wb[b].d) * half(xb[b].d));
    acc = _mm256_fmadd_ps(d, dot_i8_to_f32(wq, xq), acc);
  }
  return hsum(acc);
}

// Q4_K / Q5_K: unsigned 4/5-bit values times q8 (maddubs), scaled per 32-value sub-block in
// int32; the minimums come from the activation block sums.
template <bool kFiveBit>
float dot_q45_K(int64_t n, const void* w, const void* x) {
  using Block = std::conditional_t<kFiveBit, BlockQ5K, BlockQ4K>;
  const auto* wb = static_cast<const Block*>(w);
  const auto* xb = static_cast<const BlockQ8K*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  __m256 acc = _mm256_setzero_ps();
  float acc_min = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    uint8_t sc[8], m[8];
    int summ = 0;
    for (int j = 0; j < 8; ++j) {
      k_scale_min(j, wb[b].scales, &sc[j], &m[j]);
      summ += m[j] * (xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1]);
    }
    const uint8_t* q = wb[b].qs;
    const int8_t* q8 = xb[b].qs;
    __m256i hbits = _mm256_setzero_si256();
    if constexpr (kFiveBit) hbits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wb[b].qh));
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; ++j, q += 32, q8 += 64) {
      __m256i bits = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q));
      __m256i lo = _mm256_and_si256(bits, low_mask);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low_mask);
      if constexpr (kFiveBit) {
        __m256i h0 = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j)), one);
        __m256i h1 = _mm256_and_si256(_mm256_srl_epi16(hbits, _mm_cvtsi32_si128(2 * j + 1)), one);
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(h0, 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(h1, 4));
      }
      __m256i x0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8));
      __m256i x1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32));
      __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, x0), _mm256_set1_epi16(sc[2 * j]));
      __m256i p1 =
          _mm256_madd_epi16(_mm256_maddubs_epi16(hi, x1), _mm256_set1_epi16(sc[2 * j + 1]));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(p0, p1));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(half(wb[b].d) * xb[b].d), _mm256_cvtepi32_ps(sumi), acc);
    acc_min += half(wb[b].dmin) * xb[b].d * summ;
  }
  return hsum(acc) - acc_min;
}

float dot_q4_K_q8_K(int64_t n, const void* w, const void* x) { return dot_q45_K<false>(n, w, x); }
float dot_q5_K_q8_K(int64_t n, const void* w, const void* x) { return dot_q45_K<true>(n, w, x); }

// Q6_K: (q6 - 32) . q8 = q6 . q8 - 32 * sum(q8); the second term from the block sums.
float dot_q6_K_q8_K(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ6K*>(w);
  const auto* xb = static_cast<const BlockQ8K*>(x);
  const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(3);
  __m256 acc = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kQKK; ++b) {
    const int8_t* sc = wb[b].scales;
    int offset = 0;
    for (int g = 0; g < 16; ++g) offset += sc[g] * xb[b].bsums[g];
    __m256i sumi = _mm256_setzero_si256();
    for (int half_index = 0; half_index < 2; ++half_index) {
      const uint8_t* ql = wb[b].ql + 64 * half_index;
      const uint8_t* qh = wb[b].qh + 32 * half_index;
      const int8_t* q8 = xb[b].qs + 128 * half_index;
      const int8_t* s = sc + 8 * half_index;
      __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql));
      __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ql + 32));
      __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qh));
      __m256i q[4];
      q[0] = _mm256_or_si256(_mm256_and_si256(l0, low_mask),
                             _mm256_slli_epi16(_mm256_and_si256(h, two_bits), 4));
      q[1] = _mm256_or_si256(
          _mm256_and_si256(l1, low_mask),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 2), two_bits), 4));
      q[2] = _mm256_or_si256(
          _mm256_and_si256(_mm256_srli_epi16(l0, 4), low_mask),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 4), two_bits), 4));
      q[3] = _mm256_or_si256(
          _mm256_and_si256(_mm256_srli_epi16(l1, 4), low_mask),
          _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(h, 6), two_bits), 4));
      for (int k = 0; k < 4; ++k) {
        __m256i xq = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q8 + 32 * k));
        __m256i scale = _mm256_set_m128i(_mm_set1_epi16(s[2 * k + 1]), _mm_set1_epi16(s[2 * k]));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(_mm256_maddubs_epi16(q[k], xq), scale));
      }
    }
    __m256 d = _mm256_set1_ps(half(wb[b].d) * xb[b].d);
    acc = _mm256_fmadd_ps(d,
                          _mm256_cvtepi32_ps(_mm256_sub_epi32(
                              sumi, _mm256_setr_epi32(32 * offset, 0, 0, 0, 0, 0, 0, 0))),
                          acc);
  }
  return hsum(acc);
}

// clang before 16 does not know "f16c" in __builtin_cpu_supports: read CPUID leaf 1 instead.
bool cpu_has_f16c() {
#if defined(__clang__) && __clang_major__ < 16
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C) != 0;
#else
  return __builtin_cpu_supports("f16c");
#endif
}

}  // namespace

const KernelSet* avx2_kernels() {
  static const bool usable =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  static const KernelSet set{"avx2",        dot_f32,       dot_f32_x4,    dot_f16_f32,
                             dot_bf16_f32,  dot_q8_0_q8_0, dot_q4_0_q8_0, dot_q5_0_q8_0,
                             dot_q4_K_q8_K, dot_q5_K_q8_K, dot_q6_K_q8_K, reference_dequantize_row,
                             nullptr,       nullptr,       nullptr,       axpy_f16,
                             nullptr,       nullptr,       nullptr,       nullptr,
                             nullptr,       nullptr};
  return usable ? &set : nullptr;
}

}  // namespace plinth::engine::kernels

#else

namespace plinth::engine::kernels {
const KernelSet* avx2_kernels() { return nullptr; }
}  // namespace plinth::engine::kernels

#endif
