// The TokenConstraint for one generation: token masks from a trie walk of the byte matcher.
#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <span>

#include "matcher_core.h"

namespace plinth::structured {
namespace {

using engine::TokenId;
constexpr size_t kMaxForcedBytes = 256;
// Up to this many alive threads, walk() applies top-frame-only bytes in place (saved on stack).
constexpr size_t kMaxInPlaceThreads = 4;

// kByteSpread[b]: byte k is 0xFF where bit k of b is set (little-endian: byte k is address k).
static_assert(std::endian::native == std::endian::little);
constexpr std::array<uint64_t, 256> kByteSpread = [] {
  std::array<uint64_t, 256> table{};
  for (int b = 0; b < 256; ++b)
    for (int k = 0; k < 8; ++k)
      if ((b >> k) & 1) table[b] |= uint64_t{0xFF} << (8 * k);
  return table;
}();

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
    size_t n = std::min<size_t>(allowed.size(), index_.vocab_size());
    // End-of-generation tokens are never in `bits`: they are allowed exactly when the output is
    // complete, so remember the caller's values for them and restore those below.
    eog_saved_.clear();
    for (TokenId id : index_.end_of_generation_tokens())
      if (static_cast<size_t>(id) < n) eog_saved_.push_back(allowed[id]);
    if (steer && complete) {
      std::fill(allowed.begin(), allowed.begin() + n, 0);
    } else if (steer) {
      std::vector<uint8_t> keep = steer_to_close(bits);
      for (size_t i = 0; i < n; ++i)
        if (!((bits[i >> 6] >> (i & 63)) & 1) || !keep[i]) allowed[i] = 0;
    } else {
      clear_disallowed(bits, allowed.first(n));
    }
    std::fill(allowed.begin() + n, allowed.end(), 0);
    size_t k = 0;
    for (TokenId id : index_.end_of_generation_tokens())
      if (static_cast<size_t>(id) < n) allowed[id] = complete ? eog_saved_[k++] : 0;
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

  // Word by word: most masks are almost all zero or all one, so whole words are skipped or
  // cleared at once instead of testing 152k bits one by one.
  static void clear_disallowed(const std::vector<uint64_t>& bits, std::span<uint8_t> allowed) {
    size_t n = allowed.size();
    for (size_t base = 0, w = 0; base < n; base += 64, ++w) {
      uint64_t word = bits[w];
      size_t len = std::min<size_t>(64, n - base);
      if (word == ~uint64_t{0}) continue;
      if (word == 0) {
        std::memset(allowed.data() + base, 0, len);
        continue;
      }
      if (len < 64) {
        for (size_t i = 0; i < len; ++i)
          if (!((word >> i) & 1)) allowed[base + i] = 0;
        continue;
      }
      // Eight flags at a time: AND with 0x00/0xFF bytes spelled by one byte of the word.
      for (size_t k = 0; k < 8; ++k) {
        uint64_t flags;
        std::memcpy(&flags, allowed.data() + base + 8 * k, 8);
        flags &= kByteSpread[(word >> (8 * k)) & 0xFF];
        std::memcpy(allowed.data() + base + 8 * k, &flags, 8);
      }
    }
  }

  // Tokens whose text the matcher accepts from the current state. Masks are shared by every
  // constraint over the same schema (schema_->masks), keyed by this index and the state.
  const std::vector<uint64_t>& allowed_bits() {
    detail::state_key(state_, key_);
    uint64_t index_id = index_.id();
    key_.append(reinterpret_cast<const char*>(&index_id), sizeof index_id);
    if (bits_ && key_ == bits_key_) return *bits_;
    bits_ = schema_->masks.find(key_);
    if (!bits_) {
      bits_ = std::make_shared<const std::vector<uint64_t>>(compute_allowed_bits());
      schema_->masks.insert(key_, bits_);
    }
    bits_key_ = key_;
    return *bits_;
  }

  std::vector<uint64_t> compute_allowed_bits() {
    std::vector<uint64_t> bits;
    scratch_[0] = state_;
    int64_t room = detail::plain_string_room(g_, state_);
    if (room < 0) {
      bits.assign((index_.vocab_size() + 63) / 64, 0);
      if (const ByteDfa* dfa = unbounded_pattern_string(); dfa)
        dfa_walk(*dfa, index_.trie(), 0, scratch_[0].threads[0].back().b, bits);
      else
        walk(index_.trie(), 0, 0, bits);
      return bits;
    }
    // Plain content is accepted wholesale up to the characters left; only tokens with quotes,
    // escapes, control bytes or partial characters need the walk. The limit is applied from
    // whichever side of it holds fewer tokens.
    const auto& by_chars = index_.plain_tokens_by_chars();
    const auto& chars = index_.plain_token_chars();
    auto first_too_long = std::partition_point(by_chars.begin(), by_chars.end(),
                                               [&](TokenId id) { return chars[id] <= room; });
    if (first_too_long - by_chars.begin() < by_chars.end() - first_too_long) {
      bits.assign((index_.vocab_size() + 63) / 64, 0);
      for (auto it = by_chars.begin(); it != first_too_long; ++it)
        bits[*it >> 6] |= uint64_t{1} << (*it & 63);
    } else {
      bits = index_.plain_string_tokens();
      for (auto it = first_too_long; it != by_chars.end(); ++it)
        bits[*it >> 6] &= ~(uint64_t{1} << (*it & 63));
    }
    walk(index_.non_plain_trie(), 0, 0, bits);
    return bits;
  }

  // The automaton when the only thread is between characters of a pattern string with no
  // length limit (its frame then changes only in the automaton state), else null.
  const ByteDfa* unbounded_pattern_string() const {
    if (state_.threads.size() != 1 || state_.threads[0].empty()) return nullptr;
    const detail::Frame& f = state_.threads[0].back();
    if (f.node < 0 || f.phase != 1) return nullptr;
    const ir::Node& n = g_.nodes[f.node];
    if (n.kind != ir::Kind::kString || n.string.dfa < 0 || n.string.max_length >= 0 ||
        n.string.min_length > 0)
      return nullptr;
    return &g_.dfas[n.string.dfa];
  }

  // walk() for that case: plain ASCII content bytes are one table lookup each (the bulk of a
  // 150k-token trie); anything else (quote, escape, non-ASCII) goes through walk() from the
  // automaton state reached so far.
  void dfa_walk(const ByteDfa& dfa, const TokenIndex::Trie& trie, int32_t parent, int32_t q,
                std::vector<uint64_t>& bits) {
    for (int32_t c = trie.nodes[parent].first_child; c >= 0; c = trie.nodes[c].next_sibling) {
      const TokenIndex::TrieNode& node = trie.nodes[c];
      uint8_t b = node.byte;
      if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
        int32_t t = dfa.next[q][b];
        if (t < 0) continue;
        mark(trie, node, bits);
        if (node.first_child >= 0) dfa_walk(dfa, trie, c, t, bits);
        continue;
      }
      scratch_[0].threads[0].back().b = q;
      visit(trie, c, 0, bits);
    }
  }

  // Depth-first over a token trie from the state in scratch_[slot]; a rejected byte prunes its
  // whole subtree. A byte that every alive thread takes by changing only its top frame (string
  // content, digits, literal letters: most of the walk) is applied in place and undone after the
  // subtree, instead of copying the whole state for every trie node.
  void walk(const TokenIndex::Trie& trie, int32_t parent, size_t slot,
            std::vector<uint64_t>& bits) {
    detail::MatcherState& here = scratch_[slot];
    auto& threads = here.threads;
    bool in_place = !threads.empty() && threads.size() <= kMaxInPlaceThreads;
    for (const auto& t : threads) in_place = in_place && !t.empty();
    for (int32_t c = trie.nodes[parent].first_child; c >= 0; c = trie.nodes[c].next_sibling)
      visit(trie, c, slot, bits, in_place);
  }

  void visit(const TokenIndex::Trie& trie, int32_t c, size_t slot, std::vector<uint64_t>& bits) {
    const auto& threads = scratch_[slot].threads;
    bool in_place = !threads.empty() && threads.size() <= kMaxInPlaceThreads;
    for (const auto& t : threads) in_place = in_place && !t.empty();
    visit(trie, c, slot, bits, in_place);
  }

  // One trie node (and its subtree) from the state in scratch_[slot].
  void visit(const TokenIndex::Trie& trie, int32_t c, size_t slot, std::vector<uint64_t>& bits,
             bool in_place) {
    detail::MatcherState& here = scratch_[slot];
    auto& threads = here.threads;
    const TokenIndex::TrieNode& node = trie.nodes[c];
    {
      if (in_place) {
        detail::Frame saved[kMaxInPlaceThreads];
        bool consumed = false, rejected = false, reshaped = false;
        for (size_t t = 0; t < threads.size(); ++t) {
          saved[t] = threads[t].back();
          int step = detail::feed_top_frame(g_, threads[t].back(), node.byte);
          consumed |= step == 1, rejected |= step == 0, reshaped |= step < 0;
        }
        bool all_consumed = consumed && !rejected && !reshaped;
        if (all_consumed) {
          mark(trie, node, bits);
          if (node.first_child >= 0) walk(trie, c, slot, bits);  // restores what it changes
        }
        for (size_t t = 0; t < threads.size(); ++t) threads[t].back() = saved[t];
        if (all_consumed || !(consumed || reshaped)) return;  // done, or every thread rejects
        // Some threads die or the stack reshapes: feed_byte does that on a copy.
      }
      detail::MatcherState& s = scratch_[slot + 1];
      s = here;
      if (!detail::feed_byte(g_, s, node.byte)) return;
      mark(trie, node, bits);
      if (node.first_child >= 0) walk(trie, c, slot + 1, bits);
    }
  }

  static void mark(const TokenIndex::Trie& trie, const TokenIndex::TrieNode& node,
                   std::vector<uint64_t>& bits) {
    for (int32_t i = node.tokens_begin; i < node.tokens_end; ++i)
      bits[trie.tokens[i] >> 6] |= uint64_t{1} << (trie.tokens[i] & 63);
  }

  // Among allowed tokens, those that shorten the way to a complete value (or, if none do, those
  // that lengthen it least).
  std::vector<uint8_t> steer_to_close(const std::vector<uint64_t>& bits) {
    int64_t now = detail::distance_to_close(g_, state_);
    std::vector<int64_t> after(index_.vocab_size(), ir::kInfinite);
    int64_t best = ir::kInfinite;
    detail::MatcherState s;
    // In plain string content, plain tokens of equal character count lead to the same state:
    // one feed per count instead of one per token (up to ~100k of them).
    bool plain_content = detail::plain_string_room(g_, state_) >= 0;
    const auto& plain_chars = index_.plain_token_chars();
    constexpr int64_t kUnknown = -1;
    std::vector<int64_t> after_chars;
    // In a pattern string without length limits, ASCII content only moves the automaton: one
    // distance per automaton state reached instead of one matcher feed per token.
    const ByteDfa* dfa = unbounded_pattern_string();
    std::vector<int64_t> after_dfa_state;
    if (dfa) after_dfa_state.assign(dfa->next.size(), kUnknown);
    for (TokenId id = 0; id < index_.vocab_size(); ++id) {
      if (!((bits[id >> 6] >> (id & 63)) & 1)) continue;
      if (dfa) {
        int32_t q = state_.threads[0].back().b;
        for (unsigned char c : index_.token_text(id)) {
          if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') q = -1;
          if (q < 0) break;
          q = dfa->next[q][c];
        }
        if (q >= 0) {
          if (after_dfa_state[q] == kUnknown) {
            s = state_;
            s.threads[0].back().b = q;
            after_dfa_state[q] = detail::distance_to_close(g_, s);
          }
          after[id] = after_dfa_state[q];
          best = std::min(best, after[id]);
          continue;
        }
      }
      uint16_t chars = plain_content ? plain_chars[id] : 0;
      if (chars > 0 && chars < after_chars.size() && after_chars[chars] != kUnknown) {
        after[id] = after_chars[chars];
      } else {
        s = state_;
        for (char c : index_.token_text(id)) detail::feed_byte(g_, s, static_cast<uint8_t>(c));
        after[id] = detail::distance_to_close(g_, s);
        if (chars > 0) {
          if (chars >= after_chars.size()) after_chars.resize(chars + 1, kUnknown);
          after_chars[chars] = after[id];
        }
      }
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
  std::shared_ptr<const std::vector<uint64_t>> bits_;  // mask for bits_key_
  std::string bits_key_;
  std::string key_;
  std::vector<uint8_t> eog_saved_;
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
