// Internal byte-level matcher operations over a compiled grammar (used by JsonMatcher and masks).
#pragma once

#include <string>

#include "plinth/structured/structured.h"
#include "schema_ir.h"

namespace plinth::structured {

class CompiledSchema {
 public:
  ir::Grammar grammar;
};

namespace detail {

constexpr int32_t kRootFrame = -2;

MatcherState initial_state(const ir::Grammar& g);
// Advances every alive thread by one byte; returns false (state unspecified) when none survive.
bool feed_byte(const ir::Grammar& g, MatcherState& state, uint8_t byte);
bool is_complete(const ir::Grammar& g, const MatcherState& state);
int64_t distance_to_close(const ir::Grammar& g, const MatcherState& state);
// A byte string identifying the state (for mask caches).
void state_key(const MatcherState& state, std::string& out);

}  // namespace detail
}  // namespace plinth::structured
