// Fuzz harness: Anthropic Messages bodies (InvokeModel on a text model), straight to the parser
// and through parse_invoke_request's format detection.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "api/anthropic_messages_request.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/catalog/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const plinth::catalog::ModelEntry text = [] {
    plinth::catalog::ModelEntry entry;
    entry.id = "fuzz-text";
    return entry;
  }();
  const plinth::api::RequestLimits limits;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)plinth::api::parse_invoke_request(body, text, limits);
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(body, ec);
  if (!ec && parsed.is_object())
    (void)plinth::api::parse_anthropic_messages(parsed.as_object(), limits);
  return 0;
}
