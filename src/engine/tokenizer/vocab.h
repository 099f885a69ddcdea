// Vocab: a tokenizer's data as GGUF stores it (tokens, scores, types, merges, special ids, flags),
// independent of the file format so the algorithms can be tested on hand-made vocabularies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "plinth/engine/engine.h"
#include "tokenizer/pre_tokenizer.h"

namespace plinth::engine {

enum class VocabKind {
  kSentencePiece,  // tokenizer.ggml.model = "llama"
  kBytePairBpe,    // "gpt2": byte-level BPE with merges
  kWordPiece,      // "bert"
};

// tokenizer.ggml.token_type values.
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

struct Vocab {
  VocabKind kind = VocabKind::kSentencePiece;
  PreTokenizerKind pre_tokenizer = PreTokenizerKind::kDefault;  // BPE only
  std::vector<std::string> tokens;
  std::vector<float> scores;        // SentencePiece merge priorities; may be empty otherwise
  std::vector<TokenType> types;     // empty = all normal
  std::vector<std::string> merges;  // BPE: "left right", rank = index

  std::optional<TokenId> bos, eos, eot, eom, unk, sep, pad;
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;           // WordPiece appends [SEP]
  bool add_space_prefix = false;  // SentencePiece prepends a space to the text
  bool ignore_merges = false;     // Llama 3: a word that is a whole token skips merging
  bool clean_spaces = false;      // decode removes spaces before punctuation (" ," -> ",")
};

// llama.cpp's defaults for a tokenizer model ("llama", "gpt2", "bert") and pre-tokenizer name;
// GGUF metadata then overrides the individual fields.
Vocab default_vocab(VocabKind kind, const std::string& pre_tokenizer_name);

}  // namespace plinth::engine
