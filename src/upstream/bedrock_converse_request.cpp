// InferenceRequest -> the Converse / ConverseStream request body of the bedrock kind.
#include <algorithm>
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

json::object cache_point_block() {
  return json::object{{"cachePoint", json::object{{"type", "default"}}}};
}

// How many of the request's cache points sit in `section` (of `message`) after `count` items: the
// caller's cachePoint blocks go back exactly where they were, so the upstream caches (and bills)
// the same prefix. A point past the end (count == size) lands after the last item.
size_t points_at(const providers::InferenceRequest& request, providers::CachePoint::Section section,
                 size_t message, size_t count) {
  size_t n = 0;
  for (const providers::CachePoint& point : request.cache_points) {
    if (point.section != section) continue;
    if (section == providers::CachePoint::Section::kMessages && point.message != message) continue;
    if (point.count == count) ++n;
  }
  return n;
}

void push_cache_points(json::array& into, size_t n) {
  for (size_t i = 0; i < n; ++i) into.push_back(cache_point_block());
}

}  // namespace

Result<std::string> converse_request_body(const providers::InferenceRequest& request) {
  json::object body;
  using Section = providers::CachePoint::Section;
  json::array messages;
  for (size_t m = 0; m < request.messages.size(); ++m) {
    const providers::Message& message = request.messages[m];
    json::array content;
    for (size_t b = 0; b < message.content.size(); ++b) {
      push_cache_points(content, points_at(request, Section::kMessages, m, b));
      auto part = content_block(message.content[b]);
      if (!part) return std::unexpected(part.error());
      content.push_back(std::move(*part));
    }
    push_cache_points(content, points_at(request, Section::kMessages, m, message.content.size()));
    messages.push_back(
        json::object{{"role", message.role == providers::Role::kUser ? "user" : "assistant"},
                     {"content", std::move(content)}});
  }
  body["messages"] = std::move(messages);
  json::array system;
  for (size_t i = 0; i < request.system.size(); ++i) {
    push_cache_points(system, points_at(request, Section::kSystem, 0, i));
    system.push_back(json::object{{"text", request.system[i]}});
  }
  push_cache_points(system, points_at(request, Section::kSystem, 0, request.system.size()));
  if (!system.empty()) body["system"] = std::move(system);
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
  for (size_t i = 0; i < request.tools.size(); ++i) {
    push_cache_points(tools, points_at(request, Section::kTools, 0, i));
    const providers::ToolSpec& tool = request.tools[i];
    auto schema = parse_json(tool.input_schema_json, "a tool's input schema");
    if (!schema) return std::unexpected(schema.error());
    json::object spec{{"name", tool.name}, {"inputSchema", json::object{{"json", *schema}}}};
    if (!tool.description.empty()) spec["description"] = tool.description;
    tools.push_back(json::object{{"toolSpec", std::move(spec)}});
  }
  push_cache_points(tools, points_at(request, Section::kTools, 0, request.tools.size()));
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
