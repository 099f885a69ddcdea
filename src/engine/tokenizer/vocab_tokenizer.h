// VocabTokenizer: engine::Tokenizer over a Vocab — special-token splitting, automatic BOS/EOS,
// dispatch to the SentencePiece / BPE / WordPiece encoder, and detokenization.
#pragma once

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/engine/engine.h"
#include "tokenizer/vocab_index.h"

namespace plinth::engine {

class VocabTokenizer final : public Tokenizer {
 public:
  // kCorruptData when the vocabulary is empty or its arrays or special ids do not fit.
  static Result<std::unique_ptr<VocabTokenizer>> create(Vocab vocab);

  int32_t vocab_size() const override { return index_.size(); }
  Result<std::vector<TokenId>> encode(std::string_view text, bool add_special,
                                      bool parse_special) const override;
  std::string token_bytes(TokenId id, bool render_special = false) const override;
  std::string decode(std::span<const TokenId> ids, bool render_special = false) const override;
  bool is_control(TokenId id) const override;
  bool is_end_of_generation(TokenId id) const override;
  std::optional<TokenId> bos() const override { return index_.vocab().bos; }
  std::optional<TokenId> eos() const override { return index_.vocab().eos; }

  const Vocab& vocab() const { return index_.vocab(); }
  // The token's text as stored in the vocabulary ("▁Hello", "Ġworld", "<|im_end|>").
  const std::string& token_text(TokenId id) const;
  std::optional<TokenId> find_token(std::string_view text) const;

 private:
  explicit VocabTokenizer(Vocab vocab);
  void encode_fragment(std::string_view text, bool after_special, std::vector<TokenId>& out) const;

  VocabIndex index_;
  std::vector<bool> control_;  // control or unknown: emitted only when rendering specials
  std::vector<std::string> piece_bytes_;  // token_bytes(id, false), precomputed
  std::unordered_set<TokenId> end_of_generation_;
  // Tokens matched in the text before subword encoding, longest text first.
  std::vector<TokenId> special_tokens_;
};

}  // namespace plinth::engine
