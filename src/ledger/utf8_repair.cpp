// Replacing invalid UTF-8 in stored text before it reaches a JSON writer.
#include "utf8_repair.h"

#include "plinth/core/encoding.h"

namespace plinth::ledger {

std::string repaired_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  size_t i = 0;
  while (i < text.size()) {
    auto lead = static_cast<unsigned char>(text[i]);
    size_t length = lead < 0x80 ? 1 : (lead & 0xe0) == 0xc0 ? 2 : (lead & 0xf0) == 0xe0 ? 3 : 4;
    std::string_view sequence = text.substr(i, length);
    if (sequence.size() == length && is_valid_utf8(sequence)) {
      out += sequence;
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace plinth::ledger
