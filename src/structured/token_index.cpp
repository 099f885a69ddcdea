// TokenIndex: a byte trie over a tokenizer's vocabulary, built once and cached per tokenizer.
#include <algorithm>
#include <atomic>
#include <map>
#include <mutex>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

// Sorted insertion: each text shares its longest common prefix with the previous one, so
// children are appended in byte order and equal texts land on the same node in a row.
TokenIndex::Trie build_trie(const std::vector<std::string>& texts,
                            const std::vector<engine::TokenId>& sorted) {
  TokenIndex::Trie trie;
  trie.nodes.emplace_back();
  std::vector<int32_t> last_child(1, -1);
  std::vector<int32_t> path{0};
  const std::string* prev = nullptr;
  for (engine::TokenId id : sorted) {
    const std::string& text = texts[id];
    size_t common = 0;
    if (prev)
      while (common < prev->size() && common < text.size() && (*prev)[common] == text[common])
        ++common;
    path.resize(common + 1);
    for (size_t d = common; d < text.size(); ++d) {
      int32_t parent = path[d];
      int32_t node = static_cast<int32_t>(trie.nodes.size());
      TokenIndex::TrieNode n;
      n.byte = static_cast<uint8_t>(text[d]);
      trie.nodes.push_back(n);
      last_child.push_back(-1);
      if (last_child[parent] < 0)
        trie.nodes[parent].first_child = node;
      else
        trie.nodes[last_child[parent]].next_sibling = node;
      last_child[parent] = node;
      path.push_back(node);
    }
    TokenIndex::TrieNode& end = trie.nodes[path[text.size()]];
    if (end.tokens_begin == end.tokens_end)
      end.tokens_begin = end.tokens_end = static_cast<int32_t>(trie.tokens.size());
    trie.tokens.push_back(id);
    ++end.tokens_end;
    prev = &text;
  }
  return trie;
}

// Whole, strictly valid UTF-8 characters of the Basic Multilingual Plane that a JSON string
// holds without escaping. Supplementary characters are left to the matcher: they count as two
// UTF-16 units in JavaScript, so length-limited strings refuse them.
bool is_plain_string_content(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    uint8_t c = static_cast<uint8_t>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == '"' || c == '\\') return false;
      ++i;
      continue;
    }
    size_t len = 0;
    uint8_t lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
      len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
      len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else
      return false;
    if (i + len > text.size()) return false;
    for (size_t k = 1; k < len; ++k) {
      uint8_t b = static_cast<uint8_t>(text[i + k]);
      if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

TokenIndex::TokenIndex(const engine::Tokenizer& tokenizer) : vocab_size_(tokenizer.vocab_size()) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id.fetch_add(1);
  texts_.resize(vocab_size_);
  eog_.assign(vocab_size_, 0);
  excluded_.assign(vocab_size_, 0);
  std::vector<engine::TokenId> order;
  for (engine::TokenId id = 0; id < vocab_size_; ++id) {
    eog_[id] = tokenizer.is_end_of_generation(id) ? 1 : 0;
    if (eog_[id]) eog_ids_.push_back(id);
    if (tokenizer.is_control(id)) {
      excluded_[id] = 1;
      continue;
    }
    texts_[id] = tokenizer.token_bytes(id, false);
    if (texts_[id].empty() || eog_[id]) {
      excluded_[id] = 1;
      continue;
    }
    order.push_back(id);
    max_token_bytes_ = std::max(max_token_bytes_, texts_[id].size());
  }
  std::sort(order.begin(), order.end(), [&](engine::TokenId x, engine::TokenId y) {
    return texts_[x] != texts_[y] ? texts_[x] < texts_[y] : x < y;
  });
  all_ = build_trie(texts_, order);
  plain_bits_.assign((vocab_size_ + 63) / 64, 0);
  plain_chars_.assign(vocab_size_, 0);
  std::vector<engine::TokenId> non_plain;
  for (engine::TokenId id : order) {
    if (is_plain_string_content(texts_[id])) {
      plain_bits_[id >> 6] |= uint64_t{1} << (id & 63);
      size_t chars = 0;
      for (char c : texts_[id]) chars += (static_cast<uint8_t>(c) & 0xC0) != 0x80;
      plain_chars_[id] = static_cast<uint16_t>(std::min<size_t>(chars, UINT16_MAX));
    } else {
      non_plain.push_back(id);
    }
  }
  non_plain_ = build_trie(texts_, non_plain);
  for (engine::TokenId id : order)
    if (plain_chars_[id] > 0) plain_by_chars_.push_back(id);
  std::stable_sort(
      plain_by_chars_.begin(), plain_by_chars_.end(),
      [&](engine::TokenId x, engine::TokenId y) { return plain_chars_[x] < plain_chars_[y]; });
}

namespace {
// Distinguishes a new tokenizer that happens to reuse a freed one's address.
uint64_t fingerprint(const engine::Tokenizer& t) {
  uint64_t h = static_cast<uint64_t>(t.vocab_size()) * 1099511628211ull;
  int32_t n = t.vocab_size();
  for (int32_t i = 0; i < 64 && n > 0; ++i) {
    for (char c : t.token_bytes((i * 7919) % n, true))
      h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  }
  return h;
}
}  // namespace

const TokenIndex& token_index_for(const engine::Tokenizer& tokenizer) {
  static std::mutex mutex;
  // Guarded by mutex. Entries live for the process (indexes are referenced by constraints).
  static std::map<std::pair<const engine::Tokenizer*, uint64_t>, std::unique_ptr<TokenIndex>>
      indexes;
  auto key = std::make_pair(&tokenizer, fingerprint(tokenizer));
  std::lock_guard lock(mutex);
  auto& slot = indexes[key];
  if (!slot) slot = std::make_unique<TokenIndex>(tokenizer);
  return *slot;
}

}  // namespace plinth::structured
