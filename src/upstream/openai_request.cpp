// The openai kind's request bodies: chat completions (system, turns, tools, tool results,
// forced tools, structured output, sampling) and embeddings.
#include <boost/json.hpp>

#include "json_text.h"
#include "openai_wire.h"

namespace plinth::upstream::openai {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using Kind = providers::ContentBlock::Kind;

// One internal message as one or more OpenAI messages: tool results become role "tool"
// messages (one per result); an assistant's tool uses become its tool_calls.
void append_message(const providers::Message& message, json::array& out) {
  std::string text;
  json::array tool_calls;
  for (const ContentBlock& block : message.content) {
    switch (block.kind) {
      case Kind::kText:
      case Kind::kDocument:  // rendered into text before it reaches a provider
        text += block.text;
        break;
      case Kind::kToolUse:
        tool_calls.push_back(json::object{
            {"id", block.tool_use_id},
            {"type", "function"},
            {"function",
             json::object{
                 {"name", block.tool_name},
                 {"arguments", block.tool_input_json.empty() ? "{}" : block.tool_input_json}}}});
        break;
      case Kind::kToolResult:
        out.push_back(json::object{
            {"role", "tool"}, {"tool_call_id", block.tool_use_id}, {"content", block.text}});
        break;
      case Kind::kImage:
        break;  // the APIs refuse images before a provider is called
    }
  }
  bool assistant = message.role == providers::Role::kAssistant;
  if (text.empty() && tool_calls.empty()) return;
  json::object m{{"role", assistant ? "assistant" : "user"}};
  if (!text.empty() || !assistant) {
    m["content"] = text;
  } else {
    m["content"] = nullptr;
  }
  if (!tool_calls.empty() && assistant) m["tool_calls"] = std::move(tool_calls);
  out.push_back(std::move(m));
}

}  // namespace

std::string chat_request_body(const providers::InferenceRequest& request, bool stream) {
  json::object body;
  body["model"] = request.model_id;
  json::array messages;
  std::string system;
  for (const std::string& part : request.system) {
    if (!system.empty()) system += "\n";
    system += part;
  }
  if (!system.empty()) messages.push_back(json::object{{"role", "system"}, {"content", system}});
  for (const providers::Message& message : request.messages) append_message(message, messages);
  body["messages"] = std::move(messages);
  body["max_tokens"] = request.max_tokens;
  if (request.temperature) body["temperature"] = *request.temperature;
  if (request.top_p) body["top_p"] = *request.top_p;
  if (request.seed) body["seed"] = *request.seed;
  if (!request.stop_sequences.empty()) {
    json::array stop;
    for (const std::string& s : request.stop_sequences) stop.push_back(json::string(s));
    body["stop"] = std::move(stop);
  }
  if (!request.tools.empty()) {
    json::array tools;
    for (const providers::ToolSpec& tool : request.tools) {
      json::object function{{"name", tool.name},
                            {"parameters", parsed_or_object(tool.input_schema_json)}};
      if (!tool.description.empty()) function["description"] = tool.description;
      tools.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
    }
    body["tools"] = std::move(tools);
    if (request.forced_tool) {
      body["tool_choice"] = json::object{
          {"type", "function"}, {"function", json::object{{"name", *request.forced_tool}}}};
    }
  }
  if (request.output_schema_json && !request.forced_tool) {
    body["response_format"] = json::object{
        {"type", "json_schema"},
        {"json_schema", json::object{{"name", "output"},
                                     {"strict", true},
                                     {"schema", parsed_or_object(*request.output_schema_json)}}}};
  }
  if (stream) {
    body["stream"] = true;
    body["stream_options"] = json::object{{"include_usage", true}};
  }
  return json::serialize(body);
}

std::string embeddings_request_body(const providers::EmbeddingRequest& request) {
  json::object body{
      {"model", request.model_id}, {"input", request.text}, {"encoding_format", "float"}};
  if (request.dimensions > 0) body["dimensions"] = request.dimensions;
  return json::serialize(body);
}

}  // namespace plinth::upstream::openai
