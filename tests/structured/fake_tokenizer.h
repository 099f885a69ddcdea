// Test double: a tokenizer with a fixed vocabulary of byte strings (no encoding needed).
#pragma once

#include <string>
#include <vector>

#include "plinth/engine/engine.h"

namespace plinth::structured::testing {

class FakeTokenizer : public engine::Tokenizer {
 public:
  // Every single printable ASCII byte, the given multi-byte pieces, then <eos> and <ctl>.
  explicit FakeTokenizer(std::vector<std::string> pieces) {
    for (int b = 0x20; b < 0x7F; ++b) vocab_.push_back(std::string(1, static_cast<char>(b)));
    for (auto& p : pieces) vocab_.push_back(std::move(p));
    eos_ = static_cast<engine::TokenId>(vocab_.size());
    vocab_.push_back("</s>");
    control_ = static_cast<engine::TokenId>(vocab_.size());
    vocab_.push_back("<|ctl|>");
  }
  engine::TokenId id_of(std::string_view piece) const {
    for (size_t i = 0; i < vocab_.size(); ++i)
      if (vocab_[i] == piece && static_cast<engine::TokenId>(i) != eos_ &&
          static_cast<engine::TokenId>(i) != control_)
        return static_cast<engine::TokenId>(i);
    return -1;
  }
  engine::TokenId eos_id() const { return eos_; }
  engine::TokenId control_id() const { return control_; }

  int32_t vocab_size() const override { return static_cast<int32_t>(vocab_.size()); }
  Result<std::vector<engine::TokenId>> encode(std::string_view, bool, bool) const override {
    return fail(ErrorCode::kInternal, "not used");
  }
  std::string token_bytes(engine::TokenId id, bool render_special) const override {
    if ((id == eos_ || id == control_) && !render_special) return "";
    return vocab_[id];
  }
  std::string decode(std::span<const engine::TokenId> ids, bool render_special) const override {
    std::string out;
    for (auto id : ids) out += token_bytes(id, render_special);
    return out;
  }
  bool is_control(engine::TokenId id) const override { return id == eos_ || id == control_; }
  bool is_end_of_generation(engine::TokenId id) const override { return id == eos_; }
  std::optional<engine::TokenId> bos() const override { return std::nullopt; }
  std::optional<engine::TokenId> eos() const override { return eos_; }

 private:
  std::vector<std::string> vocab_;
  engine::TokenId eos_ = 0, control_ = 0;
};

}  // namespace plinth::structured::testing
