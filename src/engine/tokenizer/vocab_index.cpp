// VocabIndex construction and lookups, and llama.cpp's per-model-type vocabulary defaults.
#include "tokenizer/vocab_index.h"

#include <cstdio>

#include "tokenizer/byte_level.h"

namespace plinth::engine {
namespace {

uint64_t pair_key(TokenId left, TokenId right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

Vocab default_vocab(VocabKind kind, const std::string& pre) {
  Vocab v;
  v.kind = kind;
  switch (kind) {
    case VocabKind::kSentencePiece:
      v.bos = 1;
      v.eos = 2;
      v.unk = 0;
      v.add_bos = true;
      v.add_space_prefix = true;
      break;
    case VocabKind::kWordPiece:
      v.bos = 101;  // [CLS]
      v.unk = 100;
      v.sep = 102;
      v.pad = 0;
      v.add_bos = true;
      v.add_sep = true;
      v.clean_spaces = true;
      break;
    case VocabKind::kBytePairBpe:
      v.bos = 11;
      v.eos = 11;
      v.clean_spaces = true;
      if (pre == "llama3" || pre == "llama-v3" || pre == "llama-bpe" || pre == "falcon3") {
        v.pre_tokenizer = PreTokenizerKind::kLlama3;
        v.ignore_merges = true;
        v.add_bos = true;
      } else if (pre == "qwen2" || pre == "deepseek-r1-qwen" || pre == "megrez") {
        v.pre_tokenizer = PreTokenizerKind::kQwen2;
        v.clean_spaces = pre == "megrez";
      } else if (pre == "gpt-2" || pre == "phi-2" || pre == "jina-es" || pre == "jina-de") {
        v.pre_tokenizer = PreTokenizerKind::kGpt2;
      } else {
        v.pre_tokenizer = PreTokenizerKind::kDefault;
      }
      break;
  }
  return v;
}

VocabIndex::VocabIndex(Vocab vocab) : vocab_(std::move(vocab)) {
  const auto& tokens = vocab_.tokens;
  by_text_.reserve(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    // Like llama.cpp, a duplicated text maps to its last id.
    by_text_[tokens[i]] = static_cast<TokenId>(i);
    max_token_bytes_ = std::max(max_token_bytes_, tokens[i].size());
  }
  for (int b = 0; b < 256; ++b) {
    TokenId id = -1;
    if (vocab_.kind == VocabKind::kBytePairBpe) {
      id = find(byte_level_char(static_cast<uint8_t>(b)));
    } else {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      id = find(name);
      if (id < 0) id = find(std::string(1, static_cast<char>(b)));
    }
    byte_tokens_[b] = id;
  }
  if (vocab_.kind == VocabKind::kBytePairBpe) {
    merges_.reserve(vocab_.merges.size());
    std::string joined;
    for (size_t rank = 0; rank < vocab_.merges.size(); ++rank) {
      const std::string& merge = vocab_.merges[rank];
      const size_t space = merge.find(' ', 1);
      if (space == std::string::npos) continue;
      const std::string_view left(merge.data(), space);
      const std::string_view right(merge.data() + space + 1, merge.size() - space - 1);
      const TokenId left_id = find(left);
      const TokenId right_id = find(right);
      // Symbols carry token ids, so a pair with a side that is not a token never applies.
      if (left_id < 0 || right_id < 0) continue;
      joined.assign(left);
      joined.append(right);
      // The first (lowest-rank) occurrence of a pair wins.
      merges_.try_emplace(pair_key(left_id, right_id),
                          Merge{static_cast<int32_t>(rank), find(joined)});
    }
  }
}

TokenId VocabIndex::find(std::string_view text) const {
  auto it = by_text_.find(text);
  return it == by_text_.end() ? -1 : it->second;
}

TokenType VocabIndex::type(TokenId id) const {
  if (id < 0 || id >= size()) return TokenType::kUndefined;
  if (vocab_.types.empty()) return TokenType::kNormal;
  return vocab_.types[id];
}

float VocabIndex::score(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.scores.size()) return 0.0f;
  return vocab_.scores[id];
}

const VocabIndex::Merge* VocabIndex::find_merge(TokenId left, TokenId right) const {
  if (left < 0 || right < 0) return nullptr;
  auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

}  // namespace plinth::engine
