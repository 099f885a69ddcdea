// The GPT-2 byte <-> code point tables, built once.
#include "tokenizer/byte_level.h"

#include <array>

#include "tokenizer/unicode.h"

namespace plinth::engine {
namespace {

struct ByteLevelTables {
  std::array<std::string, 256> byte_to_utf8;
  // Every spelling is below U+0144; -1 marks code points that spell no byte.
  std::array<int16_t, 0x144> codepoint_to_byte;

  ByteLevelTables() {
    codepoint_to_byte.fill(-1);
    // Printable Latin-1 bytes stand for themselves; the rest take code points 256, 257, ...
    auto printable = [](int b) {
      return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    };
    uint32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cp = printable(b) ? static_cast<uint32_t>(b) : next++;
      append_utf8(cp, byte_to_utf8[b]);
      codepoint_to_byte[cp] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTables& tables() {
  static const ByteLevelTables instance;
  return instance;
}

}  // namespace

const std::string& byte_level_char(uint8_t b) { return tables().byte_to_utf8[b]; }

void byte_level_encode(std::string_view raw, std::string& out) {
  const auto& t = tables();
  for (char c : raw) out += t.byte_to_utf8[static_cast<uint8_t>(c)];
}

std::string byte_level_decode(std::string_view encoded) {
  const auto& t = tables();
  std::string out;
  out.reserve(encoded.size());
  for (uint32_t cp : utf8_to_codepoints(encoded)) {
    if (cp < t.codepoint_to_byte.size() && t.codepoint_to_byte[cp] >= 0) {
      out.push_back(static_cast<char>(t.codepoint_to_byte[cp]));
    } else {
      append_utf8(cp, out);
    }
  }
  return out;
}

}  // namespace plinth::engine
