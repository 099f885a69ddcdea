// The TokenConstraint for one generation: token masks from a trie walk of the byte matcher.
#include <unordered_map>

#include "matcher_core.h"

namespace plinth::structured {
namespace {

using engine::TokenId;
constexpr size_t kMaxCachedMasks = 128;
constexpr size_t kMaxForcedBytes = 256;

class SchemaConstraint final : public engine::TokenConstraint {
 public:
  SchemaConstraint(std::shared_ptr<const CompiledSchema> schema, const TokenIndex& index,
                   const ConstraintOptions& options)
      : schema_(std::move(schema)),
        g_(schema_->grammar),
        index_(index),
        options_(options),
        state_(detail::initial_state(g_)),
        scratch_(index.max_token_bytes() + 2) {}

  bool allows(TokenId token) override {
    if (finished_ || token < 0 || token >= index_.vocab_size()) return false;
    if (index_.is_end_of_generation(token)) return detail::is_complete(g_, state_);
    if (index_.is_excluded(token)) return false;
    detail::MatcherState& next = scratch_[0];
    next = state_;
    for (char c : index_.token_text(token))
      if (!detail::feed_byte(g_, next, static_cast<uint8_t>(c))) return false;
    if (!steering()) return true;
    // While steering, answer from the full mask so allows() and fill_mask() always agree.
    detail::state_key(state_, key_);
    if (steer_key_ != key_ || steer_mask_.empty()) {
      steer_mask_.assign(index_.vocab_size(), 1);
      fill_mask(steer_mask_);
      detail::state_key(state_, steer_key_);
    }
    return steer_mask_[token] != 0;
  }

  void fill_mask(std::span<uint8_t> allowed) override {
    if (finished_) {
      std::fill(allowed.begin(), allowed.end(), 0);
      return;
    }
    const std::vector<uint64_t>& bits = allowed_bits();
    bool complete = detail::is_complete(g_, state_);
    bool steer = steering();
    std::vector<uint8_t> keep;
    if (steer && !complete) keep = steer_to_close(bits);
    size_t n = std::min<size_t>(allowed.size(), index_.vocab_size());
    for (size_t i = 0; i < n; ++i) {
      bool ok = index_.is_end_of_generation(static_cast<TokenId>(i))
                    ? complete
                    : !(steer && complete) && ((bits[i >> 6] >> (i & 63)) & 1) &&
                          (keep.empty() || keep[i]);
      if (!ok) allowed[i] = 0;
    }
    for (size_t i = n; i < allowed.size(); ++i) allowed[i] = 0;
  }

  void accept(TokenId token) override {
    ++accepted_;
    if (token < 0 || token >= index_.vocab_size()) return;
    if (index_.is_end_of_generation(token)) {
      finished_ = true;
      return;
    }
    detail::MatcherState next = state_;
    for (char c : index_.token_text(token))
      if (!detail::feed_byte(g_, next, static_cast<uint8_t>(c))) return;  // caller broke contract
    state_ = std::move(next);
  }

  bool is_complete() const override { return finished_ || detail::is_complete(g_, state_); }

  std::vector<TokenId> forced_tokens() override {
    if (finished_ || detail::is_complete(g_, state_)) return {};
    std::string forced;
    detail::MatcherState cur = state_, probe;
    while (forced.size() < kMaxForcedBytes && !detail::is_complete(g_, cur)) {
      int only = -1, count = 0;
      for (int b = 0; b < 256 && count < 2; ++b) {
        probe = cur;
        if (detail::feed_byte(g_, probe, static_cast<uint8_t>(b))) only = b, ++count;
      }
      if (count != 1) break;
      detail::feed_byte(g_, cur, static_cast<uint8_t>(only));
      forced.push_back(static_cast<char>(only));
    }
    // Cover the forced bytes greedily with the longest tokens spelling them.
    std::vector<TokenId> tokens;
    const auto& trie = index_.trie().nodes;
    size_t pos = 0;
    while (pos < forced.size()) {
      int32_t node = 0, best_token = -1;
      size_t best_len = 0;
      for (size_t d = pos; d < forced.size(); ++d) {
        int32_t c = trie[node].first_child;
        while (c >= 0 && trie[c].byte != static_cast<uint8_t>(forced[d])) c = trie[c].next_sibling;
        if (c < 0) break;
        node = c;
        if (trie[c].tokens_end > trie[c].tokens_begin) {
          best_token = index_.trie().tokens[trie[c].tokens_begin];
          best_len = d - pos + 1;
        }
      }
      if (best_token < 0) break;
      tokens.push_back(best_token);
      pos += best_len;
    }
    return tokens;
  }

 private:
  bool steering() const {
    if (options_.max_tokens <= 0) return false;
    int64_t remaining = options_.max_tokens - accepted_;
    return remaining <= detail::distance_to_close(g_, state_) + options_.steer_margin;
  }

  // Tokens whose text the matcher accepts from the current state (cached per state).
  const std::vector<uint64_t>& allowed_bits() {
    detail::state_key(state_, key_);
    if (auto it = cache_.find(key_); it != cache_.end()) return it->second;
    if (cache_.size() >= kMaxCachedMasks) cache_.clear();
    std::vector<uint64_t>& bits = cache_[key_];
    scratch_[0] = state_;
    if (int64_t room = detail::plain_string_room(g_, state_); room >= 0) {
      // Plain content is accepted wholesale (up to the length left); only tokens with quotes,
      // escapes, control bytes or partial characters need the walk.
      bits = index_.plain_string_tokens();
      if (room < UINT16_MAX) {
        const auto& chars = index_.plain_token_chars();
        for (size_t id = 0; id < chars.size(); ++id)
          if (chars[id] > room) bits[id >> 6] &= ~(uint64_t{1} << (id & 63));
      }
      walk(index_.non_plain_trie(), 0, 0, bits);
    } else {
      bits.assign((index_.vocab_size() + 63) / 64, 0);
      walk(index_.trie(), 0, 0, bits);
    }
    return bits;
  }

  // Depth-first over a token trie; a rejected byte prunes its whole subtree.
  void walk(const TokenIndex::Trie& trie, int32_t parent, size_t depth,
            std::vector<uint64_t>& bits) {
    for (int32_t c = trie.nodes[parent].first_child; c >= 0; c = trie.nodes[c].next_sibling) {
      const TokenIndex::TrieNode& node = trie.nodes[c];
      detail::MatcherState& s = scratch_[depth + 1];
      s = scratch_[depth];
      if (!detail::feed_byte(g_, s, node.byte)) continue;
      for (int32_t i = node.tokens_begin; i < node.tokens_end; ++i)
        bits[trie.tokens[i] >> 6] |= uint64_t{1} << (trie.tokens[i] & 63);
      if (node.first_child >= 0) walk(trie, c, depth + 1, bits);
    }
  }

  // Among allowed tokens, those that shorten the way to a complete value (or, if none do, those
  // that lengthen it least).
  std::vector<uint8_t> steer_to_close(const std::vector<uint64_t>& bits) {
    int64_t now = detail::distance_to_close(g_, state_);
    std::vector<int64_t> after(index_.vocab_size(), ir::kInfinite);
    int64_t best = ir::kInfinite;
    detail::MatcherState s;
    for (TokenId id = 0; id < index_.vocab_size(); ++id) {
      if (!((bits[id >> 6] >> (id & 63)) & 1)) continue;
      s = state_;
      for (char c : index_.token_text(id)) detail::feed_byte(g_, s, static_cast<uint8_t>(c));
      after[id] = detail::distance_to_close(g_, s);
      best = std::min(best, after[id]);
    }
    std::vector<uint8_t> keep(index_.vocab_size(), 0);
    for (TokenId id = 0; id < index_.vocab_size(); ++id)
      keep[id] = after[id] < ir::kInfinite && (best < now ? after[id] < now : after[id] == best);
    return keep;
  }

  std::shared_ptr<const CompiledSchema> schema_;
  const ir::Grammar& g_;
  const TokenIndex& index_;
  ConstraintOptions options_;
  detail::MatcherState state_;
  std::vector<detail::MatcherState> scratch_;
  std::unordered_map<std::string, std::vector<uint64_t>> cache_;
  std::string key_;
  std::string steer_key_;  // state steer_mask_ was computed for (steering changes per token)
  std::vector<uint8_t> steer_mask_;
  int64_t accepted_ = 0;
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<engine::TokenConstraint> make_constraint(
    std::shared_ptr<const CompiledSchema> schema, const TokenIndex& index,
    const ConstraintOptions& options) {
  return std::make_unique<SchemaConstraint>(std::move(schema), index, options);
}

}  // namespace plinth::structured
