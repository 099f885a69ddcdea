// Fuzz harness: the fixture models' tokenizers (SentencePiece, byte-level BPE x2, WordPiece) on
// arbitrary bytes — valid and invalid UTF-8, special-token text — and decoding any id sequence.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/gguf/gguf_file.h"
#include "engine/tokenizer/tokenizer_loader.h"

namespace {

using plinth::engine::Tokenizer;

std::vector<std::unique_ptr<Tokenizer>> load_fixtures() {
  const char* env = std::getenv("PLINTH_TEST_DATA_DIR");
  std::filesystem::path models = std::filesystem::path(env ? env : PLINTH_TEST_DATA_DIR) / "models";
  std::vector<std::unique_ptr<Tokenizer>> out;
  for (const char* name : {"llama-spm-64-q8_0.gguf", "llama3-bpe-32-tied-q8_0.gguf",
                           "qwen2-32-tied-q8_0.gguf", "bert-bge-64-cls-q8_0.gguf"}) {
    auto file = plinth::engine::GgufFile::open(models / name);
    if (!file) std::abort();  // a broken fixture is a setup error, not a finding
    auto tokenizer = plinth::engine::load_tokenizer(**file);
    if (!tokenizer) std::abort();
    out.push_back(std::move(*tokenizer));  // the tokenizer copies what it needs from the file
  }
  return out;
}

volatile size_t g_sink;

}  // namespace

// Byte 0: bits 0-1 pick the tokenizer, bit 2 add_special, bit 3 parse_special, bit 4 decodes the
// rest as little-endian int32 ids instead of encoding it as text.
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<std::unique_ptr<Tokenizer>> tokenizers = load_fixtures();
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const Tokenizer& tokenizer = *tokenizers[mode % tokenizers.size()];
  const bool add_special = mode & 4;
  const bool parse_special = mode & 8;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (mode & 16) {
    std::vector<plinth::engine::TokenId> ids(rest.size() / 4);
    std::memcpy(ids.data(), rest.data(), ids.size() * 4);
    g_sink = tokenizer.decode(ids, parse_special).size();
    for (auto id : ids)
      g_sink = tokenizer.token_bytes(id, add_special).size() + tokenizer.is_control(id);
    return 0;
  }
  auto ids = tokenizer.encode(rest, add_special, parse_special);
  if (!ids) return 0;
  for (auto id : *ids) {
    if (id < 0 || id >= tokenizer.vocab_size()) std::abort();  // encode produced a foreign id
  }
  std::string text = tokenizer.decode(*ids, parse_special);
  // Round trip: re-encoding the decoded text must work too (it need not give the same ids).
  auto again = tokenizer.encode(text, false, parse_special);
  g_sink = text.size() + (again ? again->size() : 0);
  return 0;
}
