// write_random_model: llama/qwen2/qwen3/bert metadata, tensor list, recipe types, seeded values.
#include "random_model.h"

#include <cmath>
#include <cstring>

#include "ops/simd_kernels.h"

namespace plinth::tools {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

uint64_t hash_name(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ULL;
  return h;
}

// llama.cpp gives these layers of attn_v / ffn_down more bits in its *_M presets.
bool uses_more_bits(int64_t layer, int64_t layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

GgmlType fallback(GgmlType t, int64_t row_length) {
  if (engine::kernels::supports(t, row_length)) return t;
  if (t == GgmlType::kQ4_K) return GgmlType::kQ5_0;
  return GgmlType::kQ8_0;
}

uint32_t llama_file_type(QuantRecipe r) {
  switch (r) {
    case QuantRecipe::kF32:
      return 0;
    case QuantRecipe::kF16:
      return 1;
    case QuantRecipe::kQ8_0:
      return 7;
    case QuantRecipe::kQ4_K:
      return 14;  // Q4_K_S
    case QuantRecipe::kQ5_K:
      return 16;  // Q5_K_S
    case QuantRecipe::kQ6_K:
      return 18;
    case QuantRecipe::kQ4_K_M:
      return 15;
  }
  return 0;
}

// The bert encoder's tensors after token_embd (llama.cpp's names), then the file.
template <typename Add>
Result<uint64_t> write_bert_tensors(GgufWriter& writer, const ModelShape& shape, const Add& add,
                                    const std::filesystem::path& out) {
  const int64_t e = shape.embedding;
  std::vector<std::pair<std::string, std::vector<int64_t>>> list = {
      {"position_embd.weight", {e, shape.context_length}},
      {"token_types.weight", {e, 2}},
      {"token_embd_norm.weight", {e}},
      {"token_embd_norm.bias", {e}}};
  for (int64_t l = 0; l < shape.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    for (const char* name : {"attn_q", "attn_k", "attn_v", "attn_output"}) {
      list.push_back({p + name + ".weight", {e, e}});
      list.push_back({p + name + ".bias", {e}});
    }
    list.push_back({p + "attn_output_norm.weight", {e}});
    list.push_back({p + "attn_output_norm.bias", {e}});
    list.push_back({p + "ffn_up.weight", {e, shape.ffn}});
    list.push_back({p + "ffn_up.bias", {shape.ffn}});
    list.push_back({p + "ffn_down.weight", {shape.ffn, e}});
    list.push_back({p + "ffn_down.bias", {e}});
    list.push_back({p + "layer_output_norm.weight", {e}});
    list.push_back({p + "layer_output_norm.bias", {e}});
  }
  for (size_t i = 0; i < list.size(); ++i) {
    int64_t layer = i < 4 ? -1 : static_cast<int64_t>((i - 4) / 16);
    if (auto s = add(list[i].first, list[i].second, layer); !s) return std::unexpected(s.error());
  }
  return writer.write(out);
}

}  // namespace

std::optional<QuantRecipe> parse_recipe(std::string_view name) {
  for (QuantRecipe r :
       {QuantRecipe::kF32, QuantRecipe::kF16, QuantRecipe::kQ8_0, QuantRecipe::kQ4_K,
        QuantRecipe::kQ5_K, QuantRecipe::kQ6_K, QuantRecipe::kQ4_K_M})
    if (recipe_name(r) == name) return r;
  return std::nullopt;
}

std::string_view recipe_name(QuantRecipe recipe) {
  switch (recipe) {
    case QuantRecipe::kF32:
      return "f32";
    case QuantRecipe::kF16:
      return "f16";
    case QuantRecipe::kQ8_0:
      return "q8_0";
    case QuantRecipe::kQ4_K:
      return "q4_k";
    case QuantRecipe::kQ5_K:
      return "q5_k";
    case QuantRecipe::kQ6_K:
      return "q6_k";
    case QuantRecipe::kQ4_K_M:
      return "q4_k_m";
  }
  return "";
}

ModelShape qwen2_0_5b_shape() { return ModelShape{}; }

GgmlType tensor_type(QuantRecipe recipe, std::string_view tensor, int64_t layer, int64_t layers,
                     int64_t row_length, bool tied) {
  GgmlType base = GgmlType::kQ8_0;
  switch (recipe) {
    case QuantRecipe::kF32:
      return GgmlType::kF32;
    case QuantRecipe::kF16:
      return GgmlType::kF16;
    case QuantRecipe::kQ8_0:
      return fallback(GgmlType::kQ8_0, row_length);
    case QuantRecipe::kQ4_K:
      base = GgmlType::kQ4_K;
      break;
    case QuantRecipe::kQ5_K:
      base = GgmlType::kQ5_K;
      break;
    case QuantRecipe::kQ6_K:
      base = GgmlType::kQ6_K;
      break;
    case QuantRecipe::kQ4_K_M: {
      bool is_output = tensor == "output.weight" || (tied && tensor == "token_embd.weight");
      bool more_bits = (tensor.ends_with("attn_v.weight") || tensor.ends_with("ffn_down.weight")) &&
                       uses_more_bits(layer, layers);
      base = is_output || more_bits ? GgmlType::kQ6_K : GgmlType::kQ4_K;
      break;
    }
  }
  return fallback(base, row_length);
}

float random_weight(uint64_t seed, std::string_view tensor, int64_t row, int64_t col,
                    int64_t row_length, bool is_norm) {
  uint64_t bits =
      splitmix64(seed ^ hash_name(tensor) ^
                 splitmix64(static_cast<uint64_t>(row) << 32 | static_cast<uint64_t>(col)));
  float unit =
      static_cast<float>(bits >> 40) / static_cast<float>(1 << 24) * 2.0f - 1.0f;  // [-1, 1)
  if (is_norm) return 1.0f + 0.1f * unit;
  // Variance 1 / row_length keeps activations O(1) through the layers.
  return unit * std::sqrt(3.0f / static_cast<float>(row_length));
}

Result<uint64_t> write_random_model(const RandomModelSpec& spec, const std::filesystem::path& out) {
  ModelShape shape = spec.shape;
  const std::string& arch = shape.architecture;
  if (arch != "llama" && arch != "qwen2" && arch != "qwen3" && arch != "bert")
    return fail(ErrorCode::kInvalidArgument, "architecture must be llama, qwen2, qwen3 or bert");
  const bool bert = arch == "bert";
  if (bert) shape.kv_heads = shape.heads;  // bert attention has no grouped keys
  if (shape.heads <= 0 || shape.kv_heads <= 0 || shape.heads % shape.kv_heads != 0 ||
      shape.layers <= 0 || shape.embedding <= 0 || shape.ffn <= 0)
    return fail(ErrorCode::kInvalidArgument, "inconsistent model shape");
  const int64_t head_dim = shape.head_dim > 0 ? shape.head_dim : shape.embedding / shape.heads;

  GgufWriter writer;
  writer.add_string("general.architecture", arch);
  writer.add_string("general.name", spec.name);
  writer.add_uint32("general.file_type", llama_file_type(spec.recipe));
  writer.add_uint32("general.quantization_version", 2);
  writer.add_uint32(arch + ".context_length", static_cast<uint32_t>(shape.context_length));
  writer.add_uint32(arch + ".embedding_length", static_cast<uint32_t>(shape.embedding));
  writer.add_uint32(arch + ".block_count", static_cast<uint32_t>(shape.layers));
  writer.add_uint32(arch + ".feed_forward_length", static_cast<uint32_t>(shape.ffn));
  writer.add_uint32(arch + ".attention.head_count", static_cast<uint32_t>(shape.heads));
  writer.add_uint32(arch + ".attention.head_count_kv", static_cast<uint32_t>(shape.kv_heads));
  if (shape.head_dim > 0 || arch == "qwen3") {
    writer.add_uint32(arch + ".attention.key_length", static_cast<uint32_t>(head_dim));
    writer.add_uint32(arch + ".attention.value_length", static_cast<uint32_t>(head_dim));
  }
  if (bert) {
    // An encoder with mean pooling, like BGE: layer norms, learned positions, no rope.
    writer.add_float32(arch + ".attention.layer_norm_epsilon", 1e-12f);
    writer.add_bool(arch + ".attention.causal", false);
    writer.add_uint32(arch + ".pooling_type", 1);
  } else {
    writer.add_float32(arch + ".rope.freq_base", shape.rope_base);
    writer.add_float32(arch + ".attention.layer_norm_rms_epsilon", shape.rms_eps);
  }
  if (!spec.tokenizer_from.empty()) {
    auto entries = read_metadata_with_prefix(spec.tokenizer_from, "tokenizer.");
    if (!entries) return std::unexpected(entries.error());
    for (auto& e : *entries) {
      if (e.key == "tokenizer.ggml.tokens" && e.value.size() >= 12) {
        uint64_t count;
        std::memcpy(&count, e.value.data() + 4, 8);  // after the element type
        shape.vocab = static_cast<int64_t>(count);
      }
      writer.add_raw(std::move(e));
    }
  }

  const uint64_t seed = spec.seed;
  auto add = [&](const std::string& name, std::vector<int64_t> dims, int64_t layer) -> Status {
    const int64_t cols = dims[0];
    bool is_norm = name.ends_with("norm.weight");
    bool is_bias = name.ends_with(".bias");
    GgmlType type = (dims.size() == 1)
                        ? GgmlType::kF32
                        : tensor_type(spec.recipe, name, layer, shape.layers, cols, shape.tied);
    return writer.add_tensor(name, std::move(dims), type, [=](int64_t row, float* values) {
      for (int64_t c = 0; c < cols; ++c) {
        float v = random_weight(seed, name, row, c, cols, is_norm);
        values[c] = is_bias ? v * 0.1f : v;
      }
    });
  };
  const int64_t e = shape.embedding, q_width = shape.heads * head_dim,
                kv_width = shape.kv_heads * head_dim;
  if (auto s = add("token_embd.weight", {e, shape.vocab}, -1); !s)
    return std::unexpected(s.error());
  if (bert) return write_bert_tensors(writer, shape, add, out);
  if (auto s = add("output_norm.weight", {e}, -1); !s) return std::unexpected(s.error());
  if (!shape.tied)
    if (auto s = add("output.weight", {e, shape.vocab}, -1); !s) return std::unexpected(s.error());
  for (int64_t l = 0; l < shape.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    std::vector<std::pair<std::string, std::vector<int64_t>>> list = {
        {p + "attn_norm.weight", {e}},
        {p + "attn_q.weight", {e, q_width}},
        {p + "attn_k.weight", {e, kv_width}},
        {p + "attn_v.weight", {e, kv_width}},
        {p + "attn_output.weight", {q_width, e}},
        {p + "ffn_norm.weight", {e}},
        {p + "ffn_gate.weight", {e, shape.ffn}},
        {p + "ffn_up.weight", {e, shape.ffn}},
        {p + "ffn_down.weight", {shape.ffn, e}}};
    if (arch == "qwen2") {
      list.push_back({p + "attn_q.bias", {q_width}});
      list.push_back({p + "attn_k.bias", {kv_width}});
      list.push_back({p + "attn_v.bias", {kv_width}});
    } else if (arch == "qwen3") {
      list.push_back({p + "attn_q_norm.weight", {head_dim}});
      list.push_back({p + "attn_k_norm.weight", {head_dim}});
    }
    for (auto& [name, dims] : list)
      if (auto s = add(name, dims, l); !s) return std::unexpected(s.error());
  }
  return writer.write(out);
}

}  // namespace plinth::tools
