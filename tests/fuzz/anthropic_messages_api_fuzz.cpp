// Fuzz harness: Anthropic Messages API bodies (POST /v1/messages), through the request parser and,
// when one parses, into the message and stream writers with a response built from it.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/api/anthropic_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const plinth::api::RequestLimits limits;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  auto request = plinth::api::parse_anthropic_messages_request(body, limits);
  if (!request) return 0;
  // Echo the parsed request back as an answer: every string the caller chose reaches the writers.
  plinth::providers::InferenceResponse response;
  for (const auto& message : request->inference.messages) {
    for (const auto& block : message.content) {
      if (block.kind == plinth::providers::ContentBlock::Kind::kText ||
          block.kind == plinth::providers::ContentBlock::Kind::kToolUse) {
        response.content.push_back(block);
      }
    }
  }
  if (!request->inference.stop_sequences.empty()) {
    response.stop_reason = plinth::providers::StopReason::kStopSequence;
    response.stop_sequence = request->inference.stop_sequences.front();
  }
  (void)plinth::api::anthropic_message_json(response, "msg_fuzz", request->model);
  plinth::api::AnthropicStreamWriter writer("msg_fuzz", request->model);
  (void)writer.start();
  (void)writer.finish(response);
  return 0;
}
