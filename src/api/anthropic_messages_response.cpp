// Anthropic Messages API responses: the message object and the SSE events of a streamed answer.
#include <boost/json.hpp>

#include "json_input.h"
#include "plinth/api/anthropic_messages.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/api/errors.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

json::value stop_sequence_of(const providers::InferenceResponse& response) {
  if (response.stop_reason != providers::StopReason::kStopSequence) return nullptr;
  return json::value(response.stop_sequence);
}

json::object tool_use_object(std::string_view id, std::string_view name, json::value input) {
  return json::object{
      {"type", "tool_use"}, {"id", id}, {"name", name}, {"input", std::move(input)}};
}

// `event: TYPE` whose data is {"type":TYPE, ...fields}, type first as Anthropic sends it.
http::SseEvent event(std::string_view type, json::object fields) {
  json::object body{{"type", type}};
  for (auto& field : fields) body.emplace(field.key(), std::move(field.value()));
  return http::SseEvent{std::string(type), "", json::serialize(body)};
}

}  // namespace

std::string anthropic_message_json(const providers::InferenceResponse& response,
                                   std::string_view id, std::string_view model) {
  json::array content;
  for (const ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kText) {
      content.push_back(json::object{{"type", "text"}, {"text", block.text}});
    } else if (block.kind == ContentBlock::Kind::kToolUse) {
      content.push_back(tool_use_object(block.tool_use_id, block.tool_name,
                                        json_input::tool_input_value(block.tool_input_json)));
    }
  }
  json::object out{{"id", id},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", model},
                   {"content", std::move(content)},
                   {"stop_reason", anthropic_stop_reason(response.stop_reason)},
                   {"stop_sequence", stop_sequence_of(response)},
                   {"usage", anthropic_usage_json(response.usage)}};
  return json::serialize(out);
}

AnthropicStreamWriter::AnthropicStreamWriter(std::string id, std::string model)
    : id_(std::move(id)), model_(std::move(model)) {}

std::vector<http::SseEvent> AnthropicStreamWriter::start() {
  // Token counts are known when generation ends: message_delta carries them all.
  json::object message{{"id", id_},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", model_},
                       {"content", json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       {"usage", anthropic_usage_json({})}};
  return {event("message_start", json::object{{"message", std::move(message)}})};
}

void AnthropicStreamWriter::close_block(std::vector<http::SseEvent>& events) {
  if (open_ == Open::kNone) return;
  events.push_back(event("content_block_stop", json::object{{"index", index_}}));
  open_ = Open::kNone;
}

std::vector<http::SseEvent> AnthropicStreamWriter::open_block(std::string_view content_block_json) {
  std::vector<http::SseEvent> events;
  close_block(events);
  ++index_;
  events.push_back(
      event("content_block_start",
            json::object{{"index", index_}, {"content_block", json::parse(content_block_json)}}));
  if (!pinged_) {
    pinged_ = true;
    events.push_back(event("ping", json::object{}));
  }
  return events;
}

std::vector<http::SseEvent> AnthropicStreamWriter::text(std::string_view text) {
  if (text.empty()) return {};
  std::vector<http::SseEvent> events;
  if (open_ != Open::kText) {
    events = open_block(R"({"type":"text","text":""})");
    open_ = Open::kText;
  }
  streamed_text_ = true;
  events.push_back(
      event("content_block_delta",
            json::object{{"index", index_},
                         {"delta", json::object{{"type", "text_delta"}, {"text", text}}}}));
  return events;
}

std::vector<http::SseEvent> AnthropicStreamWriter::tool_use_start(std::string_view id,
                                                                  std::string_view name) {
  std::vector<http::SseEvent> events =
      open_block(json::serialize(tool_use_object(id, name, json::object())));
  open_ = Open::kToolUse;
  ++streamed_tool_uses_;
  return events;
}

std::vector<http::SseEvent> AnthropicStreamWriter::tool_input(std::string_view partial_json) {
  if (open_ != Open::kToolUse || partial_json.empty()) return {};
  return {event("content_block_delta",
                json::object{{"index", index_},
                             {"delta", json::object{{"type", "input_json_delta"},
                                                    {"partial_json", partial_json}}}})};
}

std::vector<http::SseEvent> AnthropicStreamWriter::delta(const providers::StreamEvent& piece) {
  switch (piece.kind) {
    case providers::StreamEvent::Kind::kText:
      return text(piece.text);
    case providers::StreamEvent::Kind::kToolUseStart:
      return tool_use_start(piece.tool_use_id, piece.tool_name);
    case providers::StreamEvent::Kind::kToolUseInput:
      return tool_input(piece.text);
  }
  return {};
}

std::vector<http::SseEvent> AnthropicStreamWriter::finish(
    const providers::InferenceResponse& response) {
  std::vector<http::SseEvent> events;
  auto append = [&events](std::vector<http::SseEvent> more) {
    for (http::SseEvent& e : more) events.push_back(std::move(e));
  };
  bool emit_text = !streamed_text_;
  size_t tool_uses_seen = 0;
  for (const ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kText && emit_text) {
      append(text(block.text));
    } else if (block.kind == ContentBlock::Kind::kToolUse &&
               ++tool_uses_seen > streamed_tool_uses_) {
      append(tool_use_start(block.tool_use_id, block.tool_name));
      append(tool_input(block.tool_input_json));
    }
  }
  close_block(events);
  if (!pinged_) {
    pinged_ = true;
    events.push_back(event("ping", json::object{}));
  }
  events.push_back(
      event("message_delta",
            json::object{
                {"delta", json::object{{"stop_reason", anthropic_stop_reason(response.stop_reason)},
                                       {"stop_sequence", stop_sequence_of(response)}}},
                {"usage", anthropic_usage_json(response.usage)}}));
  events.push_back(event("message_stop", json::object{}));
  return events;
}

http::SseEvent AnthropicStreamWriter::error(const Error& error) {
  return http::SseEvent{"error", "", anthropic_error(error).body};
}

}  // namespace plinth::api
