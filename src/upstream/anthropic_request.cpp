// The anthropic kind's request body: system, turns, tools, tool results, the forced tool,
// stop sequences, sampling and structured output (a forced tool whose input is the answer).
#include <boost/json.hpp>

#include "anthropic_wire.h"
#include "plinth/core/encoding.h"

namespace plinth::upstream::anthropic {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using Kind = providers::ContentBlock::Kind;

// A JSON text that was accepted as JSON before it reached a provider; an empty object when it
// does not parse (the schema then constrains nothing; the validation after still does).
json::value parsed_or_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec) return json::object{};
  return value;
}

json::object text_block(std::string_view text) {
  return json::object{{"type", "text"}, {"text", text}};
}

json::array content_of(const providers::Message& message) {
  json::array content;
  for (const ContentBlock& block : message.content) {
    switch (block.kind) {
      case Kind::kText:
      case Kind::kDocument:  // rendered into text before it reaches a provider
        if (!block.text.empty()) content.push_back(text_block(block.text));
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
  for (const providers::Message& message : request.messages) {
    json::array content = content_of(message);
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
  if (plan != nullptr) *plan = local_plan;
  return json::serialize(body);
}

}  // namespace plinth::upstream::anthropic
