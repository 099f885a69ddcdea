// Converse request JSON -> providers::InferenceRequest, with Bedrock's validation rules.
#include <string>

#include "document_blocks.h"
#include "json_input.h"
#include "plinth/api/bedrock_converse.h"
#include "shared_validation.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using json_input::malformed;
using providers::ContentBlock;

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

// toolResult.content: [{text}|{json}] rendered as text for the model.
Result<std::string> tool_result_text(const json::object& result, const std::string& path) {
  auto content = json_input::optional_array(result, "content", path + ".content");
  if (!content) return std::unexpected(content.error());
  std::string text;
  if (*content == nullptr) return text;
  for (size_t i = 0; i < (*content)->size(); ++i) {
    const json::value& item = (**content)[i];
    std::string item_path = path + ".content." + std::to_string(i);
    if (!item.is_object()) return malformed(item_path, "expected an object");
    const json::object& o = item.as_object();
    if (!text.empty()) text += "\n";
    if (const json::value* t = o.if_contains("text")) {
      if (!t->is_string()) return malformed(item_path + ".text", "expected a string");
      text += t->as_string();
    } else if (const json::value* j = o.if_contains("json")) {
      text += json::serialize(*j);
    } else if (o.contains("image") || o.contains("document") || o.contains("video")) {
      return invalid(
          "This model doesn't support the tool result content block that you provided. Try "
          "again with a text or json tool result.");
    } else {
      return malformed(item_path, "expected one of text, json");
    }
  }
  return text;
}

// {document: {format, name, source: {bytes}}}: bytes arrive base64-encoded in the JSON body.
Result<ContentBlock> parse_document(const json::value& member, const std::string& path) {
  if (!member.is_object()) return malformed(path, "expected an object");
  const json::object& d = member.as_object();
  auto format = json_input::optional_string(d, "format", path + ".format");
  if (!format) return std::unexpected(format.error());
  auto name = json_input::optional_string(d, "name", path + ".name");
  if (!name) return std::unexpected(name.error());
  if (!*format || !*name) return malformed(path, "format and name are required");
  if (auto status = document_blocks::check_bedrock_name(**name, path + ".name"); !status) {
    return std::unexpected(status.error());
  }
  auto source = json_input::optional_object(d, "source", path + ".source");
  if (!source) return std::unexpected(source.error());
  if (*source == nullptr) return malformed(path + ".source", "is required");
  auto bytes = json_input::optional_string(**source, "bytes", path + ".source.bytes");
  if (!bytes) return std::unexpected(bytes.error());
  if (!*bytes) {
    return invalid("The document source at " + path +
                   ".source is not supported: send the file as source.bytes.");
  }
  auto decoded = document_blocks::decode_base64_bytes(**bytes, path + ".source.bytes");
  if (!decoded) return std::unexpected(decoded.error());
  return document_blocks::document_block(**format, std::move(**name), std::move(*decoded), path);
}

Result<ContentBlock> parse_block(const json::value& value, providers::Role role,
                                 const std::string& path) {
  if (!value.is_object()) return malformed(path, "expected a content block object");
  const json::object& o = value.as_object();
  if (o.size() != 1) {
    return malformed(path, "a content block must have exactly one member");
  }
  const auto& [key, member] = *o.begin();
  ContentBlock block;
  if (key == "text") {
    if (!member.is_string()) return malformed(path + ".text", "expected a string");
    block.kind = ContentBlock::Kind::kText;
    block.text = std::string(member.as_string());
    return block;
  }
  if (key == "document") return parse_document(member, path + ".document");
  if (key == "image" || key == "video") {
    return invalid("This model doesn't support the " + std::string(key) +
                   " content block that you provided. Try again with a supported content block "
                   "(text, document, toolUse, toolResult).");
  }
  if (key == "toolUse") {
    if (role != providers::Role::kAssistant) {
      return invalid("A toolUse content block may appear only in an assistant message (" + path +
                     ").");
    }
    if (!member.is_object()) return malformed(path + ".toolUse", "expected an object");
    const json::object& use = member.as_object();
    auto id = json_input::optional_string(use, "toolUseId", path + ".toolUse.toolUseId");
    if (!id) return std::unexpected(id.error());
    auto name = json_input::optional_string(use, "name", path + ".toolUse.name");
    if (!name) return std::unexpected(name.error());
    if (!*id || !*name) return malformed(path + ".toolUse", "toolUseId and name are required");
    const json::value* input = use.if_contains("input");
    if (input == nullptr) return malformed(path + ".toolUse.input", "is required");
    block.kind = ContentBlock::Kind::kToolUse;
    block.tool_use_id = **id;
    block.tool_name = **name;
    block.tool_input_json = json::serialize(*input);
    return block;
  }
  if (key == "toolResult") {
    if (role != providers::Role::kUser) {
      return invalid("A toolResult content block may appear only in a user message (" + path +
                     ").");
    }
    if (!member.is_object()) return malformed(path + ".toolResult", "expected an object");
    const json::object& result = member.as_object();
    auto id = json_input::optional_string(result, "toolUseId", path + ".toolResult.toolUseId");
    if (!id) return std::unexpected(id.error());
    if (!*id) return malformed(path + ".toolResult.toolUseId", "is required");
    auto text = tool_result_text(result, path + ".toolResult");
    if (!text) return std::unexpected(text.error());
    block.kind = ContentBlock::Kind::kToolResult;
    block.tool_use_id = **id;
    block.text = std::move(*text);
    return block;
  }
  return invalid("The content block '" + std::string(key) + "' at " + path +
                 " is not supported by this model.");
}

Status parse_messages(const json::object& body, providers::InferenceRequest& request) {
  auto messages = json_input::optional_array(body, "messages", "messages");
  if (!messages) return std::unexpected(messages.error());
  if (*messages == nullptr || (*messages)->empty()) {
    return invalid(
        "A conversation must start with a user message. Try again with a conversation that "
        "starts with a user message.");
  }
  for (size_t i = 0; i < (*messages)->size(); ++i) {
    const json::value& m = (**messages)[i];
    std::string path = "messages." + std::to_string(i);
    if (!m.is_object()) return malformed(path, "expected an object");
    auto role_text = json_input::optional_string(m.as_object(), "role", path + ".role");
    if (!role_text) return std::unexpected(role_text.error());
    auto role = shared_validation::parse_role(role_text->value_or(""), path);
    if (!role) return std::unexpected(role.error());
    if (i == 0 && *role != providers::Role::kUser) {
      return invalid(
          "A conversation must start with a user message. Try again with a conversation that "
          "starts with a user message.");
    }
    if (i > 0 && *role == request.messages.back().role) {
      return invalid(
          "A conversation must alternate between user and assistant roles. Make sure the "
          "conversation alternates between user and assistant roles and try again.");
    }
    auto content = json_input::optional_array(m.as_object(), "content", path + ".content");
    if (!content) return std::unexpected(content.error());
    if (*content == nullptr || (*content)->empty()) {
      return invalid("The content field in the Message object at " + path +
                     " is empty. Add a content block to the message and try again.");
    }
    providers::Message message;
    message.role = *role;
    for (size_t j = 0; j < (*content)->size(); ++j) {
      const std::string block_path = path + ".content." + std::to_string(j);
      const json::object* o = (**content)[j].if_object();
      if (o != nullptr && o->size() == 1 && o->contains("cachePoint")) {
        const providers::CachePoint point{providers::CachePoint::Section::kMessages,
                                          request.messages.size(), message.content.size()};
        if (auto status = shared_validation::add_cache_point(
                o->at("cachePoint"), "default", block_path + ".cachePoint", point, request);
            !status) {
          return std::unexpected(status.error());
        }
        continue;
      }
      auto block = parse_block((**content)[j], *role, block_path);
      if (!block) return std::unexpected(block.error());
      message.content.push_back(std::move(*block));
    }
    request.messages.push_back(std::move(message));
  }
  return ok();
}

Status parse_system(const json::object& body, providers::InferenceRequest& request) {
  auto system = json_input::optional_array(body, "system", "system");
  if (!system) return std::unexpected(system.error());
  if (*system == nullptr) return ok();
  for (size_t i = 0; i < (*system)->size(); ++i) {
    const json::value& block = (**system)[i];
    std::string path = "system." + std::to_string(i);
    if (!block.is_object()) return malformed(path, "expected an object");
    const json::object& o = block.as_object();
    if (const json::value* spec = o.if_contains("cachePoint")) {
      const providers::CachePoint point{providers::CachePoint::Section::kSystem, 0,
                                        request.system.size()};
      if (auto status = shared_validation::add_cache_point(*spec, "default", path + ".cachePoint",
                                                           point, request);
          !status) {
        return std::unexpected(status.error());
      }
      continue;
    }
    auto text = json_input::optional_string(o, "text", path + ".text");
    if (!text) return std::unexpected(text.error());
    if (!*text) return invalid("The system content block at " + path + " is not supported.");
    request.system.push_back(std::move(**text));
  }
  return ok();
}

Status parse_inference_config(const json::object& body, const RequestLimits& limits,
                              providers::InferenceRequest& request) {
  auto config = json_input::optional_object(body, "inferenceConfig", "inferenceConfig");
  if (!config) return std::unexpected(config.error());
  request.max_tokens = limits.default_max_tokens;
  request.max_tokens_defaulted = true;
  if (*config == nullptr) return ok();
  const json::object& c = **config;
  auto max_tokens =
      shared_validation::max_tokens(c, "maxTokens", "inferenceConfig.maxTokens", limits);
  if (!max_tokens) return std::unexpected(max_tokens.error());
  if (*max_tokens) {
    request.max_tokens = **max_tokens;
    request.max_tokens_defaulted = false;
  }
  auto temperature =
      json_input::optional_float_in_range(c, "temperature", "inferenceConfig.temperature", 0, 1);
  if (!temperature) return std::unexpected(temperature.error());
  request.temperature = *temperature;
  auto top_p = json_input::optional_float_in_range(c, "topP", "inferenceConfig.topP", 0, 1);
  if (!top_p) return std::unexpected(top_p.error());
  request.top_p = *top_p;
  auto stops = shared_validation::stop_sequences(c, "stopSequences",
                                                 "inferenceConfig.stopSequences", limits);
  if (!stops) return std::unexpected(stops.error());
  request.stop_sequences = std::move(*stops);
  return ok();
}

// Anthropic's native structured output, passed through Converse by Claude 4.5+ clients (the AI
// SDK's structuredOutputMode 'outputFormat'): output_config.format = {type: json_schema, schema}.
Status parse_anthropic_output_format(const json::object& extra,
                                     providers::InferenceRequest& request) {
  const std::string prefix = "additionalModelRequestFields.output_config";
  auto config = json_input::optional_object(extra, "output_config", prefix);
  if (!config) return std::unexpected(config.error());
  if (*config == nullptr) return ok();
  auto format = json_input::optional_object(**config, "format", prefix + ".format");
  if (!format) return std::unexpected(format.error());
  if (*format == nullptr) return ok();
  auto type = json_input::optional_string(**format, "type", prefix + ".format.type");
  if (!type) return std::unexpected(type.error());
  if (type->value_or("") != "json_schema") {
    return malformed(prefix + ".format.type", "must be json_schema");
  }
  auto schema = json_input::optional_object(**format, "schema", prefix + ".format.schema");
  if (!schema) return std::unexpected(schema.error());
  if (*schema == nullptr) return malformed(prefix + ".format.schema", "is required");
  auto schema_json =
      shared_validation::schema_text(json::serialize(**schema), prefix + ".format.schema");
  if (!schema_json) return std::unexpected(schema_json.error());
  request.output_schema_json = std::move(*schema_json);
  return ok();
}

Status parse_additional_fields(const json::object& body, providers::InferenceRequest& request) {
  auto extra = json_input::optional_object(body, "additionalModelRequestFields",
                                           "additionalModelRequestFields");
  if (!extra) return std::unexpected(extra.error());
  if (*extra == nullptr) return ok();
  auto top_k = shared_validation::top_k(**extra, "top_k", "additionalModelRequestFields.top_k");
  if (!top_k) return std::unexpected(top_k.error());
  request.top_k = *top_k;
  auto seed = json_input::optional_integer(**extra, "seed", "additionalModelRequestFields.seed");
  if (!seed) return std::unexpected(seed.error());
  if (*seed) request.seed = static_cast<uint64_t>(**seed);
  return parse_anthropic_output_format(**extra, request);
}

Status parse_tool_config(const json::object& body, providers::InferenceRequest& request) {
  auto config = json_input::optional_object(body, "toolConfig", "toolConfig");
  if (!config) return std::unexpected(config.error());
  if (*config == nullptr) return ok();
  auto tools = json_input::optional_array(**config, "tools", "toolConfig.tools");
  if (!tools) return std::unexpected(tools.error());
  if (*tools == nullptr || (*tools)->empty()) {
    return invalid("The toolConfig field must be defined with at least one tool.");
  }
  for (size_t i = 0; i < (*tools)->size(); ++i) {
    std::string path = "toolConfig.tools." + std::to_string(i);
    const json::value& tool = (**tools)[i];
    if (!tool.is_object()) return malformed(path, "expected an object");
    auto spec = json_input::optional_object(tool.as_object(), "toolSpec", path + ".toolSpec");
    if (!spec) return std::unexpected(spec.error());
    if (*spec == nullptr) {
      const json::value* cache = tool.as_object().if_contains("cachePoint");
      if (cache == nullptr) return malformed(path, "expected a toolSpec");
      const providers::CachePoint point{providers::CachePoint::Section::kTools, 0,
                                        request.tools.size()};
      if (auto status = shared_validation::add_cache_point(*cache, "default", path + ".cachePoint",
                                                           point, request);
          !status) {
        return std::unexpected(status.error());
      }
      continue;
    }
    providers::ToolSpec out;
    auto name = json_input::optional_string(**spec, "name", path + ".toolSpec.name");
    if (!name) return std::unexpected(name.error());
    if (!*name || (*name)->empty()) return malformed(path + ".toolSpec.name", "is required");
    out.name = **name;
    auto description =
        json_input::optional_string(**spec, "description", path + ".toolSpec.description");
    if (!description) return std::unexpected(description.error());
    out.description = description->value_or("");
    auto schema =
        json_input::optional_object(**spec, "inputSchema", path + ".toolSpec.inputSchema");
    if (!schema) return std::unexpected(schema.error());
    const json::value* schema_json = *schema ? (*schema)->if_contains("json") : nullptr;
    if (schema_json == nullptr || !schema_json->is_object()) {
      return malformed(path + ".toolSpec.inputSchema.json", "a JSON Schema object is required");
    }
    out.input_schema_json = json::serialize(*schema_json);
    request.tools.push_back(std::move(out));
  }
  auto choice = json_input::optional_object(**config, "toolChoice", "toolConfig.toolChoice");
  if (!choice) return std::unexpected(choice.error());
  if (*choice == nullptr || (*choice)->contains("auto")) return ok();
  if ((*choice)->contains("any")) {
    // The engine can force one named tool; "any" with a single tool is exactly that.
    if (request.tools.size() != 1) {
      return invalid(
          "toolChoice 'any' is supported only with exactly one tool on this model; name the tool "
          "with toolChoice 'tool' instead.");
    }
    request.forced_tool = request.tools.front().name;
    return ok();
  }
  auto named = json_input::optional_object(**choice, "tool", "toolConfig.toolChoice.tool");
  if (!named) return std::unexpected(named.error());
  if (*named == nullptr) return malformed("toolConfig.toolChoice", "expected auto, any or tool");
  auto name = json_input::optional_string(**named, "name", "toolConfig.toolChoice.tool.name");
  if (!name) return std::unexpected(name.error());
  if (!*name) return malformed("toolConfig.toolChoice.tool.name", "is required");
  for (const auto& tool : request.tools) {
    if (tool.name == **name) {
      request.forced_tool = **name;
      return ok();
    }
  }
  return invalid("The tool named in toolChoice ('" + **name + "') is not in toolConfig.tools.");
}

Status parse_output_config(const json::object& body, providers::InferenceRequest& request) {
  auto config = json_input::optional_object(body, "outputConfig", "outputConfig");
  if (!config) return std::unexpected(config.error());
  if (*config == nullptr) return ok();
  auto format = json_input::optional_object(**config, "textFormat", "outputConfig.textFormat");
  if (!format) return std::unexpected(format.error());
  if (*format == nullptr) return ok();
  if (request.output_schema_json) {
    return invalid(
        "Give the JSON schema in outputConfig.textFormat or in "
        "additionalModelRequestFields.output_config.format, not both.");
  }
  auto type = json_input::optional_string(**format, "type", "outputConfig.textFormat.type");
  if (!type) return std::unexpected(type.error());
  if (type->value_or("") != "json_schema") {
    return malformed("outputConfig.textFormat.type", "must be json_schema");
  }
  auto structure =
      json_input::optional_object(**format, "structure", "outputConfig.textFormat.structure");
  if (!structure) return std::unexpected(structure.error());
  const json::object* json_schema = nullptr;
  if (*structure != nullptr) {
    auto js = json_input::optional_object(**structure, "jsonSchema",
                                          "outputConfig.textFormat.structure.jsonSchema");
    if (!js) return std::unexpected(js.error());
    json_schema = *js;
  }
  const std::string path = "outputConfig.textFormat.structure.jsonSchema.schema";
  if (json_schema == nullptr) return malformed(path, "is required");
  auto schema = json_input::optional_string(*json_schema, "schema", path);
  if (!schema) return std::unexpected(schema.error());
  if (!*schema) return malformed(path, "is required");
  auto schema_json = shared_validation::schema_text(**schema, path);
  if (!schema_json) return std::unexpected(schema_json.error());
  request.output_schema_json = std::move(*schema_json);
  return ok();
}

}  // namespace

Result<providers::InferenceRequest> parse_converse_request(std::string_view body,
                                                           const RequestLimits& limits) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  return parse_converse_request(*parsed, limits);
}

Result<providers::InferenceRequest> parse_converse_request(const json::object& body,
                                                           const RequestLimits& limits) {
  providers::InferenceRequest request;
  for (auto step : {parse_messages, parse_system, parse_additional_fields, parse_tool_config,
                    parse_output_config}) {
    if (auto status = step(body, request); !status) return std::unexpected(status.error());
  }
  if (auto status = parse_inference_config(body, limits, request); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = document_blocks::render_document_blocks(request, /*unique_names=*/true);
      !status) {
    return std::unexpected(status.error());
  }
  return request;
}

}  // namespace plinth::api
