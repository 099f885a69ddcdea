// Round-to-nearest weight quantizers for the random-model writer (F32 ... Q6_K).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "gguf_writer.h"
#include "ops/simd_kernels.h"

namespace plinth::tools {
namespace {

using namespace engine::kernels;

int nearest(float v) { return static_cast<int>(std::nearbyint(v)); }

void quantize_q5_0(const float* x, BlockQ5_0* y) {
  // Signed extreme maps to -16 so the full 5-bit range is used (llama.cpp's reference choice).
  float amax = 0, max = 0;
  for (int j = 0; j < kQK; ++j)
    if (std::fabs(x[j]) > amax) amax = std::fabs(x[j]), max = x[j];
  y->d = fp32_to_fp16(max / -16.0f);
  float d = fp16_to_fp32(y->d), id = d != 0 ? 1.0f / d : 0.0f;
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    int lo = std::clamp(nearest(x[j] * id) + 16, 0, 31);
    int hi = std::clamp(nearest(x[j + 16] * id) + 16, 0, 31);
    y->qs[j] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
    qh |= static_cast<uint32_t>(lo >> 4) << j;
    qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
  }
  std::memcpy(y->qh, &qh, 4);
}

// Q4_K / Q5_K: per 32-value sub-block an affine range [lo, hi] (lo <= 0), its step and offset
// stored as 6-bit multiples of the super-block's f16 d and dmin.
template <typename Block>
void quantize_q45_K(const float* x, Block* y, int levels) {
  float step[8], offset[8];
  for (int j = 0; j < 8; ++j) {
    float lo = 0, hi = 0;
    for (int l = 0; l < 32; ++l) lo = std::min(lo, x[32 * j + l]), hi = std::max(hi, x[32 * j + l]);
    step[j] = (hi - lo) / levels;
    offset[j] = -lo;
  }
  float max_step = *std::max_element(step, step + 8),
        max_offset = *std::max_element(offset, offset + 8);
  y->d = fp32_to_fp16(max_step / 63.0f);
  y->dmin = fp32_to_fp16(max_offset / 63.0f);
  float d = fp16_to_fp32(y->d), dmin = fp16_to_fp32(y->dmin);
  uint8_t sc[8], mn[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(d > 0 ? std::clamp(nearest(step[j] / d), 0, 63) : 0);
    mn[j] = static_cast<uint8_t>(dmin > 0 ? std::clamp(nearest(offset[j] / dmin), 0, 63) : 0);
  }
  for (int k = 0; k < 4; ++k) {
    y->scales[k] = static_cast<uint8_t>((sc[k] & 63) | ((sc[k + 4] >> 4) << 6));
    y->scales[k + 4] = static_cast<uint8_t>((mn[k] & 63) | ((mn[k + 4] >> 4) << 6));
    y->scales[k + 8] = static_cast<uint8_t>((sc[k + 4] & 0xF) | ((mn[k + 4] & 0xF) << 4));
  }
  uint8_t q[kQKK];
  for (int j = 0; j < 8; ++j) {
    float ds = d * sc[j], dm = dmin * mn[j];
    for (int l = 0; l < 32; ++l) {
      int v = ds > 0 ? nearest((x[32 * j + l] + dm) / ds) : 0;
      q[32 * j + l] = static_cast<uint8_t>(std::clamp(v, 0, levels));
    }
  }
  for (int j = 0; j < 4; ++j)
    for (int l = 0; l < 32; ++l)
      y->qs[32 * j + l] =
          static_cast<uint8_t>((q[64 * j + l] & 0xF) | ((q[64 * j + 32 + l] & 0xF) << 4));
  if constexpr (std::is_same_v<Block, BlockQ5K>) {
    std::memset(y->qh, 0, sizeof y->qh);
    for (int j = 0; j < 4; ++j)
      for (int l = 0; l < 32; ++l) {
        y->qh[l] |= static_cast<uint8_t>((q[64 * j + l] >> 4) << (2 * j));
        y->qh[l] |= static_cast<uint8_t>((q[64 * j + 32 + l] >> 4) << (2 * j + 1));
      }
  }
}

// Q6_K: per 16 values a signed 8-bit multiple of the f16 d; values -32..31.
void quantize_q6_K(const float* x, BlockQ6K* y) {
  float group_scale[16], max_scale = 0;
  for (int g = 0; g < 16; ++g) {
    float amax = 0;
    for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * g + l]));
    group_scale[g] = amax / 31.0f;
    max_scale = std::max(max_scale, group_scale[g]);
  }
  y->d = fp32_to_fp16(max_scale / 127.0f);
  float d = fp16_to_fp32(y->d);
  int8_t q[kQKK];
  for (int g = 0; g < 16; ++g) {
    int s = d > 0 ? std::clamp(nearest(group_scale[g] / d), -128, 127) : 0;
    y->scales[g] = static_cast<int8_t>(s);
    float ds = d * s;
    for (int l = 0; l < 16; ++l) {
      int v = ds != 0 ? nearest(x[16 * g + l] / ds) : 0;
      q[16 * g + l] = static_cast<int8_t>(std::clamp(v, -32, 31));
    }
  }
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      int q1 = q[128 * h + l] + 32, q2 = q[128 * h + l + 32] + 32;
      int q3 = q[128 * h + l + 64] + 32, q4 = q[128 * h + l + 96] + 32;
      y->ql[64 * h + l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
      y->ql[64 * h + l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
      y->qh[32 * h + l] =
          static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
    }
}

}  // namespace

Status quantize_values(GgmlType t, const float* x, int64_t n, uint8_t* out) {
  if (!supports(t, n)) return fail(ErrorCode::kInvalidArgument, "cannot quantize to this type");
  switch (t) {
    case GgmlType::kF32:
      std::memcpy(out, x, n * sizeof(float));
      return ok();
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h = fp32_to_fp16(x[i]);
        std::memcpy(out + 2 * i, &h, 2);
      }
      return ok();
    case GgmlType::kQ8_0:
      quantize_row_q8_0(x, reinterpret_cast<BlockQ8_0*>(out), n);
      return ok();
    case GgmlType::kQ5_0:
      for (int64_t b = 0; b < n / kQK; ++b)
        quantize_q5_0(x + b * kQK, reinterpret_cast<BlockQ5_0*>(out) + b);
      return ok();
    case GgmlType::kQ4_K:
      for (int64_t b = 0; b < n / kQKK; ++b)
        quantize_q45_K(x + b * kQKK, reinterpret_cast<BlockQ4K*>(out) + b, 15);
      return ok();
    case GgmlType::kQ5_K:
      for (int64_t b = 0; b < n / kQKK; ++b)
        quantize_q45_K(x + b * kQKK, reinterpret_cast<BlockQ5K*>(out) + b, 31);
      return ok();
    case GgmlType::kQ6_K:
      for (int64_t b = 0; b < n / kQKK; ++b)
        quantize_q6_K(x + b * kQKK, reinterpret_cast<BlockQ6K*>(out) + b);
      return ok();
    default:
      return fail(ErrorCode::kInvalidArgument, "no quantizer for this type");
  }
}

}  // namespace plinth::tools
