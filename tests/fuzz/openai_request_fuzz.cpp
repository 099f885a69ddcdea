// Fuzz harness: OpenAI-compatible request bodies (/v1/chat/completions, /v1/embeddings).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/api/openai.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const plinth::api::RequestLimits limits;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)plinth::api::parse_chat_completion_request(body, limits);
  (void)plinth::api::parse_embeddings_request(body, limits);
  return 0;
}
