// Fuzz harness: what an `anthropic` upstream answers — a message body, an error body, and an SSE
// stream fed in pieces whose sizes the input's first byte chooses.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upstream/anthropic_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::upstream::anthropic;
  if (size == 0) return 0;
  const size_t piece = 1 + data[0] % 64;
  std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  (void)parse_message(bytes, OutputPlan{});
  (void)parse_message(bytes, OutputPlan{true, true});
  (void)upstream_error("fuzz", 400 + data[0] % 200, bytes);
  for (OutputPlan plan : {OutputPlan{}, OutputPlan{true, false}}) {
    MessageStreamParser parser("fuzz", plan, [](const plinth::providers::StreamEvent& event) {
      return event.text.size() != 3;  // sometimes the caller goes away
    });
    bool failed = false;
    for (size_t i = 0; i < bytes.size() && !failed; i += piece) {
      failed = !parser.feed(bytes.substr(i, piece)).has_value();
    }
    if (!failed) (void)parser.finish();
  }
  return 0;
}
