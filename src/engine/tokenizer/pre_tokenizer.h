// Pre-tokenizers of byte-level BPE vocabularies: split text into words before merging, as the
// Hugging Face regexes (GPT-2, Llama 3, Qwen 2) do, hand-written over Unicode code points.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace plinth::engine {

enum class PreTokenizerKind {
  kDefault,  // llama.cpp's fallback: punctuation runs, then GPT-2, then digit runs and triples
  kGpt2,     // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  kLlama3,   // (?i:'s|...)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|...
  kQwen2,    // as Llama 3 but \p{N} one digit at a time
};

// A word as a half-open range of code point indices.
struct CodepointSpan {
  size_t begin = 0;
  size_t end = 0;
};

// Splits `codepoints` into consecutive, non-empty spans that cover the whole input.
std::vector<CodepointSpan> pre_tokenize(std::span<const uint32_t> codepoints,
                                        PreTokenizerKind kind);

}  // namespace plinth::engine
