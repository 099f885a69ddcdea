// Anthropic Messages API wire format (POST /v1/messages): the request, the message response and
// the SSE event sequence of a streamed answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/request_limits.h"
#include "plinth/core/result.h"
#include "plinth/http/sse.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

struct AnthropicMessagesRequest {
  std::string model;  // as the caller named it (id, alias or ARN); resolve with the catalog
  bool stream = false;
  std::optional<std::string> metadata_user_id;  // metadata.user_id: the caller's end user
  providers::InferenceRequest inference;        // model_id left empty
};

// The Messages API body: model and max_tokens required; system (a string or text blocks),
// messages (text, image, document, tool_use, tool_result blocks), tools, tool_choice
// (auto, any, tool, none), stop_sequences, temperature, top_p, top_k, metadata, stream.
Result<AnthropicMessagesRequest> parse_anthropic_messages_request(std::string_view body,
                                                                  const RequestLimits& limits);

// A "message" object. id: "msg_…"; model: the name to report.
std::string anthropic_message_json(const providers::InferenceResponse& response,
                                   std::string_view id, std::string_view model);

// The SSE events of one streamed message, in Anthropic's order: message_start,
// content_block_start, ping (once, after the first block opens), content_block_delta
// (text_delta / input_json_delta), content_block_stop, message_delta (stop_reason, usage),
// message_stop. One instance per stream.
class AnthropicStreamWriter {
 public:
  AnthropicStreamWriter(std::string id, std::string model);
  std::vector<http::SseEvent> start();
  // One streamed piece of the answer: text, tool_use_start or tool_input below.
  std::vector<http::SseEvent> delta(const providers::StreamEvent& piece);
  // Text for the open text block (opening one, and closing an open tool-use block, first).
  std::vector<http::SseEvent> text(std::string_view text);
  // Opens a tool_use block (closing the open block); tool_input adds a fragment of its input.
  std::vector<http::SseEvent> tool_use_start(std::string_view id, std::string_view name);
  std::vector<http::SseEvent> tool_input(std::string_view partial_json);
  // The response's content that was not streamed (its text when none was, its tool uses past
  // those streamed), the open block's stop, message_delta and message_stop.
  std::vector<http::SseEvent> finish(const providers::InferenceResponse& response);
  // An error after the stream began: `event: error` with Anthropic's error body.
  static http::SseEvent error(const Error& error);

 private:
  std::vector<http::SseEvent> open_block(std::string_view content_block_json);
  void close_block(std::vector<http::SseEvent>& events);

  std::string id_;
  std::string model_;
  int64_t index_ = -1;  // the open or last closed block's index
  enum class Open { kNone, kText, kToolUse } open_ = Open::kNone;
  bool pinged_ = false;
  bool streamed_text_ = false;
  size_t streamed_tool_uses_ = 0;
};

}  // namespace plinth::api
