// Hyperparameters and weight views of a loaded architecture (llama, qwen2, qwen3, bert).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "gguf/gguf_file.h"
#include "ops/matmul.h"
#include "plinth/core/result.h"

namespace plinth::engine {

enum class RopeStyle { kAdjacentPairs, kHalves };  // llama | NeoX (qwen2, qwen3)
enum class Pooling { kNone = 0, kMean = 1, kCls = 2 };

struct ModelConfig {
  std::string architecture;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;
  int32_t n_ff = 0;
  int32_t n_vocab = 0;
  int32_t n_rot = 0;  // rotated dimensions per head
  int32_t train_context = 0;
  float rope_base = 10000.0f;
  float norm_eps = 1e-5f;  // RMS norm (decoders) or LayerNorm (bert) epsilon
  RopeStyle rope_style = RopeStyle::kAdjacentPairs;
  bool is_encoder = false;
  Pooling pooling = Pooling::kNone;

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }
};

// A norm weight or bias: F32 values copied out of the file (small), empty when absent.
using Vector = std::vector<float>;

struct LayerWeights {
  Vector attn_norm, attn_norm_bias;  // decoders: attn_norm; bert: attn_output_norm
  WeightMatrix wq, wk, wv, wo;
  Vector bq, bk, bv, bo;
  Vector q_norm, k_norm;           // qwen3, per head
  Vector ffn_norm, ffn_norm_bias;  // decoders: ffn_norm; bert: layer_output_norm
  WeightMatrix ffn_gate, ffn_up, ffn_down;
  Vector ffn_up_bias, ffn_down_bias;
};

struct ModelWeights {
  WeightMatrix token_embd;
  WeightMatrix output;  // token_embd when tied
  Vector output_norm;
  // bert
  WeightMatrix position_embd, token_types;
  Vector embd_norm, embd_norm_bias;
  std::vector<LayerWeights> layers;

  // Every matrix field (output and token_embd may view the same bytes).
  std::vector<WeightMatrix*> matrices();
};

// Reads the hyperparameters and binds every weight, checking names, shapes and types.
Result<ModelConfig> read_model_config(const GgufFile& file);
Result<ModelWeights> bind_model_weights(const GgufFile& file, const ModelConfig& config);
// Rewrites the matrices that fit panels (kernels::panels_fit: the Q8_0 family and the K-quants,
// rows in sixteens) into panels (ops/panels.h), in place, where the chosen kernels have panel
// kernels and the file's bytes are the process's own copy (Residency::kHugePages); they are marked
// `panels`. Otherwise nothing changes.
void store_weights_in_panels(GgufFile& file, ModelWeights& weights);

// Dequantizes row `row` of a weight matrix into dst (cols floats).
void read_weight_row(const WeightMatrix& w, int64_t row, float* dst);

}  // namespace plinth::engine
