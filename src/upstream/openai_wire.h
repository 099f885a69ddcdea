// OpenAI chat-completions wire format for the `openai` provider kind: the request body built
// from an InferenceRequest, the answer parsed back, and the SSE stream's chunks accumulated.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::upstream::openai {

// POST {base}/chat/completions body. Structured output: response_format json_schema (strict),
// or the forced tool as tool_choice; stream adds stream_options.include_usage.
std::string chat_request_body(const providers::InferenceRequest& request, bool stream);
// POST {base}/embeddings body.
std::string embeddings_request_body(const providers::EmbeddingRequest& request);

// A non-streamed chat completion. kUnavailable on a body that is not one (the upstream broke
// its protocol: a server-side fault, not the caller's).
Result<providers::InferenceResponse> parse_chat_response(std::string_view body);
Result<providers::EmbeddingResponse> parse_embeddings_response(std::string_view body);
// The message of an OpenAI error body {"error":{"message":…}} (the raw body, cut, otherwise).
std::string error_message(std::string_view body);

// One piece of a streamed answer, in order (what providers::StreamEvent carries).
struct ChatDelta {
  enum class Kind { kText, kToolUseStart, kToolUseInput } kind = Kind::kText;
  std::string_view text;         // kText, kToolUseInput
  std::string_view tool_use_id;  // kToolUseStart
  std::string_view tool_name;    // kToolUseStart
};

// Accumulates an SSE chat-completions stream fed in arbitrary byte pieces: hands each delta
// on as it is decoded, and builds the final InferenceResponse (content, stop reason, usage).
class ChatStreamParser {
 public:
  // Return false to stop (the caller went away).
  using OnDelta = std::function<bool(const ChatDelta&)>;
  explicit ChatStreamParser(OnDelta on_delta);

  // kUnavailable on a malformed event or an event line past kMaxLineBytes; kCancelled when
  // on_delta returned false.
  Status feed(std::string_view bytes);
  // After the body ended: the answer (kUnavailable when the stream ended before [DONE] or a
  // finish_reason).
  Result<providers::InferenceResponse> finish();

  static constexpr size_t kMaxLineBytes = 4 * 1024 * 1024;
  static constexpr size_t kMaxToolCalls = 128;

 private:
  Status on_line(std::string_view line);
  Status on_chunk(std::string_view json_text);

  OnDelta on_delta_;
  std::string pending_;  // an incomplete line
  providers::InferenceResponse response_;
  std::string text_;
  struct ToolCall {
    std::string id, name, arguments;
  };
  std::vector<ToolCall> tool_calls_;  // by the upstream's index
  int open_tool_ = -1;                // the index whose block is open in the caller's stream
  bool finished_ = false;
  bool done_ = false;
};

}  // namespace plinth::upstream::openai
