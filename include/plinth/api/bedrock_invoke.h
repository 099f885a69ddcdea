// Bedrock Runtime InvokeModel / InvokeModelWithResponseStream bodies: Anthropic Messages,
// Meta Llama, Titan Text Embeddings V2 and Cohere Embed v3, their responses and chunk streams.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/bedrock_embeddings.h"
#include "plinth/api/request_limits.h"
#include "plinth/api/stream_event.h"
#include "plinth/catalog/catalog.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

enum class InvokeBodyFormat { kAnthropicMessages, kMetaLlama, kTitanEmbedding, kCohereEmbedding };

struct InvokeRequest {
  InvokeBodyFormat format = InvokeBodyFormat::kAnthropicMessages;
  providers::InferenceRequest inference;  // Anthropic and Llama
  EmbeddingInvocation embedding;          // Titan and Cohere
};

inline bool is_embedding_format(InvokeBodyFormat format) {
  return format == InvokeBodyFormat::kTitanEmbedding ||
         format == InvokeBodyFormat::kCohereEmbedding;
}

// Recognises the body's format from its fields and checks it fits the model's kind (text
// bodies on text models, Titan and Cohere bodies on embedding models). model_id fields are set
// to model.id. Titan `dimensions` must be 256, 512 or 1024 and Cohere vectors are 1024 wide;
// whether the local model is that wide is the provider's check.
Result<InvokeRequest> parse_invoke_request(std::string_view body, const catalog::ModelEntry& model,
                                           const RequestLimits& limits);

// Anthropic: "end_turn" | "max_tokens" | "stop_sequence" | "tool_use". Llama: "stop" | "length".
std::string_view anthropic_stop_reason(providers::StopReason reason);
std::string_view llama_stop_reason(providers::StopReason reason);

// Anthropic's usage object: input_tokens excludes the prompt-cache counts, which have their own
// fields (cache_creation_input_tokens, cache_read_input_tokens).
boost::json::object anthropic_usage_json(const providers::Usage& usage);

// The InvokeModel response body for a text format. message_id: "msg_…" (Anthropic only).
std::string invoke_response_json(InvokeBodyFormat format,
                                 const providers::InferenceResponse& response,
                                 std::string_view message_id);

// InvokeModelWithResponseStream: every event is a "chunk" whose payload is
// {"bytes":"<base64 of the model's own stream event JSON>"}. One instance per stream.
class InvokeStreamWriter {
 public:
  InvokeStreamWriter(InvokeBodyFormat format, std::string message_id, std::string model_id);
  std::vector<StreamEvent> start();
  // The chunks for one streamed piece of the answer (content_block_start/delta/stop for
  // Anthropic bodies; Llama bodies carry text only).
  std::vector<StreamEvent> delta(const providers::StreamEvent& piece);
  // Closes the open block (emitting the response's content when nothing was streamed) and ends
  // with the invocation metrics.
  std::vector<StreamEvent> finish(const providers::InferenceResponse& response,
                                  int64_t first_byte_latency_ms);
  static StreamEvent exception(const Error& error);

 private:
  enum class Block { kNone, kText, kToolUse };
  std::vector<StreamEvent> close_block();

  InvokeBodyFormat format_;
  std::string message_id_;
  std::string model_id_;
  Block open_ = Block::kNone;
  int64_t index_ = 0;  // the open block's index, or the next block's when none is open
  bool streamed_ = false;
  int64_t generated_chunks_ = 0;
};

// Decodes one "chunk" payload back into the model's event JSON (tests and clients).
Result<std::string> decode_chunk_payload(std::string_view payload_json);

}  // namespace plinth::api
