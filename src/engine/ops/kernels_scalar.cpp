// Portable scalar dot-product kernels: the reference the SIMD sets are tested against.
#include <cmath>

#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {

namespace {

float dot_f32(int64_t n, const float* a, const float* b) {
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += a[i] * b[i];
  return acc;
}

void dot_f32_x4(int64_t n, const float* a, int64_t stride, const float* b, float* out) {
  for (int r = 0; r < 4; ++r) out[r] = dot_f32(n, a + r * stride, b);
}

float dot_f16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += fp16_to_fp32(h[i]) * x[i];
  return acc;
}

void axpy_f16(int64_t n, float a, const void* x, float* y) {
  const auto* h = static_cast<const uint16_t*>(x);
  for (int64_t i = 0; i < n; ++i) y[i] += a * fp16_to_fp32(h[i]);
}

float dot_bf16_f32(int64_t n, const void* w, const float* x) {
  const auto* h = static_cast<const uint16_t*>(w);
  float acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += bf16_to_fp32(h[i]) * x[i];
  return acc;
}

float dot_q8_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ8_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += wb[b].qs[j] * xb[b].qs[j];
    acc += sum * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d));
  }
  return acc;
}

float dot_q4_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ4_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    int sum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      sum += ((wb[b].qs[j] & 0xF) - 8) * xb[b].qs[j];
      sum += ((wb[b].qs[j] >> 4) - 8) * xb[b].qs[j + 16];
    }
    acc += sum * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d));
  }
  return acc;
}

float dot_q5_0_q8_0(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ5_0*>(w);
  const auto* xb = static_cast<const BlockQ8_0*>(x);
  float acc = 0;
  for (int64_t b = 0; b < n / kQK; ++b) {
    uint32_t qh;
    std::memcpy(&qh, wb[b].qh, 4);
    int sum = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      int lo = ((wb[b].qs[j] & 0xF) | (((qh >> j) & 1) << 4)) - 16;
      int hi = ((wb[b].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
      sum += lo * xb[b].qs[j] + hi * xb[b].qs[j + 16];
    }
    acc += sum * (fp16_to_fp32(wb[b].d) * fp16_to_fp32(xb[b].d));
  }
  return acc;
}

// Q4_K / Q5_K: sum_j d*sc_j*sum(q*q8) - dmin*m_j*sum(q8), the second term from the block sums.
float dot_q45_K(int64_t n, const uint8_t* w, size_t stride, bool five_bit, const BlockQ8K* xb) {
  float acc = 0;
  for (int64_t b = 0; b < n / kQKK; ++b, w += stride) {
    const auto* blk4 = reinterpret_cast<const BlockQ4K*>(w);
    const auto* blk5 = reinterpret_cast<const BlockQ5K*>(w);
    const uint8_t* scales = five_bit ? blk5->scales : blk4->scales;
    const uint8_t* qs = five_bit ? blk5->qs : blk4->qs;
    int sumi = 0, summ = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      k_scale_min(j, scales, &sc, &m);
      int s = 0;
      for (int l = 0; l < 32; ++l) {
        int q = (j % 2 == 0) ? (qs[32 * (j / 2) + l] & 0xF) : (qs[32 * (j / 2) + l] >> 4);
        if (five_bit) q += ((blk5->qh[l] >> j) & 1) << 4;
        s += q * xb[b].qs[32 * j + l];
      }
      sumi += sc * s;
      summ += m * (xb[b].bsums[2 * j] + xb[b].bsums[2 * j + 1]);
    }
    float d = fp16_to_fp32(blk4->d) * xb[b].d, dmin = fp16_to_fp32(blk4->dmin) * xb[b].d;
    acc += d * sumi - dmin * summ;
  }
  return acc;
}

float dot_q4_K_q8_K(int64_t n, const void* w, const void* x) {
  return dot_q45_K(n, static_cast<const uint8_t*>(w), sizeof(BlockQ4K), false,
                   static_cast<const BlockQ8K*>(x));
}

float dot_q5_K_q8_K(int64_t n, const void* w, const void* x) {
  return dot_q45_K(n, static_cast<const uint8_t*>(w), sizeof(BlockQ5K), true,
                   static_cast<const BlockQ8K*>(x));
}

float dot_q6_K_q8_K(int64_t n, const void* w, const void* x) {
  const auto* wb = static_cast<const BlockQ6K*>(w);
  const auto* xb = static_cast<const BlockQ8K*>(x);
  float acc = 0;
  for (int64_t b = 0; b < n / kQKK; ++b) {
    int8_t q[kQKK];
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = wb[b].ql + 64 * half;
      const uint8_t* qh = wb[b].qh + 32 * half;
      int8_t* out = q + 128 * half;
      for (int l = 0; l < 32; ++l) {
        out[l] = static_cast<int8_t>(((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32);
        out[l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        out[l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        out[l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
    }
    int sumi = 0;
    for (int g = 0; g < kQKK / 16; ++g) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * g + l] * xb[b].qs[16 * g + l];
      sumi += wb[b].scales[g] * s;
    }
    acc += fp16_to_fp32(wb[b].d) * xb[b].d * sumi;
  }
  return acc;
}

}  // namespace

const KernelSet& scalar_kernels() {
  static const KernelSet set{"scalar",      dot_f32,       dot_f32_x4,    dot_f16_f32,
                             dot_bf16_f32,  dot_q8_0_q8_0, dot_q4_0_q8_0, dot_q5_0_q8_0,
                             dot_q4_K_q8_K, dot_q5_K_q8_K, dot_q6_K_q8_K, reference_dequantize_row,
                             nullptr,       nullptr,       nullptr,       axpy_f16,
                             nullptr,       nullptr,       nullptr,       nullptr,
                             nullptr,       nullptr};
  return set;
}

}  // namespace plinth::engine::kernels
