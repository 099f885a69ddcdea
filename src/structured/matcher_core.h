// Internal byte-level matcher operations over a compiled grammar (used by JsonMatcher and masks).
#pragma once

#include <string>
#include <string_view>

#include "plinth/structured/structured.h"
#include "schema_ir.h"

namespace plinth::structured {

class CompiledSchema {
 public:
  ir::Grammar grammar;
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
bool is_complete(const ir::Grammar& g, const MatcherState& state);
int64_t distance_to_close(const ir::Grammar& g, const MatcherState& state);
// Inside a string without a pattern, between characters: plain string content (no escapes,
// whole characters) of up to the returned number of characters is accepted as is; -1 elsewhere.
int64_t plain_string_room(const ir::Grammar& g, const MatcherState& state);
// A byte string identifying the state (for mask caches).
void state_key(const MatcherState& state, std::string& out);

}  // namespace detail
}  // namespace plinth::structured
