// The regex syntax tree shared by the parser (regex_parse.cpp) and the automaton builder.
#pragma once

#include <bitset>
#include <memory>
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

NodePtr make_bytes(ByteSet set);
NodePtr make(RegexNode::Kind kind);
// Any ASCII text ("anything" in the automaton's subset).
NodePtr any_ascii_star();

// Parses an ECMAScript pattern with JSON Schema semantics (unanchored unless ^/$) into a tree
// without lookahead markers: a lookahead becomes an intersection (or difference) with the rest
// of the text. kInvalidArgument names an unsupported construct and its offset.
Result<NodePtr> parse(std::string_view pattern);

}  // namespace plinth::structured::regex
