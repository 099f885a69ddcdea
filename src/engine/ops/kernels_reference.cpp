// Portable reference code: f16 conversion, block tables, exact decoders, activation quantizers.
#include <algorithm>
#include <cmath>

#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {

float fp16_to_fp32(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1F;
  uint32_t mantissa = h & 0x3FF;
  uint32_t bits;
  if (exponent == 0) {
    if (mantissa == 0) {
      bits = sign;
    } else {  // subnormal: renormalise
      int e = -1;
      do {
        ++e;
        mantissa <<= 1;
      } while ((mantissa & 0x400) == 0);
      bits = sign | ((127 - 15 - e) << 23) | ((mantissa & 0x3FF) << 13);
    }
  } else if (exponent == 31) {
    bits = sign | 0x7F800000 | (mantissa << 13);
  } else {
    bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint16_t fp32_to_fp16(float f) {
  uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t abs = x & 0x7FFFFFFF;
  if (abs >= 0x7F800000) return sign | 0x7C00 | (abs > 0x7F800000 ? 0x200 : 0);  // inf / nan
  if (abs >= 0x477FF000) return sign | 0x7C00;  // rounds above the largest half: inf
  if (abs < 0x38800000) {                       // below the smallest normal half: subnormal or zero
    if (abs < 0x33000000) return sign;
    uint32_t mantissa = (abs & 0x7FFFFF) | 0x800000;
    int shift = 113 - static_cast<int>(abs >> 23) + 13;
    uint32_t half = mantissa >> shift;
    uint32_t rest = mantissa & ((1u << shift) - 1), midpoint = 1u << (shift - 1);
    if (rest > midpoint || (rest == midpoint && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = ((abs >> 13) - (112u << 10));
  uint32_t rest = abs & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // may carry into the exponent
  return sign | static_cast<uint16_t>(half);
}

int block_values(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 1;
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
      return kQK;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return kQKK;
    default:
      return 0;
  }
}

size_t block_bytes(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return 4;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 2;
    case GgmlType::kQ8_0:
      return sizeof(BlockQ8_0);
    case GgmlType::kQ4_0:
      return sizeof(BlockQ4_0);
    case GgmlType::kQ5_0:
      return sizeof(BlockQ5_0);
    case GgmlType::kQ4_K:
      return sizeof(BlockQ4K);
    case GgmlType::kQ5_K:
      return sizeof(BlockQ5K);
    case GgmlType::kQ6_K:
      return sizeof(BlockQ6K);
    default:
      return 0;
  }
}

bool supports(GgmlType t, int64_t cols) {
  int v = block_values(t);
  return v != 0 && cols > 0 && cols % v == 0;
}

GgmlType fast_activation_type(GgmlType t) {
  switch (t) {
    case GgmlType::kQ8_0:
    case GgmlType::kQ4_0:
    case GgmlType::kQ5_0:
      return GgmlType::kQ8_0;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
    case GgmlType::kQ6_K:
      return GgmlType::kQ8_K;
    default:
      return GgmlType::kF32;
  }
}

namespace {

void decode_q4_k_or_q5_k(const uint8_t* scales, float d, float dmin, const uint8_t* qs,
                         const uint8_t* qh, float* y) {
  for (int j = 0; j < kQKK / 64; ++j) {
    uint8_t sc0, m0, sc1, m1;
    k_scale_min(2 * j, scales, &sc0, &m0);
    k_scale_min(2 * j + 1, scales, &sc1, &m1);
    float d0 = d * sc0, min0 = dmin * m0, d1 = d * sc1, min1 = dmin * m1;
    for (int l = 0; l < 32; ++l) {
      int lo = qs[l] & 0xF, hi = qs[l] >> 4;
      if (qh) {
        lo += ((qh[l] >> (2 * j)) & 1) << 4;
        hi += ((qh[l] >> (2 * j + 1)) & 1) << 4;
      }
      y[l] = d0 * lo - min0;
      y[l + 32] = d1 * hi - min1;
    }
    qs += 32;
    y += 64;
  }
}

}  // namespace

void reference_dequantize_row(GgmlType t, const void* src, float* dst, int64_t n) {
  const auto* bytes = static_cast<const uint8_t*>(src);
  switch (t) {
    case GgmlType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, bytes + 2 * i, 2);
        dst[i] = t == GgmlType::kF16 ? fp16_to_fp32(h) : bf16_to_fp32(h);
      }
      return;
    case GgmlType::kQ8_0:
      for (int64_t b = 0; b < n / kQK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(bytes)[b];
        float d = fp16_to_fp32(blk.d);
        for (int j = 0; j < kQK; ++j) dst[b * kQK + j] = d * blk.qs[j];
      }
      return;
    case GgmlType::kQ4_0:
      for (int64_t b = 0; b < n / kQK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ4_0*>(bytes)[b];
        float d = fp16_to_fp32(blk.d);
        for (int j = 0; j < kQK / 2; ++j) {
          dst[b * kQK + j] = d * ((blk.qs[j] & 0xF) - 8);
          dst[b * kQK + j + 16] = d * ((blk.qs[j] >> 4) - 8);
        }
      }
      return;
    case GgmlType::kQ5_0:
      for (int64_t b = 0; b < n / kQK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ5_0*>(bytes)[b];
        float d = fp16_to_fp32(blk.d);
        uint32_t qh;
        std::memcpy(&qh, blk.qh, 4);
        for (int j = 0; j < kQK / 2; ++j) {
          int lo = (blk.qs[j] & 0xF) | (((qh >> j) & 1) << 4);
          int hi = (blk.qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
          dst[b * kQK + j] = d * (lo - 16);
          dst[b * kQK + j + 16] = d * (hi - 16);
        }
      }
      return;
    case GgmlType::kQ4_K:
      for (int64_t b = 0; b < n / kQKK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ4K*>(bytes)[b];
        decode_q4_k_or_q5_k(blk.scales, fp16_to_fp32(blk.d), fp16_to_fp32(blk.dmin), blk.qs,
                            nullptr, dst + b * kQKK);
      }
      return;
    case GgmlType::kQ5_K:
      for (int64_t b = 0; b < n / kQKK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ5K*>(bytes)[b];
        decode_q4_k_or_q5_k(blk.scales, fp16_to_fp32(blk.d), fp16_to_fp32(blk.dmin), blk.qs, blk.qh,
                            dst + b * kQKK);
      }
      return;
    case GgmlType::kQ6_K:
      for (int64_t b = 0; b < n / kQKK; ++b) {
        const auto& blk = reinterpret_cast<const BlockQ6K*>(bytes)[b];
        float d = fp16_to_fp32(blk.d);
        float* y = dst + b * kQKK;
        for (int half = 0; half < 2; ++half) {
          const uint8_t* ql = blk.ql + 64 * half;
          const uint8_t* qh = blk.qh + 32 * half;
          const int8_t* sc = blk.scales + 8 * half;
          for (int l = 0; l < 32; ++l) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | ((qh[l] & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[128 * half + l] = d * sc[is] * q1;
            y[128 * half + l + 32] = d * sc[is + 2] * q2;
            y[128 * half + l + 64] = d * sc[is + 4] * q3;
            y[128 * half + l + 96] = d * sc[is + 6] * q4;
          }
        }
      }
      return;
    default:
      std::memset(dst, 0, n * sizeof(float));
      return;
  }
}

void quantize_row_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    y[b].d = fp32_to_fp16(d);
    // Round half to even without a libm call per value (|x * id| <= 127): adding and removing
    // 1.5 * 2^23 leaves the rounded integer, exactly what nearbyint gives in the default mode.
    constexpr float kRoundMagic = 12582912.0f;
    for (int j = 0; j < kQK; ++j)
      y[b].qs[j] = static_cast<int8_t>(static_cast<int>((x[j] * id + kRoundMagic) - kRoundMagic));
  }
}

size_t prepared_q32_bytes(int64_t n) {
  return static_cast<size_t>(2 * n + n / kQK * static_cast<int64_t>(sizeof(float)));
}

void prepare_q32(const float* x, int64_t n, uint8_t* out) {
  auto* qs = reinterpret_cast<int8_t*>(out);
  auto* neg_sums = reinterpret_cast<int32_t*>(out + n);
  auto* d = reinterpret_cast<float*>(out + 2 * n);
  for (int64_t b = 0; b < n / kQK; ++b) {
    BlockQ8_0 block;
    quantize_row_q8_0(x + b * kQK, &block, kQK);
    std::memcpy(qs + b * kQK, block.qs, kQK);
    d[b] = fp16_to_fp32(block.d);
  }
  for (int64_t i = 0; i < n / 4; ++i)
    neg_sums[i] = -16 * (qs[4 * i] + qs[4 * i + 1] + qs[4 * i + 2] + qs[4 * i + 3]);
}

void quantize_quad_q8_0(const float* const* x, int tokens, int64_t n, int32_t offset, uint8_t* out,
                        QuadLayout layout) {
  for (int64_t b = 0; b < n / kQK; ++b, out += kQuadBlockBytes) {
    std::memset(out, 0, kQuadBlockBytes);
    for (int j = 0; j < tokens; ++j) {
      BlockQ8_0 block;
      quantize_row_q8_0(x[j] + b * kQK, &block, kQK);
      for (int h = 0; h < 2; ++h)
        for (int g = 0; g < 4; ++g)
          std::memcpy(
              out + (4 * h + quad_rotation(layout, j, g)) * 16 + 4 * quad_lane(layout, j, g),
              block.qs + 16 * h + 4 * g, 4);
      const float d = fp16_to_fp32(block.d);
      int32_t sum = 0, low = 0;
      for (int i = 0; i < kQK; ++i) (i < kQK / 2 ? low : sum) += block.qs[i];
      const int32_t bias = -offset * (sum + low), low_bias = -offset * low;
      std::memcpy(out + kQuadScaleOffset + 4 * j, &d, 4);
      std::memcpy(out + kQuadBiasOffset + 4 * j, &bias, 4);
      std::memcpy(out + kQuadLowBiasOffset + 4 * j, &low_bias, 4);
    }
  }
}

int32_t quad_weight_offset(GgmlType t) {
  switch (t) {
    case GgmlType::kQ8_0:
      return 128;
    case GgmlType::kQ4_0:
      return 8;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K:
      return 1;
    case GgmlType::kQ6_K:
      return 32;
    default:
      return 16;
  }
}

void quantize_row_q8_K(const float* x, BlockQ8K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQKK; ++b, x += kQKK) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQKK; ++j) {
      float a = std::fabs(x[j]);
      if (a > amax) {
        amax = a;
        max = x[j];
      }
    }
    if (amax == 0) {
      std::memset(&y[b], 0, sizeof y[b]);
      continue;
    }
    // Scaling by the signed extreme maps it to -127 exactly; the other sign may reach +128,
    // which is clamped (llama.cpp does the same).
    float iscale = -127.0f / max;
    // Same rounding as quantize_row_q8_0 (|iscale * x| <= 127 plus rounding): the magic constant
    // gives nearbyint's result without a libm call per value.
    constexpr float kRoundMagic = 12582912.0f;
    for (int j = 0; j < kQKK; ++j) {
      int v = static_cast<int>((iscale * x[j] + kRoundMagic) - kRoundMagic);
      y[b].qs[j] = static_cast<int8_t>(std::min(127, v));
    }
    for (int g = 0; g < kQKK / 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[b].qs[16 * g + l];
      y[b].bsums[g] = static_cast<int16_t>(sum);
    }
    y[b].d = 1.0f / iscale;
  }
}

}  // namespace plinth::engine::kernels
