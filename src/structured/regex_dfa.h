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
// used). Supports literals, escapes (\d \w \s and negations, \uXXXX, \xHH), classes, groups,
// alternation and the quantifiers * + ? {n} {n,} {n,m}. Anything else (lookaround, backrefs,
// word boundaries, non-ASCII class members) is an error naming the construct.
Result<ByteDfa> compile_regex(std::string_view pattern);

// Removes transitions into states that cannot accept and fills the distance tables.
void finish_dfa(ByteDfa& dfa);

// The regex used to enforce a "format" value; kInvalidArgument for unsupported formats.
Result<std::string> format_regex(std::string_view format);

}  // namespace plinth::structured
