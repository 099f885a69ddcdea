// Lookups into the generated Unicode tables, and UTF-8 encoding/decoding.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

namespace plinth::engine {
namespace {

// ASCII and Latin-1 are looked up on every character of typical text: cache them.
std::array<uint16_t, 256> build_low_flags() {
  std::array<uint16_t, 256> flags{};
  size_t run = 0;
  for (uint32_t cp = 0; cp < 256; ++cp) {
    while (run + 1 < unicode_data::kFlagRunCount && unicode_data::kFlagRuns[run + 1].first <= cp) {
      ++run;
    }
    flags[cp] = unicode_data::kFlagRuns[run].flags;
  }
  return flags;
}

uint32_t lookup_pair(const unicode_data::CodepointPair* table, size_t count, uint32_t cp) {
  const auto* end = table + count;
  const auto* it = std::lower_bound(
      table, end, cp, [](const unicode_data::CodepointPair& p, uint32_t v) { return p.from < v; });
  return (it != end && it->from == cp) ? it->to : cp;
}

}  // namespace

CodepointFlags codepoint_flags(uint32_t cp) {
  static const std::array<uint16_t, 256> low = build_low_flags();
  if (cp < 256) return {low[cp]};
  if (cp >= 0x110000) return {CodepointFlags::kUndefined};
  const auto* begin = unicode_data::kFlagRuns;
  const auto* end = begin + unicode_data::kFlagRunCount;
  const auto* it = std::upper_bound(
      begin, end, cp, [](uint32_t v, const unicode_data::FlagRun& r) { return v < r.first; });
  return {(it - 1)->flags};
}

uint32_t codepoint_to_lower(uint32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  return lookup_pair(unicode_data::kLowercase, unicode_data::kLowercaseCount, cp);
}

uint32_t codepoint_nfd_first(uint32_t cp) {
  if (cp < 0xC0) return cp;
  return lookup_pair(unicode_data::kNfdFirst, unicode_data::kNfdFirstCount, cp);
}

std::vector<uint32_t> utf8_to_codepoints(std::string_view text) {
  std::vector<uint32_t> out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto b0 = static_cast<uint8_t>(text[i]);
    const size_t len = utf8_sequence_length(b0);
    if (len == 1) {
      out.push_back(b0 < 0x80 ? b0 : 0xFFFD);
      ++i;
      continue;
    }
    if (i + len > text.size()) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    uint32_t cp = b0 & (0x7F >> len);
    bool valid = true;
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<uint8_t>(text[i + k]);
      if ((b & 0xC0) != 0x80) {
        valid = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (!valid) {
      out.push_back(0xFFFD);
      ++i;
      continue;
    }
    out.push_back(cp);
    i += len;
  }
  return out;
}

void append_utf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace plinth::engine
