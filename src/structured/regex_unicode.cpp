// Unicode pieces of the regex parser: UTF-8 encoding and known subsets of \p{..} properties.
#include <optional>
#include <string>

#include "regex_ast.h"

namespace plinth::structured::regex {
namespace {

ByteSet ascii_range(int lo, int hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(c);
  return s;
}
ByteSet digits() { return ascii_range('0', '9'); }
ByteSet one(char c) {
  ByteSet s;
  s.set(static_cast<uint8_t>(c));
  return s;
}

}  // namespace

// UTF-8 sequences whose last byte ranges over [lo, hi] after a fixed prefix.
NodePtr utf8_node(const Utf8Range& r) {
  auto seq = make(RegexNode::Kind::kConcat);
  for (char c : r.prefix) seq->children.push_back(make_bytes(one(c)));
  seq->children.push_back(make_bytes(ascii_range(r.lo, r.hi)));
  return seq;
}

std::optional<Property> unicode_property(std::string_view name) {
  ByteSet emoji_ascii = digits() | one('#') | one('*');
  const Utf8Range kSunToComet{"\xE2\x98", 0x80, 0x84};    // U+2600..U+2604
  const Utf8Range kFacesA{"\xF0\x9F\x98", 0x80, 0xBF};    // U+1F600..U+1F63F
  const Utf8Range kFacesB{"\xF0\x9F\x99", 0x80, 0x8F};    // U+1F640..U+1F64F
  const Utf8Range kRegional{"\xF0\x9F\x87", 0xA6, 0xBF};  // U+1F1E6..U+1F1FF
  if (name == "Extended_Pictographic" || name == "ExtPict")
    return Property{{}, {kSunToComet, kFacesA, kFacesB}};
  if (name == "Emoji_Component" || name == "EComp") return Property{emoji_ascii, {kRegional}};
  if (name == "Regional_Indicator" || name == "RI") return Property{{}, {kRegional}};
  if (name == "Emoji") return Property{emoji_ascii, {kFacesA, kFacesB}};
  if (name == "L" || name == "Letter" || name == "Alphabetic" || name == "Alpha")
    return Property{ascii_range('a', 'z') | ascii_range('A', 'Z'), {}};
  if (name == "Lu" || name == "Uppercase_Letter" || name == "Uppercase")
    return Property{ascii_range('A', 'Z'), {}};
  if (name == "Ll" || name == "Lowercase_Letter" || name == "Lowercase")
    return Property{ascii_range('a', 'z'), {}};
  if (name == "N" || name == "Nd" || name == "Number" || name == "Decimal_Number")
    return Property{digits(), {}};
  return std::nullopt;
}

std::string utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

}  // namespace plinth::structured::regex
