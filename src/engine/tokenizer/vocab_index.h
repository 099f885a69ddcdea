// VocabIndex: the lookup structures the encoders share (text -> id, BPE merge ranks, byte
// fallback ids), built once from a Vocab, and the three subword encoders that use them.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/vocab.h"

namespace plinth::engine {

class VocabIndex {
 public:
  explicit VocabIndex(Vocab vocab);
  VocabIndex(const VocabIndex&) = delete;
  VocabIndex& operator=(const VocabIndex&) = delete;

  const Vocab& vocab() const { return vocab_; }
  int32_t size() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  TokenId find(std::string_view text) const;  // -1 when absent
  TokenType type(TokenId id) const;
  float score(TokenId id) const;
  // The token for one raw byte (SentencePiece "<0xNN>", byte-level BPE's spelling); -1 if none.
  TokenId byte_token(uint8_t b) const { return byte_tokens_[b]; }
  size_t max_token_bytes() const { return max_token_bytes_; }

  struct Merge {
    int32_t rank;
    TokenId result;  // -1 when the merged text is not itself a token
  };
  // The BPE merge of two adjacent tokens, or nullptr when the pair never merges.
  const Merge* find_merge(TokenId left, TokenId right) const;

 private:
  Vocab vocab_;
  // Views into vocab_.tokens, which never changes after construction.
  std::unordered_map<std::string_view, TokenId> by_text_;
  std::unordered_map<uint64_t, Merge> merges_;
  std::array<TokenId, 256> byte_tokens_{};
  size_t max_token_bytes_ = 0;
};

// Each appends the ids of `text` (one fragment without special tokens) to `out`.
// SentencePiece: `text` already has spaces escaped as U+2581 and any space prefix added.
void encode_sentencepiece(const VocabIndex& index, std::string_view text,
                          std::vector<TokenId>& out);
void encode_byte_level_bpe(const VocabIndex& index, std::string_view text,
                           std::vector<TokenId>& out);
void encode_wordpiece(const VocabIndex& index, std::string_view text, std::vector<TokenId>& out);

}  // namespace plinth::engine
