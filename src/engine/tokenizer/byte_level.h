// GPT-2's byte-to-unicode map: byte-level BPE vocabularies spell every byte as a printable
// code point ("Ġ" for a space), so token texts are valid UTF-8.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace plinth::engine {

// The UTF-8 spelling of byte b in a byte-level vocabulary.
const std::string& byte_level_char(uint8_t b);
// Appends the byte-level spelling of each byte of `raw`.
void byte_level_encode(std::string_view raw, std::string& out);
// Inverts byte_level_encode; code points outside the map are kept as their UTF-8 bytes.
std::string byte_level_decode(std::string_view encoded);

}  // namespace plinth::engine
