// Fuzzes Office Open XML intake: the zip package (libzip, with its entry, size and ratio bounds)
// and the XML of .docx and .xlsx parts (libxml2, DTDs refused), through both readers and the
// media-type dispatch.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/documents/parsing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::documents;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  for (std::string_view type : {kDocxMediaType, kXlsxMediaType}) {
    if (auto parsed = parse_document(type, input)) {
      if (!is_valid_utf8(parsed->text)) __builtin_trap();  // stored and served as JSON text
      if (parsed->text.empty()) __builtin_trap();          // empty documents are refused
    }
  }
  return 0;
}
