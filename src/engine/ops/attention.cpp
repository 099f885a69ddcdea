// Straightforward norms, rotary embeddings, activations and single-query attention.
#include "ops/attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>

#include "ops/dequant.h"
#include "ops/simd_kernels.h"

namespace plinth::engine {
namespace {

// All 65536 halves as floats: one lookup instead of bit twiddling in the attention loop.
const float* half_table() {
  static const std::unique_ptr<float[]> table = [] {
    auto t = std::make_unique<float[]>(65536);
    for (uint32_t i = 0; i < 65536; ++i) t[i] = f16_to_f32(static_cast<uint16_t>(i));
    return t;
  }();
  return table.get();
}

}  // namespace

float half_to_float(uint16_t h) { return half_table()[h]; }

void rms_norm(float* x, const float* weight, int64_t n, float eps) {
  double sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) sum_sq += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum_sq / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) x[i] = x[i] * scale * (weight != nullptr ? weight[i] : 1.0f);
}

void layer_norm(float* x, const float* weight, const float* bias, int64_t n, float eps) {
  double mean = 0;
  for (int64_t i = 0; i < n; ++i) mean += x[i];
  mean /= static_cast<double>(n);
  double var = 0;
  for (int64_t i = 0; i < n; ++i) var += (x[i] - mean) * (x[i] - mean);
  var /= static_cast<double>(n);
  const double inv = 1.0 / std::sqrt(var + eps);
  for (int64_t i = 0; i < n; ++i)
    x[i] = static_cast<float>((x[i] - mean) * inv) * weight[i] + bias[i];
}

void apply_rope(float* x, int32_t n_heads, int32_t head_dim, int32_t n_rot, int64_t pos, float base,
                bool adjacent_pairs) {
  const int32_t half = n_rot / 2;
  for (int32_t i = 0; i < half; ++i) {
    // theta_i = pos * base^(-2i / n_rot), computed in double so exact mode tracks the reference.
    const double theta = static_cast<double>(pos) *
                         std::pow(static_cast<double>(base), -2.0 * i / static_cast<double>(n_rot));
    const float c = static_cast<float>(std::cos(theta)), s = static_cast<float>(std::sin(theta));
    for (int32_t h = 0; h < n_heads; ++h) {
      float* head = x + static_cast<int64_t>(h) * head_dim;
      float* a = adjacent_pairs ? head + 2 * i : head + i;
      float* b = adjacent_pairs ? head + 2 * i + 1 : head + i + half;
      const float x0 = *a, x1 = *b;
      *a = x0 * c - x1 * s;
      *b = x0 * s + x1 * c;
    }
  }
}

void softmax(float* x, int64_t n) {
  float max = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = x[i] == -std::numeric_limits<float>::infinity() ? 0.0f : std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}

void attend_one_head(const float* q, const KvView& kv, int64_t n_pos, int32_t head, int32_t n_head,
                     int32_t n_head_kv, int32_t head_dim, float* scores, float* out) {
  const int32_t kv_head = head / (n_head / n_head_kv);
  const float* qh = q + static_cast<int64_t>(head) * head_dim;
  float* oh = out + static_cast<int64_t>(head) * head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t kv_offset = static_cast<int64_t>(kv_head) * head_dim;
  if (kv.f16) {
    // The fast path: the SIMD half conversions of the chosen kernel set.
    const kernels::KernelSet& k = kernels::best_kernels();
    const auto* keys = static_cast<const uint16_t*>(kv.keys) + kv_offset;
    const auto* values = static_cast<const uint16_t*>(kv.values) + kv_offset;
    if (k.attend_f16 != nullptr && head_dim % 16 == 0) {
      k.attend_f16(qh, keys, values, kv.stride, n_pos, head_dim, scale, scores, oh);
      return;
    }
    for (int64_t p = 0; p < n_pos; ++p)
      scores[p] = k.dot_f16_f32(head_dim, keys + p * kv.stride, qh) * scale;
    softmax(scores, n_pos);
    std::fill(oh, oh + head_dim, 0.0f);
    for (int64_t p = 0; p < n_pos; ++p) k.axpy_f16(head_dim, scores[p], values + p * kv.stride, oh);
  } else {
    const auto* keys = static_cast<const float*>(kv.keys) + kv_offset;
    const auto* values = static_cast<const float*>(kv.values) + kv_offset;
    for (int64_t p = 0; p < n_pos; ++p) {
      const float* k = keys + p * kv.stride;
      float dot = 0;
      for (int32_t d = 0; d < head_dim; ++d) dot += qh[d] * k[d];
      scores[p] = dot * scale;
    }
    softmax(scores, n_pos);
    std::fill(oh, oh + head_dim, 0.0f);
    for (int64_t p = 0; p < n_pos; ++p) {
      const float* v = values + p * kv.stride;
      const float w = scores[p];
      for (int32_t d = 0; d < head_dim; ++d) oh[d] += w * v[d];
    }
  }
}

}  // namespace plinth::engine
