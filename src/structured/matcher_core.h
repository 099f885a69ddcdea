// Internal byte-level matcher operations over a compiled grammar (used by JsonMatcher and masks).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plinth/structured/structured.h"
#include "schema_ir.h"

namespace plinth::structured {

// Token masks computed for one schema, shared by every constraint over it (requests with the
// same schema revisit the same matcher states). Keyed by the TokenIndex's id and the full
// matcher state (detail::state_key), which together determine the mask. Thread-safe, bounded.
class SharedMaskCache {
 public:
  using Bits = std::shared_ptr<const std::vector<uint64_t>>;
  // ~19 KB each for a 152k vocabulary; with the process-wide cache of 64 schemas (structured.cpp)
  // masks take at most ~155 MB in all.
  static constexpr size_t kMaxEntries = 128;

  Bits find(const std::string& key) const {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    return it == entries_.end() ? nullptr : it->second;
  }
  void insert(const std::string& key, Bits bits) {
    std::lock_guard lock(mutex_);
    if (entries_.size() >= kMaxEntries) entries_.clear();  // constraints keep their own copies
    entries_.emplace(key, std::move(bits));
  }
  size_t size() const {
    std::lock_guard lock(mutex_);
    return entries_.size();
  }

 private:
  mutable std::mutex mutex_;
  // Guarded by mutex_.
  std::unordered_map<std::string, Bits> entries_;
};

class CompiledSchema {
 public:
  ir::Grammar grammar;
  mutable SharedMaskCache masks;  // a cache, not part of the schema's value
};

namespace detail {

constexpr int32_t kRootFrame = -2;

// JSON escape letters and the bytes they stand for.
constexpr std::string_view kEscapeLetters = "\"\\/bfnrt";
constexpr std::string_view kEscapedBytes = "\"\\/\b\f\n\r\t";

// Number phases where the text so far is a complete number.
inline bool number_complete_phase(uint8_t phase) {
  return phase == 2 || phase == 3 || phase == 5 || phase == 8;
}

// The schema of the item at `index`, or kNoNode when no further item is allowed.
inline ir::NodeId array_item(const ir::ArraySpec& s, int32_t index) {
  if (s.max_items >= 0 && index >= s.max_items) return ir::kNoNode;
  return index < static_cast<int32_t>(s.prefix.size()) ? s.prefix[index] : s.items;
}

MatcherState initial_state(const ir::Grammar& g);
// Advances every alive thread by one byte; returns false (state unspecified) when none survive.
bool feed_byte(const ir::Grammar& g, MatcherState& state, uint8_t byte);
// One byte against a single-thread state's top frame alone: 1 = consumed with the stack keeping
// its shape (only `top` changed), 0 = rejected, -1 = needs feed_byte (pushes, pops, root).
int feed_top_frame(const ir::Grammar& g, Frame& top, uint8_t byte);
bool is_complete(const ir::Grammar& g, const MatcherState& state);
int64_t distance_to_close(const ir::Grammar& g, const MatcherState& state);
// Every thread inside a string without a pattern, between characters: plain string content (no
// escapes, whole characters) of up to the returned number of characters is accepted as is, and
// content of equal length leads to the same state; -1 elsewhere.
int64_t plain_string_room(const ir::Grammar& g, const MatcherState& state);
// A byte string identifying the state (for mask caches).
void state_key(const MatcherState& state, std::string& out);

}  // namespace detail
}  // namespace plinth::structured
