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

// Accumulates an SSE chat-completions stream fed in arbitrary byte pieces: hands each piece
// on (text, tool-call starts, argument fragments) as it is decoded, and builds the final
// InferenceResponse (content, stop reason, usage). A server that ignores `stream` and answers one
// JSON chat completion (its body starts with
// '{') is accepted too: its content is handed on as events when the body is complete.
class ChatStreamParser {
 public:
  // on_event may be empty (nothing streams on); it returns false to stop (the caller went away).
  explicit ChatStreamParser(providers::StreamCallback on_event);

  // kUnavailable on a malformed event or an event line past kMaxLineBytes; kCancelled when
  // on_event returned false.
  Status feed(std::string_view bytes);
  // After the body ended: the answer (kUnavailable when the stream ended before [DONE] or a
  // finish_reason).
  Result<providers::InferenceResponse> finish();

  static constexpr size_t kMaxLineBytes = 4 * 1024 * 1024;
  static constexpr size_t kMaxToolCalls = 128;
  static constexpr size_t kMaxJsonBytes = 64 * 1024 * 1024;

 private:
  Status on_line(std::string_view line);
  Status on_chunk(std::string_view json_text);

  providers::StreamCallback on_event_;
  std::string pending_;  // an incomplete line
  providers::InferenceResponse response_;
  std::string text_;
  struct ToolCall {
    std::string id, name, arguments;
  };
  std::vector<ToolCall> tool_calls_;  // by the upstream's index
  int open_tool_ = -1;                // the last index whose block opened in the caller's stream
  bool tool_open_ = false;            // ... and it is still open there (no text came since)
  bool finished_ = false;
  bool done_ = false;
  enum class Format { kUnknown, kEvents, kJson } format_ = Format::kUnknown;
  std::string json_;  // Format::kJson: the whole body
};

}  // namespace plinth::upstream::openai
