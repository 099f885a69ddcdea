// Fuzz harness: a GGUF model file from arbitrary bytes — header and metadata validation, tensor
// views, the model's hyperparameters and weight binding, and the tokenizer built from metadata.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/model/model_weights.h"
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
    (void)plinth::engine::bind_model_weights(f, *config);
  }
  (void)plinth::engine::read_vocab(f);
  use_tokenizer(f);
  return 0;
}
