// The regex syntax tree shared by the parser (regex_parse.cpp) and the automaton builder.
#pragma once

#include <bitset>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::structured::regex {

using ByteSet = std::bitset<256>;

constexpr int kMaxRepeat = 1000;
// Total size of one pattern's tree (after expanding nothing): bounds parse work.
constexpr size_t kMaxPatternBytes = 20000;

// Non-ASCII only ever appears as literal UTF-8 sequences of known characters: '.', \W, [\s\S]
// and negated classes match ASCII only, so every string the automaton accepts is one any
// ECMAScript engine accepts too (the automaton's language is a subset where they differ).
struct RegexNode {
  enum class Kind {
    kBytes,   // one byte out of `bytes`
    kConcat,  // children in order
    kAlt,     // any child
    kRepeat,  // children[0] repeated min..max (max < 0: unbounded)
    kLook,    // lookahead marker (parser only): children[0] is the lookahead's language,
              // already followed by "anything" unless it ended in '$'; negative when `negate`
    kAnd,     // children[0] and children[1] both match the same text
    kAndNot,  // children[0] matches and children[1] does not
  } kind = Kind::kBytes;
  ByteSet bytes;
  std::vector<std::unique_ptr<RegexNode>> children;
  int min = 0, max = 0;
  bool negate = false;
};
using NodePtr = std::unique_ptr<RegexNode>;

// UTF-8 sequences whose last byte ranges over [lo, hi] after a fixed prefix.
struct Utf8Range {
  std::string prefix;
  uint8_t lo, hi;
};
NodePtr utf8_node(const Utf8Range& r);
// A known subset of a Unicode property: ASCII members plus a few multi-byte ranges (all
// members of the property, so any engine agrees); nullopt for other names.
struct Property {
  ByteSet ascii;
  std::vector<Utf8Range> ranges;
};
std::optional<Property> unicode_property(std::string_view name);
// UTF-8 for a BMP code point.
std::string utf8(uint32_t cp);

NodePtr make_bytes(ByteSet set);
NodePtr make(RegexNode::Kind kind);
// Any ASCII text ("anything" in the automaton's subset).
NodePtr any_ascii_star();

// Parses an ECMAScript pattern with JSON Schema semantics (unanchored unless ^/$) into a tree
// without lookahead markers: a lookahead becomes an intersection (or difference) with the rest
// of the text. kInvalidArgument names an unsupported construct and its offset.
Result<NodePtr> parse(std::string_view pattern);

}  // namespace plinth::structured::regex
