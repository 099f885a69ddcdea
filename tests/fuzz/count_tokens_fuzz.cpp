// Fuzz harness: CountTokens request bodies from arbitrary bytes, through the envelope and then
// the Converse or InvokeModel parser the gateway hands the inner body to.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/api/bedrock_converse.h"
#include "plinth/api/bedrock_count_tokens.h"
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
  auto input = plinth::api::parse_count_tokens_request(body);
  if (!input) return 0;
  if (input->kind == plinth::api::CountTokensInput::Kind::kConverse) {
    (void)plinth::api::parse_converse_request(input->converse, limits);
  } else {
    (void)plinth::api::parse_invoke_request(input->body, text, limits);
  }
  return 0;
}
