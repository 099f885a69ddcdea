// Fuzzes PDF intake (poppler through parse_pdf and the media-type dispatch).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/documents/parsing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::documents;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto parsed = parse_document("application/pdf", input)) {
    if (!is_valid_utf8(parsed->text)) __builtin_trap();  // stored and served as JSON text
  }
  return 0;
}
