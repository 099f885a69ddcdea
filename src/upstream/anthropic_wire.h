// Anthropic Messages wire format for the `anthropic` provider kind: the request body built from
// an InferenceRequest, the answer parsed back, and the SSE stream's events decoded into
// providers::StreamEvents.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/http/sse.h"
#include "plinth/providers/provider.h"

namespace plinth::upstream::anthropic {

inline constexpr std::string_view kApiVersion = "2023-06-01";  // the anthropic-version header
// Structured output without a forced tool: this tool, forced, with the schema as its input; its
// input comes back as the answer's text. A schema that is not an object is wrapped as the
// tool's one property `value` (Anthropic's input_schema must describe an object).
inline constexpr std::string_view kOutputTool = "json_output";

// How a request's structured output travels, decided by messages_request_body.
struct OutputPlan {
  bool via_tool = false;  // the answer is kOutputTool's input
  bool wrapped = false;   // ... under the property "value"
};

// POST {base}/v1/messages body: system, turns (text, documents as their text, images, tool
// uses, tool results), tools and tool_choice (the forced tool), stop sequences, sampling, and
// structured output through kOutputTool.
std::string messages_request_body(const providers::InferenceRequest& request, bool stream,
                                  OutputPlan* plan);

// A non-streamed message. kUnavailable on a body that is not one (the upstream broke its
// protocol: a server-side fault, not the caller's).
Result<providers::InferenceResponse> parse_message(std::string_view body, const OutputPlan& plan);

// An Anthropic error body {"type":"error","error":{"type","message"}} with its HTTP status as an
// Error: overloaded_error (529) and rate_limit_error (429) -> kThrottled (ThrottlingException),
// otherwise by status, with the upstream's message.
Error upstream_error(std::string_view provider_id, int status, std::string_view body);

// Decodes an SSE messages stream fed in arbitrary byte pieces: hands each event on as it is
// decoded and builds the final InferenceResponse (content, stop reason, usage).
class MessageStreamParser {
 public:
  MessageStreamParser(std::string provider_id, OutputPlan plan, providers::StreamCallback on_event);

  // kUnavailable on a malformed event, an event past kMaxEventBytes, an answer past
  // kMaxAnswerBytes or more than kMaxBlocks blocks; the upstream's error event as its Error;
  // kCancelled when on_event returned false.
  Status feed(std::string_view bytes);
  // After the body ended: the answer (kUnavailable when the stream ended before message_stop).
  Result<providers::InferenceResponse> finish();

  static constexpr size_t kMaxEventBytes = 4 * 1024 * 1024;
  static constexpr size_t kMaxAnswerBytes = 64 * 1024 * 1024;
  static constexpr size_t kMaxBlocks = 256;

 private:
  Status on_event(const http::SseEvent& sse);
  Status emit(const providers::StreamEvent& event);

  std::string provider_id_;
  OutputPlan plan_;
  providers::StreamCallback on_event_;
  http::SseParser sse_;
  size_t buffered_ = 0;      // bytes fed since the last complete event
  size_t answer_bytes_ = 0;  // text and tool input received so far
  providers::InferenceResponse response_;
  std::vector<providers::ContentBlock> blocks_;  // by the upstream's index
  bool output_block_ = false;  // the open block is kOutputTool's (its input is the answer text)
  bool stopped_ = false;       // message_stop seen
};

}  // namespace plinth::upstream::anthropic
