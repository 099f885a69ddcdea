// Fuzz harness: the regex compiler and its automaton, through a schema's "pattern". Input is
// PATTERN '\0' TEXT (no '\0': the whole input is the pattern and the text is empty).
#include <boost/json.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/structured/structured.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  size_t split = input.find('\0');
  std::string_view pattern = input.substr(0, split);
  std::string_view text = split == std::string_view::npos ? "" : input.substr(split + 1);
  boost::json::object schema{{"type", "string"}, {"pattern", boost::json::string(pattern)}};
  std::string schema_text = boost::json::serialize(schema);
  auto compiled = plinth::structured::compile_schema_uncached(schema_text);
  // Matching: the validator decides the pattern with the same automaton, in linear time.
  std::string instance = boost::json::serialize(boost::json::string(text));
  (void)plinth::structured::validate(schema_text, instance);
  if (compiled) {
    plinth::structured::JsonMatcher m(*compiled);
    (void)m.feed(std::string_view(instance));
    (void)m.is_complete();
  }
  return 0;
}
