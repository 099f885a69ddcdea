// InferenceRequest -> the Converse / ConverseStream request body of the bedrock kind.
#include <boost/json.hpp>

#include "bedrock_wire.h"

namespace plinth::upstream::bedrock {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

Result<json::value> parse_json(std::string_view text, std::string_view what) {
  boost::system::error_code ec;
  json::value v = json::parse(text.empty() ? std::string_view("{}") : text, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, std::string(what) + " is not valid JSON");
  return v;
}

Result<json::object> content_block(const ContentBlock& block) {
  switch (block.kind) {
    case ContentBlock::Kind::kText:
      return json::object{{"text", block.text}};
    case ContentBlock::Kind::kDocument:  // rendered to prompt text at the API edge
      return json::object{{"text", block.text}};
    case ContentBlock::Kind::kToolUse: {
      auto input = parse_json(block.tool_input_json, "a toolUse input");
      if (!input) return std::unexpected(input.error());
      return json::object{{"toolUse", json::object{{"toolUseId", block.tool_use_id},
                                                   {"name", block.tool_name},
                                                   {"input", std::move(*input)}}}};
    }
    case ContentBlock::Kind::kToolResult:
      return json::object{
          {"toolResult",
           json::object{{"toolUseId", block.tool_use_id},
                        {"content", json::array{json::object{{"text", block.text}}}}}}};
    case ContentBlock::Kind::kImage:
      break;
  }
  return fail(ErrorCode::kInvalidArgument,
              "This upstream model accepts text, document, toolUse and toolResult blocks only.");
}

}  // namespace

Result<std::string> converse_request_body(const providers::InferenceRequest& request) {
  json::object body;
  json::array messages;
  for (const auto& message : request.messages) {
    json::array content;
    for (const auto& block : message.content) {
      auto part = content_block(block);
      if (!part) return std::unexpected(part.error());
      content.push_back(std::move(*part));
    }
    messages.push_back(
        json::object{{"role", message.role == providers::Role::kUser ? "user" : "assistant"},
                     {"content", std::move(content)}});
  }
  body["messages"] = std::move(messages);
  if (!request.system.empty()) {
    json::array system;
    for (const auto& text : request.system) system.push_back(json::object{{"text", text}});
    body["system"] = std::move(system);
  }
  json::object inference{{"maxTokens", request.max_tokens}};
  if (request.temperature) inference["temperature"] = *request.temperature;
  if (request.top_p) inference["topP"] = *request.top_p;
  if (!request.stop_sequences.empty()) {
    json::array stops;
    for (const auto& s : request.stop_sequences) stops.push_back(json::string(s));
    inference["stopSequences"] = std::move(stops);
  }
  body["inferenceConfig"] = std::move(inference);
  if (request.top_k) {
    body["additionalModelRequestFields"] = json::object{{"top_k", *request.top_k}};
  }

  json::array tools;
  for (const auto& tool : request.tools) {
    auto schema = parse_json(tool.input_schema_json, "a tool's input schema");
    if (!schema) return std::unexpected(schema.error());
    json::object spec{{"name", tool.name}, {"inputSchema", json::object{{"json", *schema}}}};
    if (!tool.description.empty()) spec["description"] = tool.description;
    tools.push_back(json::object{{"toolSpec", std::move(spec)}});
  }
  std::optional<std::string> forced = request.forced_tool;
  // Structured output without a tool of the caller's: a forced tool whose input is the answer.
  if (request.output_schema_json && !forced) {
    auto schema = parse_json(*request.output_schema_json, "the output schema");
    if (!schema) return std::unexpected(schema.error());
    tools.push_back(json::object{
        {"toolSpec", json::object{{"name", kStructuredOutputTool},
                                  {"description", "Answer with JSON matching this schema."},
                                  {"inputSchema", json::object{{"json", *schema}}}}}});
    forced = std::string(kStructuredOutputTool);
  }
  if (!tools.empty()) {
    json::object config{{"tools", std::move(tools)}};
    if (forced) config["toolChoice"] = json::object{{"tool", json::object{{"name", *forced}}}};
    body["toolConfig"] = std::move(config);
  }
  return json::serialize(body);
}

}  // namespace plinth::upstream::bedrock
