// PrefixCache: the KV caches of recent prompts, so that a prompt sharing a prefix with one of
// them (a system prompt, a document, a conversation so far) skips that prefix's forward pass.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

class PrefixCache {
 public:
  // Entries are kept while their bytes fit in max_bytes (least recently used evicted first);
  // prefixes shorter than min_tokens are neither stored nor reused.
  PrefixCache(size_t max_bytes, int32_t min_tokens);

  struct Hit {
    std::shared_ptr<const KvCache> kv;  // null: no usable prefix
    int32_t tokens = 0;                 // how many leading prompt positions kv holds
  };
  // The longest stored prefix of `prompt`, at most prompt.size() - 1 tokens (the last prompt
  // token must run to give logits).
  Hit lookup(std::span<const TokenId> prompt);
  // Stores the first prompt.size() positions of kv under prompt; false when it is too short,
  // too large for the budget, or already stored.
  bool insert(std::span<const TokenId> prompt, const KvCache& kv);

  // Whether an entry starts with `prefix` (a lookup of a longer prompt would read all of it).
  bool holds(std::span<const TokenId> prefix) const;

  // How many leading tokens of `prompt` an entry holding `stored` would give it: their common
  // prefix, at most prompt.size() - 1 (the last prompt token must run to give logits), and 0 when
  // that is below min_tokens. What lookup finds against each entry.
  int32_t reusable_length(std::span<const TokenId> stored, std::span<const TokenId> prompt) const;
  // Counts the entries stored so far: a lookup repeated while it is unchanged finds nothing more.
  uint64_t stores() const;

  size_t bytes() const;
  size_t entries() const;

 private:
  struct Entry {
    std::vector<TokenId> tokens;
    std::shared_ptr<const KvCache> kv;
    uint64_t last_used = 0;
  };
  void evict_to(size_t budget);  // mutex_ held

  const size_t max_bytes_;
  const int32_t min_tokens_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;  // guarded by mutex_
  size_t bytes_ = 0;            // guarded by mutex_
  uint64_t clock_ = 0;          // guarded by mutex_
  uint64_t stores_ = 0;         // guarded by mutex_
};

}  // namespace plinth::engine
