// The openai kind's answers: chat completions, embeddings, errors, and the SSE stream.
#include <boost/json.hpp>

#include "openai_wire.h"

namespace plinth::upstream::openai {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using providers::StreamEvent;

Error broken(std::string what) {
  return Error(ErrorCode::kUnavailable,
               "the upstream's answer is not a chat completion: " + std::move(what));
}

providers::StopReason stop_reason_of(std::string_view finish_reason) {
  if (finish_reason == "length") return providers::StopReason::kMaxTokens;
  if (finish_reason == "tool_calls" || finish_reason == "function_call") {
    return providers::StopReason::kToolUse;
  }
  if (finish_reason == "content_filter") return providers::StopReason::kContentFiltered;
  return providers::StopReason::kEndTurn;
}

int64_t count(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return std::max<int64_t>(0, v->as_int64());
  if (v->is_uint64()) return static_cast<int64_t>(std::min<uint64_t>(v->as_uint64(), INT64_MAX));
  return 0;
}

void read_usage(const json::value* usage, providers::Usage& out) {
  if (usage == nullptr || !usage->is_object()) return;
  const json::object& u = usage->as_object();
  out.input_tokens = count(u, "prompt_tokens");
  out.output_tokens = count(u, "completion_tokens");
  if (const json::value* details = u.if_contains("prompt_tokens_details");
      details != nullptr && details->is_object()) {
    out.cache_read_input_tokens =
        std::min(out.input_tokens, count(details->as_object(), "cached_tokens"));
  }
}

std::string_view string_at(const json::object& object, std::string_view key) {
  const json::value* v = object.if_contains(key);
  return v != nullptr && v->is_string() ? std::string_view(v->as_string()) : std::string_view();
}

ContentBlock text_block(std::string text) {
  ContentBlock block;
  block.text = std::move(text);
  return block;
}

Result<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::unexpected(broken("not a JSON object"));
  return std::move(value.as_object());
}

}  // namespace

Result<providers::InferenceResponse> parse_chat_response(std::string_view body) {
  auto root = parse_object(body);
  if (!root) return std::unexpected(root.error());
  const json::value* choices = root->if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty() ||
      !choices->as_array()[0].is_object()) {
    return std::unexpected(broken("no choices"));
  }
  const json::object& choice = choices->as_array()[0].as_object();
  const json::value* message = choice.if_contains("message");
  if (message == nullptr || !message->is_object()) return std::unexpected(broken("no message"));
  providers::InferenceResponse response;
  std::string_view text = string_at(message->as_object(), "content");
  if (!text.empty()) response.content.push_back(text_block(std::string(text)));
  if (const json::value* calls = message->as_object().if_contains("tool_calls");
      calls != nullptr && calls->is_array()) {
    for (const json::value& call : calls->as_array()) {
      if (!call.is_object()) return std::unexpected(broken("a tool call is not an object"));
      const json::value* function = call.as_object().if_contains("function");
      if (function == nullptr || !function->is_object()) {
        return std::unexpected(broken("a tool call has no function"));
      }
      ContentBlock block;
      block.kind = ContentBlock::Kind::kToolUse;
      block.tool_use_id = std::string(string_at(call.as_object(), "id"));
      block.tool_name = std::string(string_at(function->as_object(), "name"));
      block.tool_input_json = std::string(string_at(function->as_object(), "arguments"));
      if (block.tool_input_json.empty()) block.tool_input_json = "{}";
      response.content.push_back(std::move(block));
    }
  }
  response.stop_reason = stop_reason_of(string_at(choice, "finish_reason"));
  read_usage(root->if_contains("usage"), response.usage);
  return response;
}

Result<providers::EmbeddingResponse> parse_embeddings_response(std::string_view body) {
  auto root = parse_object(body);
  if (!root) return std::unexpected(root.error());
  const json::value* data = root->if_contains("data");
  if (data == nullptr || !data->is_array() || data->as_array().empty() ||
      !data->as_array()[0].is_object()) {
    return std::unexpected(broken("no embedding data"));
  }
  const json::value* vector = data->as_array()[0].as_object().if_contains("embedding");
  if (vector == nullptr || !vector->is_array()) return std::unexpected(broken("no embedding"));
  providers::EmbeddingResponse response;
  response.embedding.reserve(vector->as_array().size());
  for (const json::value& x : vector->as_array()) {
    if (!x.is_number()) return std::unexpected(broken("an embedding value is not a number"));
    response.embedding.push_back(static_cast<float>(x.to_number<double>()));
  }
  if (const json::value* usage = root->if_contains("usage");
      usage != nullptr && usage->is_object()) {
    response.input_tokens = count(usage->as_object(), "prompt_tokens");
  }
  return response;
}

std::string error_message(std::string_view body) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (!ec && value.is_object()) {
    const json::value* error = value.as_object().if_contains("error");
    if (error != nullptr && error->is_object()) {
      std::string_view message = string_at(error->as_object(), "message");
      if (!message.empty()) return std::string(message.substr(0, 2048));
    }
    if (error != nullptr && error->is_string())
      return std::string(error->as_string()).substr(0, 2048);
    std::string_view message = string_at(value.as_object(), "message");
    if (!message.empty()) return std::string(message.substr(0, 2048));
  }
  return std::string(body.substr(0, 512));
}

ChatStreamParser::ChatStreamParser(providers::StreamCallback on_event)
    : on_event_(std::move(on_event)) {}

Status ChatStreamParser::feed(std::string_view bytes) {
  if (format_ == Format::kUnknown) {
    size_t first = bytes.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return ok();
    format_ = bytes[first] == '{' ? Format::kJson : Format::kEvents;
  }
  if (format_ == Format::kJson) {
    if (json_.size() + bytes.size() > kMaxJsonBytes) {
      return std::unexpected(broken("the answer is over 64 MiB"));
    }
    json_.append(bytes);
    return ok();
  }
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    if (newline == std::string_view::npos) {
      if (pending_.size() + bytes.size() > kMaxLineBytes) {
        return std::unexpected(broken("an event line is longer than 4 MiB"));
      }
      pending_.append(bytes);
      return ok();
    }
    std::string_view piece = bytes.substr(0, newline);
    bytes.remove_prefix(newline + 1);
    std::string line;
    if (!pending_.empty()) {
      line = std::move(pending_);
      pending_.clear();
      line.append(piece);
      piece = line;
      if (line.size() > kMaxLineBytes) return std::unexpected(broken("an event line is too long"));
    }
    if (piece.ends_with('\r')) piece.remove_suffix(1);
    if (auto status = on_line(piece); !status) return status;
  }
  return ok();
}

Status ChatStreamParser::on_line(std::string_view line) {
  if (!line.starts_with("data:")) return ok();  // comments, event names, blank separators
  line.remove_prefix(5);
  if (line.starts_with(' ')) line.remove_prefix(1);
  if (line == "[DONE]") {
    done_ = true;
    return ok();
  }
  return on_chunk(line);
}

Status ChatStreamParser::on_chunk(std::string_view json_text) {
  auto chunk = parse_object(json_text);
  if (!chunk) return std::unexpected(chunk.error());
  if (const json::value* error = chunk->if_contains("error"); error != nullptr) {
    return fail(ErrorCode::kUnavailable,
                "the upstream failed mid-stream: " + error_message(json_text));
  }
  read_usage(chunk->if_contains("usage"), response_.usage);
  const json::value* choices = chunk->if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return ok();
  const json::value& first = choices->as_array()[0];
  if (!first.is_object()) return std::unexpected(broken("a choice is not an object"));
  const json::object& choice = first.as_object();
  std::string_view finish = string_at(choice, "finish_reason");
  if (!finish.empty()) {
    finished_ = true;
    response_.stop_reason = stop_reason_of(finish);
  }
  const json::value* delta = choice.if_contains("delta");
  if (delta == nullptr || !delta->is_object()) return ok();
  auto emit = [&](const StreamEvent& event) -> Status {
    if (on_event_ && !on_event_(event)) return fail(ErrorCode::kCancelled, "the caller stopped");
    return ok();
  };
  std::string_view text = string_at(delta->as_object(), "content");
  if (!text.empty()) {
    text_.append(text);
    // Text after a tool call (rare) closes that call's block in the caller's stream: its later
    // argument fragments, if any, stay in the final answer only.
    tool_open_ = false;
    if (auto s = emit(StreamEvent::text_delta(text)); !s) return s;
  }
  const json::value* calls = delta->as_object().if_contains("tool_calls");
  if (calls == nullptr || !calls->is_array()) return ok();
  for (const json::value& call : calls->as_array()) {
    if (!call.is_object()) return std::unexpected(broken("a tool call is not an object"));
    const json::object& c = call.as_object();
    int64_t index = count(c, "index");
    if (index >= static_cast<int64_t>(kMaxToolCalls)) {
      return std::unexpected(broken("more than 128 tool calls"));
    }
    if (static_cast<size_t>(index) >= tool_calls_.size()) tool_calls_.resize(index + 1);
    ToolCall& tool = tool_calls_[index];
    if (std::string_view id = string_at(c, "id"); !id.empty()) tool.id = id;
    const json::value* function = c.if_contains("function");
    std::string_view name, arguments;
    if (function != nullptr && function->is_object()) {
      name = string_at(function->as_object(), "name");
      arguments = string_at(function->as_object(), "arguments");
    }
    if (!name.empty()) tool.name = name;
    if (open_tool_ != index && !tool.name.empty() && tool.arguments.empty() && index > open_tool_) {
      open_tool_ = static_cast<int>(index);
      tool_open_ = true;
      if (auto s = emit(StreamEvent::tool_use_start(tool.id, tool.name)); !s) return s;
    }
    if (arguments.empty()) continue;
    tool.arguments.append(arguments);
    if (tool.arguments.size() > kMaxLineBytes) {
      return std::unexpected(broken("a tool call's arguments are longer than 4 MiB"));
    }
    // Fragments of an interleaved earlier call stay in the final answer only.
    if (tool_open_ && open_tool_ == index) {
      if (auto s = emit(StreamEvent::tool_use_input(arguments)); !s) return s;
    }
  }
  return ok();
}

Result<providers::InferenceResponse> ChatStreamParser::finish() {
  if (format_ == Format::kJson) {  // one chat completion: its content as events
    auto response = parse_chat_response(json_);
    if (!response || !on_event_) return response;
    if (!providers::replay_content(response->content, on_event_)) {
      return fail(ErrorCode::kCancelled, "the caller stopped");
    }
    return response;
  }
  if (!pending_.empty()) {
    std::string line = std::move(pending_);
    pending_.clear();
    if (auto s = on_line(line); !s) return std::unexpected(s.error());
  }
  if (!finished_ && !done_) {
    return fail(ErrorCode::kUnavailable, "the upstream's stream ended before its answer did");
  }
  providers::InferenceResponse response = std::move(response_);
  if (!text_.empty()) response.content.push_back(text_block(std::move(text_)));
  for (ToolCall& tool : tool_calls_) {
    if (tool.name.empty()) continue;
    ContentBlock block;
    block.kind = ContentBlock::Kind::kToolUse;
    block.tool_use_id = std::move(tool.id);
    block.tool_name = std::move(tool.name);
    block.tool_input_json = tool.arguments.empty() ? "{}" : std::move(tool.arguments);
    response.content.push_back(std::move(block));
  }
  return response;
}

}  // namespace plinth::upstream::openai
