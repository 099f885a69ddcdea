// The anthropic kind's request body: system, turns, tools, tool results, the forced tool,
// stop sequences, sampling and structured output (a forced tool whose input is the answer).
#include <algorithm>
#include <boost/json.hpp>
#include <optional>
#include <vector>

#include "anthropic_wire.h"
#include "json_text.h"
#include "plinth/core/encoding.h"

namespace plinth::upstream::anthropic {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using Kind = providers::ContentBlock::Kind;

json::object text_block(std::string_view text) {
  return json::object{{"type", "text"}, {"text", text}};
}

// Empty text is left out of the body (the Messages API refuses empty text blocks).
bool sent(const ContentBlock& block) {
  return !((block.kind == Kind::kText || block.kind == Kind::kDocument) && block.text.empty());
}

json::array content_of(const providers::Message& message) {
  json::array content;
  for (const ContentBlock& block : message.content) {
    if (!sent(block)) continue;
    switch (block.kind) {
      case Kind::kText:
      case Kind::kDocument:  // rendered into text before it reaches a provider
        content.push_back(text_block(block.text));
        break;
      case Kind::kToolUse:
        content.push_back(json::object{{"type", "tool_use"},
                                       {"id", block.tool_use_id},
                                       {"name", block.tool_name},
                                       {"input", parsed_or_object(block.tool_input_json)}});
        break;
      case Kind::kToolResult:
        content.push_back(json::object{
            {"type", "tool_result"}, {"tool_use_id", block.tool_use_id}, {"content", block.text}});
        break;
      case Kind::kImage:
        content.push_back(
            json::object{{"type", "image"},
                         {"source", json::object{{"type", "base64"},
                                                 {"media_type", "image/" + block.document_format},
                                                 {"data", base64_encode(block.document_bytes)}}}});
        break;
    }
  }
  return content;
}

json::object tool_json(std::string_view name, std::string_view description, json::value schema) {
  json::object tool{{"name", name}, {"input_schema", std::move(schema)}};
  if (!description.empty()) tool["description"] = description;
  return tool;
}

json::object* last_object(json::value* array) {
  json::array* a = array ? array->if_array() : nullptr;
  return a && !a->empty() ? a->back().if_object() : nullptr;
}

// The block that ends the prefix a cache point names: Anthropic marks the last cached block with
// cache_control, where Bedrock puts a cachePoint after it. Prompt order is tools, system,
// messages. A point with nothing before it in its own section (a Bedrock cachePoint first in a
// message or in the system list; the Anthropic parsers never make one) names the same prefix as
// the last block sent before it, so that block is marked; with nothing before it at all the point
// is dropped. A tools point marks the tool just before it.
json::object* block_before(json::object& body, const providers::InferenceRequest& request,
                           const std::vector<std::optional<size_t>>& sent_message,
                           const providers::CachePoint& point) {
  using Section = providers::CachePoint::Section;
  json::array* tools = body.contains("tools") ? body["tools"].if_array() : nullptr;
  // The caller's tools come first in `tools` (a structured-output tool follows them).
  auto tool = [&](size_t count) -> json::object* {
    const size_t n = std::min(count, request.tools.size());
    return tools && n > 0 && tools->size() >= n ? (*tools)[n - 1].if_object() : nullptr;
  };
  json::object* last_tool = tool(request.tools.size());
  if (point.section == Section::kTools) return tool(point.count);
  json::array* system = body.contains("system") ? body["system"].if_array() : nullptr;
  json::object* last_system = system && !system->empty() ? system->back().if_object() : nullptr;
  if (point.section == Section::kSystem) {
    if (point.count == 0) return last_tool;
    if (system && point.count <= system->size()) return (*system)[point.count - 1].if_object();
    return last_system ? last_system : last_tool;
  }
  json::array& messages = body["messages"].as_array();
  if (point.message < request.messages.size()) {
    const auto& blocks = request.messages[point.message].content;
    const size_t end = std::min(point.count, blocks.size());
    const auto before = static_cast<size_t>(
        std::count_if(blocks.begin(), blocks.begin() + static_cast<ptrdiff_t>(end), sent));
    if (before > 0 && sent_message[point.message]) {
      json::array& content = messages[*sent_message[point.message]].at("content").as_array();
      return content[before - 1].if_object();
    }
  }
  for (size_t m = std::min(point.message, request.messages.size()); m-- > 0;) {
    if (sent_message[m]) return last_object(&messages[*sent_message[m]].as_object()["content"]);
  }
  return last_system ? last_system : last_tool;
}

}  // namespace

std::string messages_request_body(const providers::InferenceRequest& request, bool stream,
                                  OutputPlan* plan) {
  json::object body;
  body["model"] = request.model_id;
  body["max_tokens"] = request.max_tokens;
  if (!request.system.empty()) {
    json::array system;
    for (const std::string& part : request.system) system.push_back(text_block(part));
    body["system"] = std::move(system);
  }
  json::array messages;
  // Which body message each request message became (none when it had nothing to send).
  std::vector<std::optional<size_t>> sent_message;
  for (const providers::Message& message : request.messages) {
    json::array content = content_of(message);
    sent_message.push_back(content.empty() ? std::nullopt : std::optional(messages.size()));
    if (content.empty()) continue;
    messages.push_back(
        json::object{{"role", message.role == providers::Role::kAssistant ? "assistant" : "user"},
                     {"content", std::move(content)}});
  }
  body["messages"] = std::move(messages);
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.top_k) body["top_k"] = *request.top_k;
  if (!request.stop_sequences.empty()) {
    json::array stops;
    for (const std::string& s : request.stop_sequences) stops.push_back(json::string(s));
    body["stop_sequences"] = std::move(stops);
  }
  json::array tools;
  for (const providers::ToolSpec& tool : request.tools) {
    tools.push_back(
        tool_json(tool.name, tool.description, parsed_or_object(tool.input_schema_json)));
  }
  std::optional<std::string> forced = request.forced_tool;
  OutputPlan local_plan;
  if (request.output_schema_json && !request.forced_tool) {
    json::value schema = parsed_or_object(*request.output_schema_json);
    const json::object* object = schema.if_object();
    const json::value* type = object ? object->if_contains("type") : nullptr;
    local_plan.via_tool = true;
    local_plan.wrapped = type == nullptr || *type != "object";
    if (local_plan.wrapped) {
      schema = json::object{{"type", "object"},
                            {"properties", json::object{{"value", std::move(schema)}}},
                            {"required", json::array{"value"}}};
    }
    tools.push_back(tool_json(kOutputTool, "Answer with the requested JSON as this tool's input.",
                              std::move(schema)));
    forced = std::string(kOutputTool);
  }
  if (!tools.empty()) body["tools"] = std::move(tools);
  if (forced) body["tool_choice"] = json::object{{"type", "tool"}, {"name", *forced}};
  if (stream) body["stream"] = true;
  for (const providers::CachePoint& point : request.cache_points) {
    if (json::object* block = block_before(body, request, sent_message, point)) {
      (*block)["cache_control"] = json::object{{"type", "ephemeral"}};
    }
  }
  if (plan != nullptr) *plan = local_plan;
  return json::serialize(body);
}

}  // namespace plinth::upstream::anthropic
