// Fuzzes document intake of text formats: HTML to text, the text/markdown paths, multipart
// bodies (the first line is the Content-Type), chunking of what comes out.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/documents/parsing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::documents;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  if (auto text = html_to_text(input)) {
    if (text->size() > input.size() * 4 + 16) __builtin_trap();  // decoding never inflates much
  }
  for (std::string_view type :
       {"text/html", "text/plain", "text/markdown", "text/html; charset=utf-8"}) {
    if (auto parsed = parse_document(normalized_media_type(type), input)) {
      (void)chunk_text(parsed->text, {.max_words = 8, .overlap_words = 2});
    }
  }
  size_t eol = input.find('\n');
  if (eol != std::string_view::npos) {
    (void)normalized_media_type(input.substr(0, eol));
    (void)parse_multipart_file(input.substr(0, eol), input.substr(eol + 1));
  }
  return 0;
}
