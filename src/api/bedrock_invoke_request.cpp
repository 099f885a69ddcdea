// InvokeModel body recognition and the Meta Llama request format (embedding bodies:
// bedrock_embedding_request.cpp).
#include "anthropic_messages_request.h"
#include "bedrock_embedding_request.h"
#include "json_input.h"
#include "plinth/api/bedrock_invoke.h"
#include "shared_validation.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using json_input::malformed;

Result<providers::InferenceRequest> parse_llama(const json::object& body,
                                                const RequestLimits& limits) {
  auto prompt = json_input::optional_string(body, "prompt", "prompt");
  if (!prompt) return std::unexpected(prompt.error());
  if (!*prompt || (*prompt)->empty()) return malformed("prompt", "a non-empty prompt is required");
  providers::InferenceRequest request;
  request.messages.push_back(
      providers::Message{providers::Role::kUser, {shared_validation::text_block(**prompt)}});
  auto max_gen_len = shared_validation::max_tokens(body, "max_gen_len", "max_gen_len", limits);
  if (!max_gen_len) return std::unexpected(max_gen_len.error());
  request.max_tokens = max_gen_len->value_or(limits.default_max_tokens);
  request.max_tokens_defaulted = !max_gen_len->has_value();
  auto temperature = json_input::optional_float_in_range(body, "temperature", "temperature", 0, 1);
  if (!temperature) return std::unexpected(temperature.error());
  request.temperature = *temperature;
  auto top_p = json_input::optional_float_in_range(body, "top_p", "top_p", 0, 1);
  if (!top_p) return std::unexpected(top_p.error());
  request.top_p = *top_p;
  return request;
}

Result<InvokeBodyFormat> detect_format(const json::object& body) {
  if (body.contains("inputText")) return InvokeBodyFormat::kTitanEmbedding;
  if (body.contains("texts")) return InvokeBodyFormat::kCohereEmbedding;
  if (body.contains("anthropic_version") || body.contains("messages")) {
    return InvokeBodyFormat::kAnthropicMessages;
  }
  if (body.contains("prompt")) return InvokeBodyFormat::kMetaLlama;
  return malformed("",
                   "the body matches no supported model format (Anthropic Messages with "
                   "anthropic_version, Meta Llama with prompt, Titan Embeddings with inputText, "
                   "Cohere Embed with texts)");
}

}  // namespace

Result<InvokeRequest> parse_invoke_request(std::string_view body, const catalog::ModelEntry& model,
                                           const RequestLimits& limits) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  auto format = detect_format(*parsed);
  if (!format) return std::unexpected(format.error());
  bool embedding_body = is_embedding_format(*format);
  bool embedding_model = model.kind == catalog::ModelKind::kEmbedding;
  if (embedding_body != embedding_model) {
    return fail(ErrorCode::kInvalidArgument,
                embedding_model
                    ? "Malformed input request: " + model.id +
                          " is an embedding model; send {\"inputText\": ...} or {\"texts\": [...]}"
                    : "Malformed input request: " + model.id +
                          " is a text model; inputText and texts bodies are for embedding models");
  }
  InvokeRequest request;
  request.format = *format;
  switch (*format) {
    case InvokeBodyFormat::kTitanEmbedding:
    case InvokeBodyFormat::kCohereEmbedding: {
      auto embedding = *format == InvokeBodyFormat::kTitanEmbedding
                           ? parse_titan_embedding(*parsed)
                           : parse_cohere_embedding(*parsed);
      if (!embedding) return std::unexpected(embedding.error());
      request.embedding = std::move(*embedding);
      request.embedding.request.model_id = model.id;
      return request;
    }
    case InvokeBodyFormat::kAnthropicMessages: {
      auto inference = parse_anthropic_messages(*parsed, limits);
      if (!inference) return std::unexpected(inference.error());
      request.inference = std::move(*inference);
      break;
    }
    case InvokeBodyFormat::kMetaLlama: {
      auto inference = parse_llama(*parsed, limits);
      if (!inference) return std::unexpected(inference.error());
      request.inference = std::move(*inference);
      break;
    }
  }
  request.inference.model_id = model.id;
  return request;
}

}  // namespace plinth::api
