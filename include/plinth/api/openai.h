// OpenAI-compatible wire formats: /v1/chat/completions (with SSE chunks) and /v1/embeddings.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/request_limits.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

struct ChatCompletionRequest {
  std::string model;  // as the caller named it (id, alias or ARN); resolve with the catalog
  bool stream = false;
  bool include_usage = false;             // stream_options.include_usage
  providers::InferenceRequest inference;  // model_id left empty
};

Result<ChatCompletionRequest> parse_chat_completion_request(std::string_view body,
                                                            const RequestLimits& limits);

// "stop" | "length" | "tool_calls" | "content_filter"
std::string_view openai_finish_reason(providers::StopReason reason);

// A "chat.completion" object. id: "chatcmpl-…"; created: unix seconds.
std::string chat_completion_response_json(const providers::InferenceResponse& response,
                                          std::string_view id, std::string_view model,
                                          int64_t created);

// The "chat.completion.chunk" objects of a stream, each to be sent as one SSE `data:` line,
// followed by the literal `[DONE]`. One instance per stream.
class ChatCompletionStreamWriter {
 public:
  ChatCompletionStreamWriter(std::string id, std::string model, int64_t created);
  // The first chunk: delta {"role":"assistant","content":""}.
  std::string start();
  // The chunk for one streamed piece of the answer: content, or a tool call (its first chunk
  // carries index, id and name; later ones argument fragments). nullopt for an empty piece.
  std::optional<std::string> delta(const providers::StreamEvent& piece);
  // The content when nothing was streamed, the finish_reason chunk, the usage chunk when asked
  // for, and finally "[DONE]".
  std::vector<std::string> finish(const providers::InferenceResponse& response, bool include_usage);
  // An error after the stream began: {"error":{...}} as a data line, then "[DONE]".
  static std::vector<std::string> error(const Error& error);

 private:
  std::string chunk(std::string_view delta_json, std::string_view finish_reason_json) const;

  std::string id_;
  std::string model_;
  int64_t created_;
  bool streamed_ = false;
  int64_t tool_calls_ = 0;  // tool calls opened so far; the last one takes argument fragments
};

inline constexpr std::string_view kSseDone = "[DONE]";

struct EmbeddingsRequest {
  std::string model;
  std::vector<std::string> inputs;
  int32_t dimensions = 0;  // 0: the model's own
  bool base64 = false;     // encoding_format "base64": little-endian float32, base64-encoded
};

Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body,
                                                   const RequestLimits& limits);

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":[...]}],"model",
//  "usage":{"prompt_tokens","total_tokens"}}
std::string embeddings_response_json(const std::vector<providers::EmbeddingResponse>& embeddings,
                                     std::string_view model, bool base64);

}  // namespace plinth::api
