// A small regex-to-DFA compiler for JSON Schema "pattern" and "format" (ECMAScript subset).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::structured {

// Deterministic automaton over the UTF-8 bytes of a string's decoded content. Transitions into
// states that can never reach acceptance are removed (-1), so a live state can always finish.
struct ByteDfa {
  static constexpr int32_t kDead = -1;
  std::vector<std::array<int32_t, 256>> next;
  std::vector<uint8_t> accepting;
  // Fewest characters (not bytes) from a state to acceptance.
  std::vector<int32_t> min_chars_to_accept;
  // Most characters from a state to acceptance; kUnbounded when a cycle is reachable.
  static constexpr int32_t kUnbounded = INT32_MAX;
  // Fewest bytes of JSON string text from a state to acceptance ('"', '\\' and control
  // characters need an escape, so they count twice).
  std::vector<int32_t> min_json_bytes_to_accept;
  std::vector<int32_t> max_chars_to_accept;
  int32_t start = 0;

  bool live(int32_t state) const { return state >= 0; }
};

// Compiles an ECMAScript-style pattern with JSON Schema semantics (unanchored unless ^/$ are
// used). Supports literals, escapes (\d \w \s and negations, \uXXXX, \xHH, a few \p{..}),
// classes, groups, alternation, the quantifiers * + ? {n} {n,} {n,m} and lookaheads. Anything
// else (lookbehind, backrefs, word boundaries, non-ASCII class ranges) is an error naming the
// construct. Matching is one table lookup per byte: linear in the text, whatever the pattern.
// Where ECMAScript would accept more ('.' on non-ASCII, huge lookahead products) the automaton
// accepts a subset, never a superset.
Result<ByteDfa> compile_regex(std::string_view pattern);

// Strings both automata accept (a subset when the product is very large).
Result<ByteDfa> intersect_dfas(const ByteDfa& a, const ByteDfa& b);

// Whole-text match, linear time.
bool dfa_matches(const ByteDfa& dfa, std::string_view text);

// Removes transitions into states that cannot accept and fills the distance tables.
void finish_dfa(ByteDfa& dfa);

// The regex used to enforce a "format" value; kInvalidArgument for unsupported formats.
Result<std::string> format_regex(std::string_view format);

// The format whose extra checks (beyond the pattern) a known Zod-emitted pattern stands for,
// or empty.
std::string_view format_implied_by_pattern(std::string_view pattern);

}  // namespace plinth::structured
