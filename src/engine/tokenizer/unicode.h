// Unicode code point properties and UTF-8 helpers used by the tokenizers' pre-tokenizers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plinth::engine {

// Per-code-point class flags, as the pre-tokenizer regexes see them (\p{L}, \p{N}, \s, ...).
// Every real code point has at least one bit set; 0 means "outside the text".
struct CodepointFlags {
  static constexpr uint16_t kUndefined = 0x1;
  static constexpr uint16_t kNumber = 0x2;
  static constexpr uint16_t kLetter = 0x4;
  static constexpr uint16_t kSeparator = 0x8;
  static constexpr uint16_t kAccentMark = 0x10;
  static constexpr uint16_t kPunctuation = 0x20;
  static constexpr uint16_t kSymbol = 0x40;
  static constexpr uint16_t kControl = 0x80;
  static constexpr uint16_t kWhitespace = 0x100;

  uint16_t bits = 0;
  bool is_number() const { return bits & kNumber; }
  bool is_letter() const { return bits & kLetter; }
  bool is_whitespace() const { return bits & kWhitespace; }
  bool is_punctuation() const { return bits & kPunctuation; }
  bool is_symbol() const { return bits & kSymbol; }
  bool is_control() const { return bits & kControl; }
  bool is_accent_mark() const { return bits & kAccentMark; }
};

CodepointFlags codepoint_flags(uint32_t cp);
uint32_t codepoint_to_lower(uint32_t cp);
// First code point of the canonical decomposition (strips accents the way llama.cpp's BERT does).
uint32_t codepoint_nfd_first(uint32_t cp);

// Decodes UTF-8; each invalid or truncated sequence becomes U+FFFD and consumes one byte.
std::vector<uint32_t> utf8_to_codepoints(std::string_view text);
void append_utf8(uint32_t cp, std::string& out);
// Length of the UTF-8 sequence that starts with `lead` (1 for continuation/invalid bytes).
inline size_t utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

namespace unicode_data {
struct FlagRun {
  uint32_t first;
  uint16_t flags;
};
struct CodepointPair {
  uint32_t from;
  uint32_t to;
};
extern const FlagRun kFlagRuns[];
extern const size_t kFlagRunCount;
extern const CodepointPair kLowercase[];
extern const size_t kLowercaseCount;
extern const CodepointPair kNfdFirst[];
extern const size_t kNfdFirstCount;
}  // namespace unicode_data

}  // namespace plinth::engine
