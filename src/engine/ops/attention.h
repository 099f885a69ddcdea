// Non-matmul primitives of a forward pass: norms, rotary embeddings, activations, attention.
#pragma once

#include <cstdint>

namespace plinth::engine {

// x[i] = x[i] / rms(x) * weight[i] over n values (weight may be null: no scale).
void rms_norm(float* x, const float* weight, int64_t n, float eps);
// x = (x - mean) / sqrt(var + eps) * weight + bias.
void layer_norm(float* x, const float* weight, const float* bias, int64_t n, float eps);
// Rotates the first n_rot dims of each of n_heads heads (head_dim apart) by position pos.
// adjacent_pairs: (x[2i], x[2i+1]) pairs (llama); else (x[i], x[i + n_rot/2]) (NeoX).
void apply_rope(float* x, int32_t n_heads, int32_t head_dim, int32_t n_rot, int64_t pos, float base,
                bool adjacent_pairs);
// In-place softmax of n values; returns nothing, handles -inf entries.
void softmax(float* x, int64_t n);
float silu(float x);
float gelu_tanh(float x);

// Keys and values of one sequence, row p at base + p * stride (stride = n_head_kv * head_dim),
// either F32 or F16 (IEEE half bits).
struct KvView {
  const void* keys = nullptr;
  const void* values = nullptr;
  int64_t stride = 0;
  bool f16 = false;
};

// Attention of one query token (all heads, q[n_head * head_dim]) over positions [0, n_pos):
// out = softmax(q.K / sqrt(head_dim)) V per head, head h reading kv head h / (n_head / n_head_kv).
// scores: scratch of n_pos floats.
void attend_one_head(const float* q, const KvView& kv, int64_t n_pos, int32_t head, int32_t n_head,
                     int32_t n_head_kv, int32_t head_dim, float* scores, float* out);

// Fast half -> float (table lookup).
float half_to_float(uint16_t h);

}  // namespace plinth::engine
