// Fuzz harness: Bedrock Runtime request bodies (Converse, InvokeModel on text and embedding
// models, event-stream chunk payloads) and the modelId of the URL path, from arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/api/bedrock_converse.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/catalog/catalog.h"

namespace {

plinth::catalog::ModelEntry model(plinth::catalog::ModelKind kind) {
  plinth::catalog::ModelEntry entry;
  entry.id = kind == plinth::catalog::ModelKind::kText ? "fuzz-text" : "fuzz-embed";
  entry.kind = kind;
  return entry;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const plinth::catalog::ModelEntry text = model(plinth::catalog::ModelKind::kText);
  static const plinth::catalog::ModelEntry embed = model(plinth::catalog::ModelKind::kEmbedding);
  const plinth::api::RequestLimits limits;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)plinth::api::parse_converse_request(body, limits);
  (void)plinth::api::parse_invoke_request(body, text, limits);
  (void)plinth::api::parse_invoke_request(body, embed, limits);
  (void)plinth::api::decode_chunk_payload(body);
  if (size < 2048) (void)plinth::catalog::parse_model_reference(body);
  return 0;
}
