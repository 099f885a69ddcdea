// Fuzzes the form-urlencoded and query-string parsing in core (and the percent-decoding and
// base64/hex decoders it shares), checking that encoding then decoding gives back the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/core/encoding.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto pairs = parse_form_urlencoded(input)) {
    // Re-encoded pairs parse back to the same pairs.
    std::string again;
    for (const auto& [name, value] : *pairs) {
      if (!again.empty()) again += '&';
      again += uri_encode(name) + "=" + uri_encode(value);
    }
    auto reparsed = parse_form_urlencoded(again);
    if (!reparsed || *reparsed != *pairs) __builtin_trap();
  }
  (void)uri_decode(input);
  (void)uri_decode(input, true);
  for (bool keep_slash : {false, true}) {
    auto decoded = uri_decode(uri_encode(input, keep_slash));
    if (!decoded || *decoded != input) __builtin_trap();
  }
  (void)base64_decode(input);
  (void)base64url_decode(input);
  (void)hex_decode(input);
  (void)is_valid_utf8(input);
  return 0;
}
