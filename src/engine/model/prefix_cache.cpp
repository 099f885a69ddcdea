// PrefixCache: a handful of whole-prompt entries scanned linearly (a few dozen at most fit any
// sensible budget), each an exact-size KvCache snapshot shared with the generations reading it.
#include "model/prefix_cache.h"

#include <algorithm>

namespace plinth::engine {

PrefixCache::PrefixCache(size_t max_bytes, int32_t min_tokens)
    : max_bytes_(max_bytes), min_tokens_(std::max(min_tokens, 1)) {}

int32_t PrefixCache::reusable_length(std::span<const TokenId> stored,
                                     std::span<const TokenId> prompt) const {
  const size_t limit = prompt.empty() ? 0 : prompt.size() - 1;
  const size_t n = std::min(limit, stored.size());
  const auto length = static_cast<int32_t>(
      std::mismatch(stored.begin(), stored.begin() + static_cast<ptrdiff_t>(n), prompt.begin())
          .first -
      stored.begin());
  return length >= min_tokens_ ? length : 0;
}

PrefixCache::Hit PrefixCache::lookup(std::span<const TokenId> prompt) {
  std::lock_guard lock(mutex_);
  Entry* best = nullptr;
  int32_t best_length = 0;
  for (Entry& e : entries_) {
    const int32_t length = reusable_length(e.tokens, prompt);
    if (length > best_length) {
      best = &e;
      best_length = length;
    }
  }
  if (best == nullptr) return {};
  best->last_used = ++clock_;
  return {best->kv, best_length};
}

bool PrefixCache::insert(std::span<const TokenId> prompt, const KvCache& kv) {
  if (prompt.size() < static_cast<size_t>(min_tokens_) ||
      kv.size() < static_cast<int32_t>(prompt.size()))
    return false;
  auto snapshot = std::make_shared<const KvCache>(kv, static_cast<int32_t>(prompt.size()));
  const size_t size = snapshot->bytes();
  if (size > max_bytes_) return false;
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) {
    if (std::equal(e.tokens.begin(), e.tokens.end(), prompt.begin(), prompt.end())) {
      e.last_used = ++clock_;
      return false;
    }
  }
  // A stored strict prefix of this prompt is now redundant: every lookup it would answer, this
  // entry answers at least as well.
  std::erase_if(entries_, [&](const Entry& e) {
    const bool prefix = e.tokens.size() < prompt.size() &&
                        std::equal(e.tokens.begin(), e.tokens.end(), prompt.begin());
    if (prefix) bytes_ -= e.kv->bytes();
    return prefix;
  });
  evict_to(max_bytes_ - size);
  entries_.push_back(
      {std::vector<TokenId>(prompt.begin(), prompt.end()), std::move(snapshot), ++clock_});
  bytes_ += size;
  ++stores_;
  return true;
}

void PrefixCache::evict_to(size_t budget) {
  while (bytes_ > budget && !entries_.empty()) {
    auto oldest =
        std::min_element(entries_.begin(), entries_.end(),
                         [](const Entry& a, const Entry& b) { return a.last_used < b.last_used; });
    bytes_ -= oldest->kv->bytes();
    entries_.erase(oldest);
  }
}

bool PrefixCache::holds(std::span<const TokenId> prefix) const {
  if (prefix.size() < static_cast<size_t>(min_tokens_)) return false;
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) {
    return e.tokens.size() >= prefix.size() &&
           std::equal(prefix.begin(), prefix.end(), e.tokens.begin());
  });
}

uint64_t PrefixCache::stores() const {
  std::lock_guard lock(mutex_);
  return stores_;
}

size_t PrefixCache::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

size_t PrefixCache::entries() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace plinth::engine
