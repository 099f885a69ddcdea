// Random-weight GGUF models of llama / qwen2 / qwen3 shape, quantized like llama.cpp's presets.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "gguf_writer.h"

namespace plinth::tools {

// Whole-file quantization presets. kQ4_K_M mixes Q4_K with Q6_K (output / tied embeddings and
// the llama.cpp "more bits" layers of attn_v and ffn_down).
enum class QuantRecipe { kF32, kF16, kQ8_0, kQ4_K, kQ5_K, kQ6_K, kQ4_K_M };

std::optional<QuantRecipe> parse_recipe(std::string_view name);  // "q8_0", "q4_k_m", ...
std::string_view recipe_name(QuantRecipe recipe);

struct ModelShape {
  std::string architecture = "qwen2";  // llama | qwen2 | qwen3
  int64_t embedding = 896;
  int64_t layers = 24;
  int64_t heads = 14;
  int64_t kv_heads = 2;
  int64_t head_dim = 0;  // 0: embedding / heads
  int64_t ffn = 4864;
  int64_t vocab = 151936;  // replaced by the tokenizer's size when one is copied
  int64_t context_length = 32768;
  bool tied = true;
  float rope_base = 1000000.0f;
  float rms_eps = 1e-6f;
};

// Qwen2-0.5B's shape (the benchmark's reference model).
ModelShape qwen2_0_5b_shape();

struct RandomModelSpec {
  ModelShape shape;
  QuantRecipe recipe = QuantRecipe::kQ8_0;
  uint64_t seed = 1;
  std::string name = "plinth-random";
  std::filesystem::path tokenizer_from;  // empty: no tokenizer metadata
};

// The type a tensor gets under a recipe; rows whose length is not a multiple of 256 fall back
// from K-quants as llama.cpp does (Q4_K -> Q5_0, Q5_K / Q6_K -> Q8_0).
GgmlType tensor_type(QuantRecipe recipe, std::string_view tensor, int64_t layer, int64_t layers,
                     int64_t row_length, bool tied);

// The deterministic F32 value of element (row, col) of a tensor before quantization.
float random_weight(uint64_t seed, std::string_view tensor, int64_t row, int64_t col,
                    int64_t row_length, bool is_norm);

// Writes the model; returns the file size.
Result<uint64_t> write_random_model(const RandomModelSpec& spec, const std::filesystem::path& out);

}  // namespace plinth::tools
