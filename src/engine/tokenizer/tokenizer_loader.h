// Builds the engine's Tokenizer from a GGUF file's tokenizer.ggml.* metadata.
#pragma once

#include <memory>

#include "gguf/gguf_file.h"
#include "plinth/core/result.h"
#include "plinth/engine/engine.h"
#include "tokenizer/vocab.h"

namespace plinth::engine {

// The Vocab described by the file's metadata, with llama.cpp's defaults for what it omits.
// kInvalidArgument for an unsupported tokenizer model; kCorruptData for missing or malformed
// arrays.
Result<Vocab> read_vocab(const GgufFile& file);

// A concrete Tokenizer (SentencePiece "llama", byte-level BPE "gpt2", WordPiece "bert").
Result<std::unique_ptr<Tokenizer>> load_tokenizer(const GgufFile& file);

}  // namespace plinth::engine
