// InferenceResponse -> Converse response JSON, and the ConverseStream event sequence.
#include <algorithm>
#include <boost/json.hpp>
#include <iterator>

#include "json_input.h"
#include "plinth/api/bedrock_converse.h"
#include "plinth/api/errors.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

// Bedrock counts cached prompt tokens apart from inputTokens; totalTokens covers all of them.
json::object usage_json(const providers::Usage& usage) {
  const int64_t cached = usage.cache_read_input_tokens + usage.cache_write_input_tokens;
  json::object out{{"inputTokens", usage.input_tokens - cached},
                   {"outputTokens", usage.output_tokens},
                   {"totalTokens", usage.input_tokens + usage.output_tokens}};
  if (usage.cache_read_input_tokens > 0) {
    out["cacheReadInputTokens"] = usage.cache_read_input_tokens;
  }
  if (usage.cache_write_input_tokens > 0) {
    out["cacheWriteInputTokens"] = usage.cache_write_input_tokens;
  }
  return out;
}

json::object metrics_json(const providers::InferenceResponse& response) {
  return json::object{{"latencyMs", response.latency_ms}};
}

void add_trace(json::object& out, const ResponseTrace& trace) {
  if (!trace.prompt_router_invoked_model_id) return;
  out["trace"] = json::object{
      {"promptRouter", json::object{{"invokedModelId", *trace.prompt_router_invoked_model_id}}}};
}

StreamEvent event(std::string type, const json::object& payload) {
  return StreamEvent{StreamEvent::Kind::kEvent, std::move(type), json::serialize(payload)};
}

}  // namespace

std::string_view converse_stop_reason(providers::StopReason reason) {
  switch (reason) {
    case providers::StopReason::kEndTurn:
      return "end_turn";
    case providers::StopReason::kMaxTokens:
      return "max_tokens";
    case providers::StopReason::kStopSequence:
      return "stop_sequence";
    case providers::StopReason::kToolUse:
      return "tool_use";
    case providers::StopReason::kContentFiltered:
      return "content_filtered";
  }
  return "end_turn";
}

std::string converse_response_json(const providers::InferenceResponse& response,
                                   const ResponseTrace& trace) {
  json::array content;
  for (const ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kToolUse) {
      content.push_back(json::object{
          {"toolUse",
           json::object{{"toolUseId", block.tool_use_id},
                        {"name", block.tool_name},
                        {"input", json_input::tool_input_value(block.tool_input_json)}}}});
    } else if (block.kind == ContentBlock::Kind::kText) {
      content.push_back(json::object{{"text", block.text}});
    }
  }
  json::object out;
  out["output"] = json::object{
      {"message", json::object{{"role", "assistant"}, {"content", std::move(content)}}}};
  out["stopReason"] = converse_stop_reason(response.stop_reason);
  out["usage"] = usage_json(response.usage);
  out["metrics"] = metrics_json(response);
  add_trace(out, trace);
  return json::serialize(out);
}

StreamEvent ConverseStreamWriter::message_start() {
  return event("messageStart", json::object{{"role", "assistant"}});
}

std::vector<StreamEvent> ConverseStreamWriter::close_block() {
  if (open_ == Block::kNone) return {};
  open_ = Block::kNone;
  return {event("contentBlockStop", json::object{{"contentBlockIndex", index_++}})};
}

std::vector<StreamEvent> ConverseStreamWriter::delta(const providers::StreamEvent& piece) {
  using Kind = providers::StreamEvent::Kind;
  std::vector<StreamEvent> events;
  switch (piece.kind) {
    case Kind::kText:
      if (piece.text.empty()) return events;
      if (open_ == Block::kToolUse) events = close_block();
      open_ = Block::kText;  // Bedrock sends no contentBlockStart for text
      events.push_back(event("contentBlockDelta", json::object{{"delta", {{"text", piece.text}}},
                                                               {"contentBlockIndex", index_}}));
      break;
    case Kind::kToolUseStart:
      events = close_block();
      open_ = Block::kToolUse;
      events.push_back(
          event("contentBlockStart",
                json::object{
                    {"start",
                     {{"toolUse", {{"toolUseId", piece.tool_use_id}, {"name", piece.tool_name}}}}},
                    {"contentBlockIndex", index_}}));
      break;
    case Kind::kToolUseInput:
      if (piece.text.empty() || open_ != Block::kToolUse) return events;
      events.push_back(
          event("contentBlockDelta", json::object{{"delta", {{"toolUse", {{"input", piece.text}}}}},
                                                  {"contentBlockIndex", index_}}));
      break;
  }
  streamed_ = true;
  return events;
}

std::vector<StreamEvent> ConverseStreamWriter::finish(const providers::InferenceResponse& response,
                                                      const ResponseTrace& trace) {
  std::vector<StreamEvent> events;
  if (!streamed_) {  // a provider that answered without streaming
    providers::replay_content(response.content, [&](const providers::StreamEvent& piece) {
      std::ranges::move(delta(piece), std::back_inserter(events));
      return true;
    });
  }
  std::ranges::move(close_block(), std::back_inserter(events));
  events.push_back(event("messageStop",
                         json::object{{"stopReason", converse_stop_reason(response.stop_reason)}}));
  json::object metadata{{"usage", usage_json(response.usage)}, {"metrics", metrics_json(response)}};
  add_trace(metadata, trace);
  events.push_back(event("metadata", metadata));
  return events;
}

StreamEvent ConverseStreamWriter::exception(const Error& error) {
  WireError wire = bedrock_error(error);  // reuses the generic message for internal errors
  return StreamEvent{StreamEvent::Kind::kException, std::string(stream_exception_name(error.code)),
                     wire.body};
}

}  // namespace plinth::api
