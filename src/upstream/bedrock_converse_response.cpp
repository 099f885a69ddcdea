// Converse responses and ConverseStream events of the bedrock kind -> InferenceResponse and
// StreamEvents; usage from bodies, stream metadata and InvokeModel headers.
#include <boost/json.hpp>
#include <charconv>

#include "bedrock_wire.h"
#include "plinth/core/encoding.h"

namespace plinth::upstream::bedrock {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using providers::StopReason;
using providers::StreamEvent;

Result<json::object> parse_object(std::string_view text) {
  if (text.size() > kMaxResponseBytes) {
    return fail(ErrorCode::kUnavailable, "the upstream answer is larger than 16 MiB");
  }
  boost::system::error_code ec;
  json::parse_options limits;
  limits.max_depth = 64;
  json::value v = json::parse(text, ec, {}, limits);
  if (ec || !v.is_object()) {
    return fail(ErrorCode::kUnavailable, "the upstream answered with a malformed JSON body");
  }
  return std::move(v.as_object());
}

std::string string_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

int64_t int_at(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return std::max<int64_t>(0, v->as_int64());
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), INT64_MAX));
  return 0;
}

ContentBlock text_block(std::string text) {
  ContentBlock block;
  block.text = std::move(text);
  return block;
}

ContentBlock tool_use_block(std::string id, std::string name) {
  ContentBlock block;
  block.kind = ContentBlock::Kind::kToolUse;
  block.tool_use_id = std::move(id);
  block.tool_name = std::move(name);
  return block;
}

StopReason stop_reason(std::string_view reason) {
  if (reason == "max_tokens" || reason == "model_context_window_exceeded") {
    return StopReason::kMaxTokens;
  }
  if (reason == "stop_sequence") return StopReason::kStopSequence;
  if (reason == "tool_use") return StopReason::kToolUse;
  if (reason == "content_filtered" || reason == "guardrail_intervened") {
    return StopReason::kContentFiltered;
  }
  return StopReason::kEndTurn;
}

// Converse usage {inputTokens, outputTokens, cacheReadInputTokens, cacheWriteInputTokens};
// Bedrock's inputTokens leaves the cached tokens out, the internal count holds them all.
std::optional<providers::Usage> converse_usage(const json::object& o) {
  const json::object* usage = object_at(o, "usage");
  if (usage == nullptr || (!usage->contains("inputTokens") && !usage->contains("outputTokens"))) {
    return std::nullopt;  // not Converse's shape (InvokeModel's Anthropic body has input_tokens)
  }
  providers::Usage out;
  out.cache_read_input_tokens = int_at(*usage, "cacheReadInputTokens");
  out.cache_write_input_tokens = int_at(*usage, "cacheWriteInputTokens");
  out.input_tokens =
      int_at(*usage, "inputTokens") + out.cache_read_input_tokens + out.cache_write_input_tokens;
  out.output_tokens = int_at(*usage, "outputTokens");
  return out;
}

// When the structured-output tool answered, its input is the answer's text.
void unwrap_structured(providers::InferenceResponse& response) {
  for (ContentBlock& block : response.content) {
    if (block.kind == ContentBlock::Kind::kToolUse && block.tool_name == kStructuredOutputTool) {
      response.content = {text_block(block.tool_input_json)};
      if (response.stop_reason == StopReason::kToolUse) response.stop_reason = StopReason::kEndTurn;
      return;
    }
  }
}

}  // namespace

std::optional<providers::Usage> usage_from_json(std::string_view text) {
  auto o = parse_object(text);
  if (!o) return std::nullopt;
  if (auto usage = converse_usage(*o)) return usage;
  // InvokeModel (Anthropic body): usage {input_tokens, output_tokens, cache_*_input_tokens}.
  if (const json::object* usage = object_at(*o, "usage")) {
    providers::Usage out;
    out.cache_read_input_tokens = int_at(*usage, "cache_read_input_tokens");
    out.cache_write_input_tokens = int_at(*usage, "cache_creation_input_tokens");
    out.input_tokens =
        int_at(*usage, "input_tokens") + out.cache_read_input_tokens + out.cache_write_input_tokens;
    out.output_tokens = int_at(*usage, "output_tokens");
    return out;
  }
  // InvokeModel with a response stream: each chunk may end with amazon-bedrock-invocationMetrics.
  if (const json::object* metrics = object_at(*o, "amazon-bedrock-invocationMetrics")) {
    providers::Usage out;
    out.input_tokens = int_at(*metrics, "inputTokenCount");
    out.output_tokens = int_at(*metrics, "outputTokenCount");
    out.cache_read_input_tokens = int_at(*metrics, "cacheReadInputTokenCount");
    out.cache_write_input_tokens = int_at(*metrics, "cacheWriteInputTokenCount");
    out.input_tokens += out.cache_read_input_tokens + out.cache_write_input_tokens;
    return out;
  }
  // Meta Llama / Titan bodies.
  if (o->contains("prompt_token_count") || o->contains("generation_token_count")) {
    providers::Usage out;
    out.input_tokens = int_at(*o, "prompt_token_count");
    out.output_tokens = int_at(*o, "generation_token_count");
    return out;
  }
  return std::nullopt;
}

std::optional<providers::Usage> usage_from_headers(const http::Response& response) {
  auto number = [&](std::string_view name) -> std::optional<int64_t> {
    const std::string* v = response.header(name);
    if (v == nullptr) return std::nullopt;
    int64_t out = 0;
    auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
    if (ec != std::errc() || end != v->data() + v->size() || out < 0) return std::nullopt;
    return out;
  };
  auto input = number("x-amzn-bedrock-input-token-count");
  auto output = number("x-amzn-bedrock-output-token-count");
  if (!input && !output) return std::nullopt;
  providers::Usage out;
  out.cache_read_input_tokens = number("x-amzn-bedrock-cache-read-input-token-count").value_or(0);
  out.cache_write_input_tokens = number("x-amzn-bedrock-cache-write-input-token-count").value_or(0);
  out.input_tokens = input.value_or(0) + out.cache_read_input_tokens + out.cache_write_input_tokens;
  out.output_tokens = output.value_or(0);
  return out;
}

Result<providers::InferenceResponse> parse_converse_response(std::string_view body,
                                                             bool structured) {
  auto o = parse_object(body);
  if (!o) return std::unexpected(o.error());
  providers::InferenceResponse out;
  const json::object* output = object_at(*o, "output");
  const json::object* message = output ? object_at(*output, "message") : nullptr;
  const json::value* content = message ? message->if_contains("content") : nullptr;
  if (content == nullptr || !content->is_array()) {
    return fail(ErrorCode::kUnavailable, "the upstream Converse answer has no output.message");
  }
  for (const json::value& item : content->as_array()) {
    if (!item.is_object()) continue;
    const json::object& block = item.as_object();
    if (const json::value* text = block.if_contains("text"); text && text->is_string()) {
      out.content.push_back(text_block(std::string(text->as_string())));
    } else if (const json::object* tool = object_at(block, "toolUse")) {
      ContentBlock use = tool_use_block(string_at(*tool, "toolUseId"), string_at(*tool, "name"));
      const json::value* input = tool->if_contains("input");
      use.tool_input_json = input ? json::serialize(*input) : "{}";
      out.content.push_back(std::move(use));
    }  // reasoningContent and other blocks are not carried
  }
  out.stop_reason = stop_reason(string_at(*o, "stopReason"));
  out.usage = converse_usage(*o).value_or(providers::Usage{});
  if (const json::object* metrics = object_at(*o, "metrics")) {
    out.latency_ms = int_at(*metrics, "latencyMs");
  }
  if (structured) unwrap_structured(out);
  return out;
}

std::optional<providers::Usage> ConverseStreamReader::usage_of(const http::EventMessage& message) {
  const std::string* type = message.header(":event-type");
  if (type == nullptr) return std::nullopt;
  if (*type == "metadata") return usage_from_json(message.payload);
  if (*type == "chunk") {  // InvokeModelWithResponseStream: {"bytes": base64 of the model's JSON}
    auto o = parse_object(message.payload);
    if (!o) return std::nullopt;
    std::string bytes = string_at(*o, "bytes");
    auto decoded = base64_decode(bytes);
    if (!decoded) return std::nullopt;
    return usage_from_json(*decoded);
  }
  return std::nullopt;
}

bool ConverseStreamReader::feed(std::string_view bytes) {
  if (failure_ || stopped_) return false;
  decoder_.feed(bytes);
  while (true) {
    auto message = decoder_.next();
    if (!message) {
      failure_ = Error(ErrorCode::kUnavailable,
                       "the upstream stream is corrupt: " + message.error().message);
      return false;
    }
    if (!*message) return true;
    if (auto status = handle(**message); !status) {
      failure_ = status.error();
      return false;
    }
  }
}

Status ConverseStreamReader::handle(const http::EventMessage& message) {
  const std::string* message_type = message.header(":message-type");
  if (message_type != nullptr && *message_type == "exception") {
    const std::string* type = message.header(":exception-type");
    return std::unexpected(error_from_exception(type ? *type : "", message.payload));
  }
  if (message_type != nullptr && *message_type == "error") {
    const std::string* code = message.header(":error-code");
    const std::string* text = message.header(":error-message");
    return fail(ErrorCode::kUnavailable,
                (code ? *code : "error") + ": " + (text ? text->substr(0, 1024) : ""));
  }
  const std::string* type = message.header(":event-type");
  if (type == nullptr) return ok();
  auto o = parse_object(message.payload);
  if (!o) return std::unexpected(o.error());
  auto emit = [&](const StreamEvent& event) -> Status {
    if (on_event_ && !on_event_(event)) {
      stopped_ = true;
      return fail(ErrorCode::kCancelled, "the caller went away");
    }
    return ok();
  };
  if (*type == "contentBlockStart") {
    const json::object* start = object_at(*o, "start");
    const json::object* tool = start ? object_at(*start, "toolUse") : nullptr;
    if (tool == nullptr) return ok();
    ContentBlock use = tool_use_block(string_at(*tool, "toolUseId"), string_at(*tool, "name"));
    response_.content.push_back(use);
    in_tool_ = true;
    if (structured_ && use.tool_name == kStructuredOutputTool) return ok();  // text follows
    StreamEvent event;
    event.kind = StreamEvent::Kind::kToolUseStart;
    event.tool_use_id = response_.content.back().tool_use_id;
    event.tool_name = response_.content.back().tool_name;
    return emit(event);
  }
  if (*type == "contentBlockDelta") {
    const json::object* delta = object_at(*o, "delta");
    if (delta == nullptr) return ok();
    if (const json::value* text = delta->if_contains("text"); text && text->is_string()) {
      if (in_tool_ || response_.content.empty() ||
          response_.content.back().kind != ContentBlock::Kind::kText) {
        response_.content.push_back(text_block(""));
        in_tool_ = false;
      }
      response_.content.back().text += text->as_string();
      StreamEvent event;
      event.text = text->as_string();
      return emit(event);
    }
    if (const json::object* tool = object_at(*delta, "toolUse")) {
      if (!in_tool_ || response_.content.empty()) {
        return fail(ErrorCode::kUnavailable, "the upstream stream sent tool input outside a tool");
      }
      std::string input = string_at(*tool, "input");
      ContentBlock& block = response_.content.back();
      block.tool_input_json += input;
      bool as_text = structured_ && block.tool_name == kStructuredOutputTool;
      StreamEvent event;
      event.kind = as_text ? StreamEvent::Kind::kText : StreamEvent::Kind::kToolUseInput;
      event.text = input;
      return emit(event);
    }
    return ok();
  }
  if (*type == "contentBlockStop") {
    in_tool_ = false;
    return ok();
  }
  if (*type == "messageStop") {
    response_.stop_reason = stop_reason(string_at(*o, "stopReason"));
    return ok();
  }
  if (*type == "metadata") {
    if (auto usage = converse_usage(*o)) response_.usage = *usage;
    if (const json::object* metrics = object_at(*o, "metrics")) {
      response_.latency_ms = int_at(*metrics, "latencyMs");
    }
  }
  return ok();
}

Result<providers::InferenceResponse> ConverseStreamReader::finish() {
  if (failure_) return std::unexpected(*failure_);
  if (decoder_.pending_bytes() != 0) {
    return fail(ErrorCode::kUnavailable, "the upstream stream ended in the middle of a message");
  }
  for (ContentBlock& block : response_.content) {
    if (block.kind == ContentBlock::Kind::kToolUse && block.tool_input_json.empty()) {
      block.tool_input_json = "{}";
    }
  }
  if (structured_) unwrap_structured(response_);
  return response_;
}

}  // namespace plinth::upstream::bedrock
