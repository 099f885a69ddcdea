// Fuzz harness: a GGUF model file from arbitrary bytes — header and metadata validation, tensor
// views, the model's hyperparameters and weight binding, the panel repacking of bound matrices,
// and the tokenizer built from metadata.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/model/model_weights.h"
#include "engine/ops/panels.h"
#include "engine/tokenizer/tokenizer_loader.h"

namespace {

volatile uint8_t g_sink;

// Reads the first and last byte of every tensor: ASan reports a view outside the input.
void touch_tensors(const plinth::engine::GgufFile& file) {
  for (const auto& t : file.tensors()) {
    (void)t.rows();
    (void)t.row_bytes();
    if (t.n_bytes > 0 && t.data != nullptr) g_sink = t.data[0] ^ t.data[t.n_bytes - 1];
  }
}

// What the loader does with a bound matrix in its own copy: the panel repacking (ops/panels.h),
// here on a copy of the bytes, then a row read back (ASan reports any access past the matrix).
void repack(const plinth::engine::WeightMatrix& w) {
  namespace k = plinth::engine::kernels;
  if (w.data == nullptr || !k::panels_fit(w.type, w.rows, w.cols)) return;
  const size_t bytes = static_cast<size_t>(w.rows) * w.row_bytes;
  if (bytes > (size_t{1} << 24)) return;  // keep an iteration short
  const auto* from = static_cast<const uint8_t*>(w.data);
  std::vector<uint8_t> copy(from, from + bytes);
  k::repack_to_panels(w.type, copy.data(), w.rows, w.cols);
  plinth::engine::WeightMatrix panels = w;
  panels.data = copy.data();
  panels.panels = true;
  std::vector<float> row(static_cast<size_t>(w.cols));
  k::dequantize_weight_row(panels, w.rows - 1, row.data());
  g_sink = static_cast<uint8_t>(row.empty() ? 0 : row.back() > 0);
}

void use_tokenizer(const plinth::engine::GgufFile& file) {
  auto tokenizer = plinth::engine::load_tokenizer(file);
  if (!tokenizer) return;
  auto ids = (*tokenizer)->encode("Hello wörld <s>\n\t 123 ✓", true, true);
  if (!ids) return;
  std::string text = (*tokenizer)->decode(*ids, true);
  for (auto id : *ids) text += (*tokenizer)->token_bytes(id, true);
  (void)(*tokenizer)->bos();
  g_sink = static_cast<uint8_t>(text.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto file = plinth::engine::GgufFile::from_bytes(std::span<const uint8_t>(data, size));
  if (!file) return 0;
  const plinth::engine::GgufFile& f = **file;
  for (const auto& [key, value] : f.metadata()) {
    (void)f.find(key);
    (void)value.array_size();
  }
  (void)f.get_string("general.architecture");
  (void)f.get_int("general.alignment");
  touch_tensors(f);
  if (auto config = plinth::engine::read_model_config(f)) {
    if (auto weights = plinth::engine::bind_model_weights(f, *config)) {
      for (const plinth::engine::WeightMatrix* w : weights->matrices()) repack(*w);
    }
  }
  (void)plinth::engine::read_vocab(f);
  use_tokenizer(f);
  return 0;
}
