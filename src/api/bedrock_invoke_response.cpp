// InvokeModel response bodies (Anthropic, Llama) and InvokeModelWithResponseStream chunks.
#include <algorithm>
#include <boost/json.hpp>
#include <iterator>

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

json::object invocation_metrics(const providers::InferenceResponse& response,
                                int64_t first_byte_latency_ms) {
  const providers::Usage& usage = response.usage;
  json::object metrics{{"inputTokenCount", usage.input_tokens - usage.cache_read_input_tokens -
                                               usage.cache_write_input_tokens},
                       {"outputTokenCount", usage.output_tokens},
                       {"invocationLatency", response.latency_ms},
                       {"firstByteLatency", first_byte_latency_ms}};
  if (usage.cache_read_input_tokens > 0) {
    metrics["cacheReadInputTokenCount"] = usage.cache_read_input_tokens;
  }
  if (usage.cache_write_input_tokens > 0) {
    metrics["cacheWriteInputTokenCount"] = usage.cache_write_input_tokens;
  }
  return metrics;
}

}  // namespace

json::object anthropic_usage_json(const providers::Usage& usage) {
  return json::object{{"input_tokens", usage.input_tokens - usage.cache_read_input_tokens -
                                           usage.cache_write_input_tokens},
                      {"output_tokens", usage.output_tokens},
                      {"cache_creation_input_tokens", usage.cache_write_input_tokens},
                      {"cache_read_input_tokens", usage.cache_read_input_tokens}};
}

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
                   {"usage", anthropic_usage_json(response.usage)}};
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

std::vector<StreamEvent> InvokeStreamWriter::close_block() {
  if (open_ == Block::kNone) return {};
  open_ = Block::kNone;
  return {chunk(json::object{{"type", "content_block_stop"}, {"index", index_++}})};
}

std::vector<StreamEvent> InvokeStreamWriter::delta(const providers::StreamEvent& piece) {
  using Kind = providers::StreamEvent::Kind;
  if (format_ == InvokeBodyFormat::kMetaLlama) {  // Llama bodies carry text only
    if (piece.kind != Kind::kText || piece.text.empty()) return {};
    streamed_ = true;
    ++generated_chunks_;
    return {chunk(json::object{{"generation", piece.text},
                               {"prompt_token_count", nullptr},
                               {"generation_token_count", generated_chunks_},
                               {"stop_reason", nullptr}})};
  }
  std::vector<StreamEvent> events;
  switch (piece.kind) {
    case Kind::kText:
      if (piece.text.empty()) return events;
      if (open_ != Block::kText) {
        events = close_block();
        open_ = Block::kText;
        events.push_back(chunk(json::object{{"type", "content_block_start"},
                                            {"index", index_},
                                            {"content_block", {{"type", "text"}, {"text", ""}}}}));
      }
      events.push_back(
          chunk(json::object{{"type", "content_block_delta"},
                             {"index", index_},
                             {"delta", {{"type", "text_delta"}, {"text", piece.text}}}}));
      break;
    case Kind::kToolUseStart:
      events = close_block();
      open_ = Block::kToolUse;
      events.push_back(chunk(json::object{{"type", "content_block_start"},
                                          {"index", index_},
                                          {"content_block",
                                           {{"type", "tool_use"},
                                            {"id", piece.tool_use_id},
                                            {"name", piece.tool_name},
                                            {"input", json::object()}}}}));
      break;
    case Kind::kToolUseInput:
      if (piece.text.empty() || open_ != Block::kToolUse) return events;
      events.push_back(chunk(
          json::object{{"type", "content_block_delta"},
                       {"index", index_},
                       {"delta", {{"type", "input_json_delta"}, {"partial_json", piece.text}}}}));
      break;
  }
  streamed_ = true;
  ++generated_chunks_;
  return events;
}

std::vector<StreamEvent> InvokeStreamWriter::finish(const providers::InferenceResponse& response,
                                                    int64_t first_byte_latency_ms) {
  std::vector<StreamEvent> events;
  if (!streamed_) {  // a provider that answered without streaming
    providers::replay_content(response.content, [&](const providers::StreamEvent& piece) {
      std::ranges::move(delta(piece), std::back_inserter(events));
      return true;
    });
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
  std::ranges::move(close_block(), std::back_inserter(events));
  events.push_back(chunk(json::object{
      {"type", "message_delta"},
      {"delta", json::object{{"stop_reason", anthropic_stop_reason(response.stop_reason)},
                             {"stop_sequence", anthropic_stop_sequence(response)}}},
      // With the prompt-cache counts, which Anthropic's streams also report here.
      {"usage",
       json::object{{"output_tokens", response.usage.output_tokens},
                    {"cache_creation_input_tokens", response.usage.cache_write_input_tokens},
                    {"cache_read_input_tokens", response.usage.cache_read_input_tokens}}}}));
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
