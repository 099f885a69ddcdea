// Reading hyperparameters from GGUF metadata and binding checked, zero-copy weight views.
#include "model/model_weights.h"

#include "ops/dequant.h"
#include "ops/panels.h"
#include "ops/simd_kernels.h"

namespace plinth::engine {
namespace {

Error bad_model(std::string message) {
  return Error(ErrorCode::kCorruptData, "model: " + std::move(message));
}

class WeightBinder {
 public:
  WeightBinder(const GgufFile& file) : file_(file) {}

  // A [rows x cols] matrix (GGUF dims {cols, rows}).
  Result<WeightMatrix> matrix(const std::string& name, int64_t cols, int64_t rows) const {
    const TensorInfo* t = file_.tensor(name);
    if (t == nullptr) return std::unexpected(bad_model("missing tensor " + name));
    if (t->dims.size() != 2 || t->dims[0] != cols || t->dims[1] != rows)
      return std::unexpected(bad_model("tensor " + name + " has shape " + shape(*t) +
                                       ", expected " + std::to_string(cols) + "x" +
                                       std::to_string(rows)));
    if (!can_dequantize(t->type))
      return std::unexpected(bad_model("tensor " + name + " has unsupported type " +
                                       std::to_string(static_cast<uint32_t>(t->type))));
    return t->as_matrix();
  }

  // A vector of n values, copied to F32; empty when absent and optional.
  Result<Vector> vector(const std::string& name, int64_t n, bool required = true) const {
    const TensorInfo* t = file_.tensor(name);
    if (t == nullptr) {
      if (required) return std::unexpected(bad_model("missing tensor " + name));
      return Vector{};
    }
    if (t->n_elements != n || t->dims[0] != n || !can_dequantize(t->type))
      return std::unexpected(bad_model("tensor " + name + " has shape " + shape(*t) +
                                       ", expected " + std::to_string(n)));
    Vector v(static_cast<size_t>(n));
    dequantize_row(t->type, t->data, v.data(), n);
    return v;
  }

  bool has(const std::string& name) const { return file_.tensor(name) != nullptr; }

 private:
  static std::string shape(const TensorInfo& t) {
    std::string s;
    for (int64_t d : t.dims) s += (s.empty() ? "" : "x") + std::to_string(d);
    return s;
  }
  const GgufFile& file_;
};

#define PLINTH_TRY_ASSIGN(target, expr)                              \
  do {                                                               \
    auto plinth_value = (expr);                                      \
    if (!plinth_value) return std::unexpected(plinth_value.error()); \
    target = std::move(*plinth_value);                               \
  } while (0)

}  // namespace

Result<ModelConfig> read_model_config(const GgufFile& file) {
  ModelConfig c;
  auto arch = file.get_string("general.architecture");
  if (!arch) return std::unexpected(bad_model("general.architecture is missing"));
  c.architecture = *arch;
  if (c.architecture != "llama" && c.architecture != "qwen2" && c.architecture != "qwen3" &&
      c.architecture != "bert")
    return std::unexpected(
        Error(ErrorCode::kInvalidArgument, "model: unsupported architecture " + c.architecture));
  const std::string p = c.architecture + ".";
  auto get = [&](const std::string& key, int64_t fallback, bool required) -> Result<int32_t> {
    auto v = file.get_int(p + key);
    if (!v) {
      if (required) return std::unexpected(bad_model("metadata " + p + key + " is missing"));
      return static_cast<int32_t>(fallback);
    }
    if (*v <= 0 || *v > (int64_t{1} << 24))
      return std::unexpected(bad_model("metadata " + p + key + " is out of range"));
    return static_cast<int32_t>(*v);
  };
  PLINTH_TRY_ASSIGN(c.n_embd, get("embedding_length", 0, true));
  PLINTH_TRY_ASSIGN(c.n_layer, get("block_count", 0, true));
  PLINTH_TRY_ASSIGN(c.n_ff, get("feed_forward_length", 0, true));
  PLINTH_TRY_ASSIGN(c.n_head, get("attention.head_count", 0, true));
  PLINTH_TRY_ASSIGN(c.n_head_kv, get("attention.head_count_kv", c.n_head, false));
  PLINTH_TRY_ASSIGN(c.head_dim, get("attention.key_length", c.n_embd / c.n_head, false));
  PLINTH_TRY_ASSIGN(c.n_rot, get("rope.dimension_count", c.head_dim, false));
  PLINTH_TRY_ASSIGN(c.train_context, get("context_length", 2048, false));
  if (c.n_head % c.n_head_kv != 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0 || c.n_layer > 4096)
    return std::unexpected(bad_model("inconsistent attention dimensions"));
  if (auto v = file.get_int(p + "attention.value_length"); v && *v != c.head_dim)
    return std::unexpected(bad_model("value_length differs from key_length"));
  c.rope_base = static_cast<float>(file.get_float(p + "rope.freq_base").value_or(10000.0));
  c.is_encoder = c.architecture == "bert";
  c.rope_style = c.architecture == "llama" ? RopeStyle::kAdjacentPairs : RopeStyle::kHalves;
  if (c.is_encoder) {
    c.norm_eps =
        static_cast<float>(file.get_float(p + "attention.layer_norm_epsilon").value_or(1e-12));
    c.pooling = static_cast<Pooling>(file.get_int(p + "pooling_type").value_or(1));
    if (c.pooling != Pooling::kMean && c.pooling != Pooling::kCls)
      return std::unexpected(bad_model("unsupported pooling type"));
  } else {
    c.norm_eps =
        static_cast<float>(file.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  }
  const TensorInfo* embd = file.tensor("token_embd.weight");
  if (embd == nullptr || embd->dims.size() != 2 || embd->dims[0] != c.n_embd)
    return std::unexpected(bad_model("token_embd.weight is missing or misshapen"));
  c.n_vocab = static_cast<int32_t>(embd->dims[1]);
  return c;
}

Result<ModelWeights> bind_model_weights(const GgufFile& file, const ModelConfig& c) {
  WeightBinder b(file);
  ModelWeights w;
  PLINTH_TRY_ASSIGN(w.token_embd, b.matrix("token_embd.weight", c.n_embd, c.n_vocab));
  if (c.is_encoder) {
    PLINTH_TRY_ASSIGN(w.position_embd, b.matrix("position_embd.weight", c.n_embd, c.train_context));
    const TensorInfo* types = file.tensor("token_types.weight");
    if (types == nullptr || types->dims.size() != 2)
      return std::unexpected(bad_model("token_types.weight is missing"));
    PLINTH_TRY_ASSIGN(w.token_types, b.matrix("token_types.weight", c.n_embd, types->dims[1]));
    PLINTH_TRY_ASSIGN(w.embd_norm, b.vector("token_embd_norm.weight", c.n_embd));
    PLINTH_TRY_ASSIGN(w.embd_norm_bias, b.vector("token_embd_norm.bias", c.n_embd));
  } else {
    PLINTH_TRY_ASSIGN(w.output_norm, b.vector("output_norm.weight", c.n_embd));
    if (b.has("output.weight")) {
      PLINTH_TRY_ASSIGN(w.output, b.matrix("output.weight", c.n_embd, c.n_vocab));
    } else {
      w.output = w.token_embd;  // tied embeddings
    }
  }
  const bool biased_qkv = c.architecture == "qwen2" || c.is_encoder;
  for (int32_t i = 0; i < c.n_layer; ++i) {
    const std::string p = "blk." + std::to_string(i) + ".";
    LayerWeights l;
    PLINTH_TRY_ASSIGN(l.wq, b.matrix(p + "attn_q.weight", c.n_embd, c.q_dim()));
    PLINTH_TRY_ASSIGN(l.wk, b.matrix(p + "attn_k.weight", c.n_embd, c.kv_dim()));
    PLINTH_TRY_ASSIGN(l.wv, b.matrix(p + "attn_v.weight", c.n_embd, c.kv_dim()));
    PLINTH_TRY_ASSIGN(l.wo, b.matrix(p + "attn_output.weight", c.q_dim(), c.n_embd));
    PLINTH_TRY_ASSIGN(l.bq, b.vector(p + "attn_q.bias", c.q_dim(), biased_qkv));
    PLINTH_TRY_ASSIGN(l.bk, b.vector(p + "attn_k.bias", c.kv_dim(), biased_qkv));
    PLINTH_TRY_ASSIGN(l.bv, b.vector(p + "attn_v.bias", c.kv_dim(), biased_qkv));
    PLINTH_TRY_ASSIGN(l.bo, b.vector(p + "attn_output.bias", c.n_embd, c.is_encoder));
    PLINTH_TRY_ASSIGN(l.ffn_up, b.matrix(p + "ffn_up.weight", c.n_embd, c.n_ff));
    PLINTH_TRY_ASSIGN(l.ffn_down, b.matrix(p + "ffn_down.weight", c.n_ff, c.n_embd));
    if (c.is_encoder) {
      PLINTH_TRY_ASSIGN(l.attn_norm, b.vector(p + "attn_output_norm.weight", c.n_embd));
      PLINTH_TRY_ASSIGN(l.attn_norm_bias, b.vector(p + "attn_output_norm.bias", c.n_embd));
      PLINTH_TRY_ASSIGN(l.ffn_norm, b.vector(p + "layer_output_norm.weight", c.n_embd));
      PLINTH_TRY_ASSIGN(l.ffn_norm_bias, b.vector(p + "layer_output_norm.bias", c.n_embd));
      PLINTH_TRY_ASSIGN(l.ffn_up_bias, b.vector(p + "ffn_up.bias", c.n_ff));
      PLINTH_TRY_ASSIGN(l.ffn_down_bias, b.vector(p + "ffn_down.bias", c.n_embd));
    } else {
      PLINTH_TRY_ASSIGN(l.attn_norm, b.vector(p + "attn_norm.weight", c.n_embd));
      PLINTH_TRY_ASSIGN(l.ffn_norm, b.vector(p + "ffn_norm.weight", c.n_embd));
      PLINTH_TRY_ASSIGN(l.ffn_gate, b.matrix(p + "ffn_gate.weight", c.n_embd, c.n_ff));
      if (c.architecture == "qwen3") {
        PLINTH_TRY_ASSIGN(l.q_norm, b.vector(p + "attn_q_norm.weight", c.head_dim));
        PLINTH_TRY_ASSIGN(l.k_norm, b.vector(p + "attn_k_norm.weight", c.head_dim));
      }
    }
    w.layers.push_back(std::move(l));
  }
  return w;
}

std::vector<WeightMatrix*> ModelWeights::matrices() {
  std::vector<WeightMatrix*> all = {&token_embd, &output, &position_embd, &token_types};
  for (LayerWeights& l : layers)
    for (WeightMatrix* w : {&l.wq, &l.wk, &l.wv, &l.wo, &l.ffn_gate, &l.ffn_up, &l.ffn_down})
      all.push_back(w);
  return all;
}

void store_weights_in_panels(GgufFile& file, ModelWeights& weights) {
  if (kernels::best_kernels().panel_tile == nullptr) return;
  const std::vector<WeightMatrix*> all = weights.matrices();
  for (WeightMatrix* w : all) {
    if (w->panels || w->data == nullptr || !kernels::panels_fit(w->type, w->rows, w->cols))
      continue;
    const WeightMatrix before = *w;
    const bool rewritten =
        file.rewrite(w->data, static_cast<size_t>(w->rows) * w->row_bytes, [&](uint8_t* bytes) {
          kernels::repack_to_panels(before.type, bytes, before.rows, before.cols);
        });
    if (!rewritten) return;  // a mapped file: every matrix keeps its rows
    // Views of the same bytes (a tied output and token_embd) see the new layout too.
    for (WeightMatrix* other : all)
      if (other->data == before.data) other->panels = true;
  }
}

void read_weight_row(const WeightMatrix& w, int64_t row, float* dst) {
  kernels::dequantize_weight_row(w, row, dst);
}

}  // namespace plinth::engine
