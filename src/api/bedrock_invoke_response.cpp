// InvokeModel response bodies (Anthropic, Llama) and InvokeModelWithResponseStream chunks.
#include <boost/json.hpp>

#include "json_input.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/api/errors.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

json::value anthropic_stop_sequence(const providers::InferenceResponse& response) {
  if (response.stop_reason != providers::StopReason::kStopSequence) return nullptr;
  return json::value(response.stop_sequence);
}

StreamEvent chunk(const json::object& model_event) {
  json::object payload{{"bytes", base64_encode(json::serialize(model_event))}};
  return StreamEvent{StreamEvent::Kind::kEvent, "chunk", json::serialize(payload)};
}

// Anthropic's usage: input_tokens leaves out the prompt-cache reads and writes.
json::object anthropic_usage(const providers::Usage& usage, bool with_input) {
  json::object out;
  if (with_input) {
    out["input_tokens"] =
        usage.input_tokens - usage.cache_read_input_tokens - usage.cache_write_input_tokens;
  }
  out["cache_creation_input_tokens"] = usage.cache_write_input_tokens;
  out["cache_read_input_tokens"] = usage.cache_read_input_tokens;
  out["output_tokens"] = usage.output_tokens;
  return out;
}

json::object invocation_metrics(const providers::InferenceResponse& response,
                                int64_t first_byte_latency_ms) {
  return json::object{{"inputTokenCount", response.usage.input_tokens},
                      {"outputTokenCount", response.usage.output_tokens},
                      {"invocationLatency", response.latency_ms},
                      {"firstByteLatency", first_byte_latency_ms}};
}

}  // namespace

std::string_view anthropic_stop_reason(providers::StopReason reason) {
  switch (reason) {
    case providers::StopReason::kMaxTokens:
      return "max_tokens";
    case providers::StopReason::kStopSequence:
      return "stop_sequence";
    case providers::StopReason::kToolUse:
      return "tool_use";
    case providers::StopReason::kEndTurn:
    case providers::StopReason::kContentFiltered:
      return "end_turn";
  }
  return "end_turn";
}

std::string_view llama_stop_reason(providers::StopReason reason) {
  return reason == providers::StopReason::kMaxTokens ? "length" : "stop";
}

std::string invoke_response_json(InvokeBodyFormat format,
                                 const providers::InferenceResponse& response,
                                 std::string_view message_id) {
  if (format == InvokeBodyFormat::kMetaLlama) {
    std::string generation;
    for (const ContentBlock& block : response.content) {
      if (block.kind == ContentBlock::Kind::kText) generation += block.text;
    }
    return json::serialize(json::object{{"generation", generation},
                                        {"prompt_token_count", response.usage.input_tokens},
                                        {"generation_token_count", response.usage.output_tokens},
                                        {"stop_reason", llama_stop_reason(response.stop_reason)}});
  }
  json::array content;
  for (const ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kText) {
      content.push_back(json::object{{"type", "text"}, {"text", block.text}});
    } else if (block.kind == ContentBlock::Kind::kToolUse) {
      content.push_back(
          json::object{{"type", "tool_use"},
                       {"id", block.tool_use_id},
                       {"name", block.tool_name},
                       {"input", json_input::tool_input_value(block.tool_input_json)}});
    }
  }
  json::object out{{"id", message_id},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", response.model_id},
                   {"content", std::move(content)},
                   {"stop_reason", anthropic_stop_reason(response.stop_reason)},
                   {"stop_sequence", anthropic_stop_sequence(response)},
                   {"usage", anthropic_usage(response.usage, true)}};
  return json::serialize(out);
}

InvokeStreamWriter::InvokeStreamWriter(InvokeBodyFormat format, std::string message_id,
                                       std::string model_id)
    : format_(format), message_id_(std::move(message_id)), model_id_(std::move(model_id)) {}

std::vector<StreamEvent> InvokeStreamWriter::start() {
  if (format_ != InvokeBodyFormat::kAnthropicMessages) return {};
  // Token counts are known only when generation ends; they arrive in message_delta and in the
  // invocation metrics.
  json::object message{{"id", message_id_},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", model_id_},
                       {"content", json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       {"usage", json::object{{"input_tokens", 0}, {"output_tokens", 0}}}};
  return {chunk(json::object{{"type", "message_start"}, {"message", std::move(message)}})};
}

std::vector<StreamEvent> InvokeStreamWriter::open_text_block() {
  if (text_block_open_) return {};
  text_block_open_ = true;
  return {chunk(json::object{{"type", "content_block_start"},
                             {"index", 0},
                             {"content_block", json::object{{"type", "text"}, {"text", ""}}}})};
}

std::vector<StreamEvent> InvokeStreamWriter::text_delta(std::string_view text) {
  if (text.empty()) return {};
  streamed_text_ = true;
  ++generated_chunks_;
  if (format_ == InvokeBodyFormat::kMetaLlama) {
    return {chunk(json::object{{"generation", text},
                               {"prompt_token_count", nullptr},
                               {"generation_token_count", generated_chunks_},
                               {"stop_reason", nullptr}})};
  }
  std::vector<StreamEvent> events = open_text_block();
  events.push_back(
      chunk(json::object{{"type", "content_block_delta"},
                         {"index", 0},
                         {"delta", json::object{{"type", "text_delta"}, {"text", text}}}}));
  return events;
}

std::vector<StreamEvent> InvokeStreamWriter::finish(const providers::InferenceResponse& response,
                                                    int64_t first_byte_latency_ms) {
  std::vector<StreamEvent> events;
  if (!streamed_text_) {
    for (const ContentBlock& block : response.content) {
      if (block.kind != ContentBlock::Kind::kText) continue;
      auto more = text_delta(block.text);
      events.insert(events.end(), more.begin(), more.end());
    }
  }
  json::object metrics = invocation_metrics(response, first_byte_latency_ms);
  if (format_ == InvokeBodyFormat::kMetaLlama) {
    events.push_back(chunk(json::object{{"generation", ""},
                                        {"prompt_token_count", response.usage.input_tokens},
                                        {"generation_token_count", response.usage.output_tokens},
                                        {"stop_reason", llama_stop_reason(response.stop_reason)},
                                        {"amazon-bedrock-invocationMetrics", metrics}}));
    return events;
  }
  int64_t index = 0;
  if (text_block_open_) {
    events.push_back(chunk(json::object{{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  for (const ContentBlock& block : response.content) {
    if (block.kind != ContentBlock::Kind::kToolUse) continue;
    events.push_back(
        chunk(json::object{{"type", "content_block_start"},
                           {"index", index},
                           {"content_block", json::object{{"type", "tool_use"},
                                                          {"id", block.tool_use_id},
                                                          {"name", block.tool_name},
                                                          {"input", json::object()}}}}));
    events.push_back(
        chunk(json::object{{"type", "content_block_delta"},
                           {"index", index},
                           {"delta", json::object{{"type", "input_json_delta"},
                                                  {"partial_json", block.tool_input_json}}}}));
    events.push_back(chunk(json::object{{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  events.push_back(chunk(json::object{
      {"type", "message_delta"},
      {"delta", json::object{{"stop_reason", anthropic_stop_reason(response.stop_reason)},
                             {"stop_sequence", anthropic_stop_sequence(response)}}},
      {"usage", anthropic_usage(response.usage, false)}}));
  events.push_back(chunk(json::object{{"type", "message_stop"},
                                      {"amazon-bedrock-invocationMetrics", std::move(metrics)}}));
  return events;
}

StreamEvent InvokeStreamWriter::exception(const Error& error) {
  return StreamEvent{StreamEvent::Kind::kException, std::string(stream_exception_name(error.code)),
                     bedrock_error(error).body};
}

Result<std::string> decode_chunk_payload(std::string_view payload_json) {
  boost::system::error_code ec;
  json::value payload = json::parse(payload_json, ec);
  const json::object* o = ec ? nullptr : payload.if_object();
  const json::value* bytes = o ? o->if_contains("bytes") : nullptr;
  if (bytes == nullptr || !bytes->is_string()) {
    return fail(ErrorCode::kInvalidArgument, "chunk payload has no bytes field");
  }
  auto decoded = base64_decode(bytes->as_string());
  if (!decoded) return fail(ErrorCode::kInvalidArgument, "chunk bytes are not base64");
  return *decoded;
}

}  // namespace plinth::api
