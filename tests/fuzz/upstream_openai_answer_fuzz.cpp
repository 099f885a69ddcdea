// Fuzz harness: what an OpenAI-compatible upstream answers (chat completions, embeddings, error
// bodies, and SSE streams fed in pieces whose size the first byte picks).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upstream/openai_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::upstream::openai;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)parse_chat_response(body);
  (void)parse_embeddings_response(body);
  (void)error_message(body);
  size_t step = size == 0 ? 1 : 1 + data[0] % 64;
  ChatStreamParser parser(
      [](const plinth::providers::StreamEvent& event) { return event.text.size() != 999; });
  for (size_t i = 0; i < body.size(); i += step) {
    if (!parser.feed(body.substr(i, step))) return 0;
  }
  (void)parser.finish();
  return 0;
}
