// TokenIndex: a byte trie over a tokenizer's vocabulary, built once and cached per tokenizer.
#include <algorithm>
#include <map>
#include <mutex>

#include "plinth/structured/structured.h"

namespace plinth::structured {

TokenIndex::TokenIndex(const engine::Tokenizer& tokenizer) : vocab_size_(tokenizer.vocab_size()) {
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
  // Sorted insertion: each text shares its longest common prefix with the previous one, so
  // children are appended in byte order and equal texts land on the same node in a row.
  trie_.emplace_back();
  std::vector<int32_t> last_child(1, -1);
  std::vector<int32_t> path{0};
  const std::string* prev = nullptr;
  for (engine::TokenId id : order) {
    const std::string& text = texts_[id];
    size_t common = 0;
    if (prev)
      while (common < prev->size() && common < text.size() && (*prev)[common] == text[common])
        ++common;
    path.resize(common + 1);
    for (size_t d = common; d < text.size(); ++d) {
      int32_t parent = path[d];
      int32_t node = static_cast<int32_t>(trie_.size());
      TrieNode n;
      n.byte = static_cast<uint8_t>(text[d]);
      trie_.push_back(n);
      last_child.push_back(-1);
      if (last_child[parent] < 0) trie_[parent].first_child = node;
      else trie_[last_child[parent]].next_sibling = node;
      last_child[parent] = node;
      path.push_back(node);
    }
    TrieNode& end = trie_[path[text.size()]];
    if (end.tokens_begin == end.tokens_end)
      end.tokens_begin = end.tokens_end = static_cast<int32_t>(trie_tokens_.size());
    trie_tokens_.push_back(id);
    ++end.tokens_end;
    prev = &text;
  }
}

namespace {
// Distinguishes a new tokenizer that happens to reuse a freed one's address.
uint64_t fingerprint(const engine::Tokenizer& t) {
  uint64_t h = static_cast<uint64_t>(t.vocab_size()) * 1099511628211ull;
  int32_t n = t.vocab_size();
  for (int32_t i = 0; i < 64 && n > 0; ++i) {
    for (char c : t.token_bytes((i * 7919) % n, true)) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
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
