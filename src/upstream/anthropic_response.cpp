// The anthropic kind's answers: a message, an error, and the SSE stream decoded into
// StreamEvents.
#include <algorithm>
#include <boost/json.hpp>

#include "anthropic_wire.h"
#include "plinth/upstream/transport.h"

namespace plinth::upstream::anthropic {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using providers::StreamEvent;

Error broken(std::string what) {
  return Error(ErrorCode::kUnavailable,
               "the upstream's answer is not an Anthropic message: " + std::move(what));
}

std::string_view string_at(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

int64_t count(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return std::max<int64_t>(0, v->as_int64());
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), INT64_MAX));
  return 0;
}

Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::unexpected(broken("not a JSON object"));
  return std::move(value.as_object());
}

providers::StopReason stop_reason_of(std::string_view reason) {
  if (reason == "max_tokens") return providers::StopReason::kMaxTokens;
  if (reason == "stop_sequence") return providers::StopReason::kStopSequence;
  if (reason == "tool_use") return providers::StopReason::kToolUse;
  if (reason == "refusal") return providers::StopReason::kContentFiltered;
  return providers::StopReason::kEndTurn;
}

// Anthropic's input_tokens leaves out the tokens read from and written to its cache; Plinth's
// counts the whole prompt and reports the two cached parts besides. A field absent from `usage`
// keeps its earlier value (a stream's message_delta repeats only some).
void read_usage(const json::value* usage, providers::Usage& out) {
  if (usage == nullptr || !usage->is_object()) return;
  const json::object& u = usage->as_object();
  int64_t uncached = out.input_tokens - out.cache_read_input_tokens - out.cache_write_input_tokens;
  if (u.contains("input_tokens")) uncached = count(u, "input_tokens");
  if (u.contains("cache_read_input_tokens")) {
    out.cache_read_input_tokens = count(u, "cache_read_input_tokens");
  }
  if (u.contains("cache_creation_input_tokens")) {
    out.cache_write_input_tokens = count(u, "cache_creation_input_tokens");
  }
  out.input_tokens = uncached + out.cache_read_input_tokens + out.cache_write_input_tokens;
  if (u.contains("output_tokens")) out.output_tokens = count(u, "output_tokens");
}

ContentBlock text_block(std::string text) {
  ContentBlock block;
  block.text = std::move(text);
  return block;
}

// The output tool's input as the answer's only text (unwrapped from "value" when the plan
// wrapped the schema); the tool use becomes an ordinary end of turn. A forced tool is called
// without a preamble, so nothing else was streamed before it.
void apply_output_plan(const OutputPlan& plan, providers::InferenceResponse& response) {
  if (!plan.via_tool) return;
  auto output = std::ranges::find_if(response.content, [](const ContentBlock& b) {
    return b.kind == ContentBlock::Kind::kToolUse && b.tool_name == kOutputTool;
  });
  if (output == response.content.end()) return;
  std::string text = std::move(output->tool_input_json);
  if (plan.wrapped) {
    boost::system::error_code ec;
    json::value input = json::parse(text, ec);
    const json::value* value =
        !ec && input.is_object() ? input.as_object().if_contains("value") : nullptr;
    text = value != nullptr ? json::serialize(*value) : std::string();
  }
  response.content = {text_block(std::move(text))};
  if (response.stop_reason == providers::StopReason::kToolUse) {
    response.stop_reason = providers::StopReason::kEndTurn;
  }
}

}  // namespace

Result<providers::InferenceResponse> parse_message(std::string_view body, const OutputPlan& plan) {
  auto root = parse_object(body);
  if (!root) return std::unexpected(root.error());
  const json::value* content = root->if_contains("content");
  if (content == nullptr || !content->is_array()) return std::unexpected(broken("no content"));
  providers::InferenceResponse response;
  for (const json::value& item : content->as_array()) {
    const json::object* block = item.if_object();
    if (block == nullptr) return std::unexpected(broken("a content block is not an object"));
    std::string_view type = string_at(*block, "type");
    if (type == "text") {
      response.content.push_back(text_block(std::string(string_at(*block, "text"))));
    } else if (type == "tool_use") {
      ContentBlock use;
      use.kind = ContentBlock::Kind::kToolUse;
      use.tool_use_id = string_at(*block, "id");
      use.tool_name = string_at(*block, "name");
      const json::value* input = block->if_contains("input");
      use.tool_input_json = input != nullptr ? json::serialize(*input) : "{}";
      response.content.push_back(std::move(use));
    }  // thinking and server-tool blocks are not part of the internal answer
  }
  response.stop_reason = stop_reason_of(string_at(*root, "stop_reason"));
  response.stop_sequence = string_at(*root, "stop_sequence");
  read_usage(root->if_contains("usage"), response.usage);
  apply_output_plan(plan, response);
  return response;
}

Error upstream_error(std::string_view provider_id, int status, std::string_view body) {
  std::string type;
  std::string message;
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  const json::object* root = ec ? nullptr : value.if_object();
  const json::value* error = root ? root->if_contains("error") : nullptr;
  if (error != nullptr && error->is_object()) {
    type = string_at(error->as_object(), "type");
    message = std::string(string_at(error->as_object(), "message").substr(0, 2048));
  } else if (status >= 400) {
    message = std::string(body.substr(0, 512));
  }
  if (type == "overloaded_error" || type == "rate_limit_error" || status == 529) {
    return Error(ErrorCode::kThrottled,
                 message.empty()
                     ? "upstream provider " + std::string(provider_id) + " is overloaded"
                     : message);
  }
  return status_error(provider_id, status, message);
}

MessageStreamParser::MessageStreamParser(std::string provider_id, OutputPlan plan,
                                         providers::StreamCallback on_event)
    : provider_id_(std::move(provider_id)), plan_(plan), on_event_(std::move(on_event)) {}

Status MessageStreamParser::emit(const StreamEvent& event) {
  if (on_event_ && !on_event_(event)) return fail(ErrorCode::kCancelled, "the caller stopped");
  return ok();
}

Status MessageStreamParser::feed(std::string_view bytes) {
  // The SSE parser buffers an incomplete event: bound what it may hold.
  buffered_ += bytes.size();
  std::vector<http::SseEvent> events = sse_.feed(bytes);
  if (!events.empty()) buffered_ = 0;
  if (buffered_ > kMaxEventBytes) return std::unexpected(broken("an event is longer than 4 MiB"));
  for (const http::SseEvent& event : events) {
    if (auto status = on_event(event); !status) return status;
  }
  return ok();
}

Status MessageStreamParser::on_event(const http::SseEvent& sse) {
  if (sse.event == "ping" || sse.data.empty()) return ok();
  auto data = parse_object(sse.data);
  if (!data) return std::unexpected(data.error());
  std::string_view type = string_at(*data, "type");
  if (type == "error") {
    const json::value* error = data->if_contains("error");
    std::string_view kind =
        error && error->is_object() ? string_at(error->as_object(), "type") : "";
    int status = kind == "overloaded_error" ? 529 : kind == "rate_limit_error" ? 429 : 500;
    if (kind == "invalid_request_error") status = 400;
    return std::unexpected(upstream_error(provider_id_, status, sse.data));
  }
  if (type == "message_start") {
    const json::value* message = data->if_contains("message");
    if (message != nullptr && message->is_object()) {
      read_usage(message->as_object().if_contains("usage"), response_.usage);
    }
    return ok();
  }
  if (type == "message_delta") {
    const json::value* delta = data->if_contains("delta");
    if (delta != nullptr && delta->is_object()) {
      std::string_view reason = string_at(delta->as_object(), "stop_reason");
      if (!reason.empty()) response_.stop_reason = stop_reason_of(reason);
      response_.stop_sequence = string_at(delta->as_object(), "stop_sequence");
    }
    read_usage(data->if_contains("usage"), response_.usage);
    return ok();
  }
  if (type == "message_stop") {
    stopped_ = true;
    return ok();
  }
  const json::value* index_value = data->if_contains("index");
  if (type != "content_block_start" && type != "content_block_delta") return ok();
  if (index_value == nullptr || !index_value->is_number())
    return std::unexpected(broken("no index"));
  int64_t index = count(*data, "index");
  if (index < 0 || static_cast<size_t>(index) >= kMaxBlocks) {
    return std::unexpected(broken("more than 256 content blocks"));
  }
  if (type == "content_block_start") {
    if (static_cast<size_t>(index) >= blocks_.size()) blocks_.resize(index + 1);
    const json::value* start = data->if_contains("content_block");
    if (start == nullptr || !start->is_object()) return std::unexpected(broken("no content_block"));
    ContentBlock& block = blocks_[index];
    output_block_ = false;
    if (string_at(start->as_object(), "type") == "tool_use") {
      block.kind = ContentBlock::Kind::kToolUse;
      block.tool_use_id = string_at(start->as_object(), "id");
      block.tool_name = string_at(start->as_object(), "name");
      output_block_ = plan_.via_tool && block.tool_name == kOutputTool;
      if (!output_block_) {
        return emit(StreamEvent::tool_use_start(block.tool_use_id, block.tool_name));
      }
    }
    return ok();
  }
  // content_block_delta
  if (static_cast<size_t>(index) >= blocks_.size()) {
    return std::unexpected(broken("a delta for a block never started"));
  }
  const json::value* delta = data->if_contains("delta");
  if (delta == nullptr || !delta->is_object()) return std::unexpected(broken("no delta"));
  ContentBlock& block = blocks_[index];
  std::string_view delta_type = string_at(delta->as_object(), "type");
  std::string_view piece;
  StreamEvent event;
  if (delta_type == "text_delta" && block.kind == ContentBlock::Kind::kText) {
    piece = string_at(delta->as_object(), "text");
    block.text.append(piece);
    event.kind = StreamEvent::Kind::kText;
  } else if (delta_type == "input_json_delta" && block.kind == ContentBlock::Kind::kToolUse) {
    piece = string_at(delta->as_object(), "partial_json");
    block.tool_input_json.append(piece);
    // The output tool's input is the answer's text; wrapped, it comes whole at the end.
    event.kind = output_block_ ? StreamEvent::Kind::kText : StreamEvent::Kind::kToolUseInput;
  } else {
    return ok();  // thinking and signature deltas are not part of the internal answer
  }
  answer_bytes_ += piece.size();
  if (answer_bytes_ > kMaxAnswerBytes) return std::unexpected(broken("an answer over 64 MiB"));
  if (output_block_ && plan_.wrapped) piece = {};
  if (piece.empty()) return ok();
  event.text = piece;
  return emit(event);
}

Result<providers::InferenceResponse> MessageStreamParser::finish() {
  if (!stopped_)
    return fail(ErrorCode::kUnavailable, "the upstream's stream ended before its answer did");
  providers::InferenceResponse response = std::move(response_);
  for (ContentBlock& block : blocks_) {
    if (block.kind == ContentBlock::Kind::kToolUse) {
      if (block.tool_input_json.empty()) block.tool_input_json = "{}";
      response.content.push_back(std::move(block));
    } else if (!block.text.empty()) {
      response.content.push_back(std::move(block));
    }
  }
  apply_output_plan(plan_, response);
  return response;
}

}  // namespace plinth::upstream::anthropic
