// Anthropic Messages bodies -> providers::InferenceRequest: the Bedrock InvokeModel form
// (anthropic_version bedrock-2023-05-31) and the Messages API's own (POST /v1/messages).
#include "anthropic_messages_request.h"

#include "document_blocks.h"
#include "json_input.h"
#include "plinth/api/anthropic_messages.h"
#include "plinth/core/encoding.h"
#include "shared_validation.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using json_input::malformed;
using providers::ContentBlock;

constexpr size_t kMaxImageBytes = 5 * 1024 * 1024;  // Anthropic's per-image limit
constexpr size_t kMaxUserIdLength = 256;            // Anthropic's metadata.user_id limit

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

// tool_result content: a string or [{type:text,text}].
Result<std::string> tool_result_text(const json::value* content, const std::string& path) {
  if (content == nullptr || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->as_string());
  if (!content->is_array()) return malformed(path, "expected a string or an array of blocks");
  std::string text;
  for (const json::value& item : content->as_array()) {
    const json::object* o = item.if_object();
    const json::value* type = o ? o->if_contains("type") : nullptr;
    const json::value* t = o ? o->if_contains("text") : nullptr;
    if (type == nullptr || *type != "text" || t == nullptr || !t->is_string()) {
      return invalid("messages: tool_result content supports only text blocks on this model (" +
                     path + ")");
    }
    if (!text.empty()) text += "\n";
    text += t->as_string();
  }
  return text;
}

// {type:"document", source:{type:"base64", media_type:"application/pdf", data} or
// {type:"text", media_type:"text/plain", data}, title?}.
Result<ContentBlock> parse_document(const json::object& o, const std::string& path) {
  auto source = json_input::optional_object(o, "source", path + ".source");
  if (!source) return std::unexpected(source.error());
  if (*source == nullptr) return malformed(path + ".source", "is required");
  const json::object& s = **source;
  auto type = json_input::optional_string(s, "type", path + ".source.type");
  if (!type) return std::unexpected(type.error());
  auto media_type = json_input::optional_string(s, "media_type", path + ".source.media_type");
  if (!media_type) return std::unexpected(media_type.error());
  auto data = json_input::optional_string(s, "data", path + ".source.data");
  if (!data) return std::unexpected(data.error());
  auto title = json_input::optional_string(o, "title", path + ".title");
  if (!title) return std::unexpected(title.error());
  if (!*type || !*media_type || !*data) {
    return malformed(path + ".source", "type, media_type and data are required");
  }
  std::string format = document_blocks::format_of_media_type(**media_type);
  if (**type == "base64" && **media_type == "application/pdf") {
    auto bytes = document_blocks::decode_base64_bytes(**data, path + ".source.data");
    if (!bytes) return std::unexpected(bytes.error());
    return document_blocks::document_block(format, title->value_or(""), std::move(*bytes), path);
  }
  if (**type == "text" && **media_type == "text/plain") {
    return document_blocks::document_block(format, title->value_or(""), std::move(**data), path);
  }
  return invalid("messages: document source " + **type + " with media_type " + **media_type +
                 " is not supported; use base64 application/pdf or text text/plain (" + path +
                 ".source)");
}

// {type:"image", source:{type:"base64", media_type:"image/png|jpeg|gif|webp", data}}: a kImage
// block whose document_format is the Converse image format and document_bytes the decoded
// image. URL sources are refused: Plinth does not fetch URLs on a caller's behalf.
Result<ContentBlock> parse_image(const json::object& o, const std::string& path) {
  auto source = json_input::optional_object(o, "source", path + ".source");
  if (!source) return std::unexpected(source.error());
  if (*source == nullptr) return malformed(path + ".source", "is required");
  auto type = json_input::optional_string(**source, "type", path + ".source.type");
  if (!type) return std::unexpected(type.error());
  if (type->value_or("") != "base64") {
    return invalid(
        "messages: image sources must be {\"type\":\"base64\",...}; url sources are "
        "not supported (" +
        path + ".source)");
  }
  auto media_type =
      json_input::optional_string(**source, "media_type", path + ".source.media_type");
  if (!media_type) return std::unexpected(media_type.error());
  std::string format;
  for (std::string_view known : {"png", "jpeg", "gif", "webp"}) {
    if (media_type->value_or("") == "image/" + std::string(known)) format = known;
  }
  if (format.empty()) {
    return malformed(path + ".source.media_type",
                     "expected image/jpeg, image/png, image/gif or image/webp");
  }
  auto data = json_input::optional_string(**source, "data", path + ".source.data");
  if (!data) return std::unexpected(data.error());
  if (!*data) return malformed(path + ".source.data", "is required");
  // Four characters carry three bytes: refuse before decoding anything too large.
  if ((*data)->size() / 4 * 3 > kMaxImageBytes + 3) {
    return invalid("messages: the image at " + path + " is larger than the 5 MB limit");
  }
  auto bytes = base64_decode(**data);
  if (!bytes) return malformed(path + ".source.data", "is not valid base64");
  ContentBlock block;
  block.kind = ContentBlock::Kind::kImage;
  block.document_format = std::move(format);
  block.document_bytes = std::move(*bytes);
  return block;
}

}  // namespace

Status cache_control(const json::value& block, const std::string& path, providers::CachePoint point,
                     providers::InferenceRequest& request) {
  const json::object* o = block.if_object();
  const json::value* spec = o ? o->if_contains("cache_control") : nullptr;
  if (spec == nullptr || spec->is_null()) return ok();
  return shared_validation::add_cache_point(*spec, "ephemeral", path + ".cache_control", point,
                                            request);
}

namespace {

Result<ContentBlock> parse_block(const json::value& value, providers::Role role,
                                 const std::string& path) {
  if (!value.is_object()) return malformed(path, "expected a content block object");
  const json::object& o = value.as_object();
  auto type = json_input::optional_string(o, "type", path + ".type");
  if (!type) return std::unexpected(type.error());
  if (!*type) return malformed(path + ".type", "is required");
  ContentBlock block;
  if (**type == "text") {
    auto text = json_input::optional_string(o, "text", path + ".text");
    if (!text) return std::unexpected(text.error());
    if (!*text) return malformed(path + ".text", "is required");
    block.text = std::move(**text);
    return block;
  }
  if (**type == "document") return parse_document(o, path);
  if (**type == "image") return parse_image(o, path);
  if (**type == "tool_use") {
    if (role != providers::Role::kAssistant) {
      return invalid("messages: tool_use blocks may appear only in assistant turns (" + path + ")");
    }
    auto id = json_input::optional_string(o, "id", path + ".id");
    if (!id) return std::unexpected(id.error());
    auto name = json_input::optional_string(o, "name", path + ".name");
    if (!name) return std::unexpected(name.error());
    const json::value* input = o.if_contains("input");
    if (!*id || !*name || input == nullptr || !input->is_object()) {
      return malformed(path, "tool_use needs id, name and an input object");
    }
    block.kind = ContentBlock::Kind::kToolUse;
    block.tool_use_id = **id;
    block.tool_name = **name;
    block.tool_input_json = json::serialize(*input);
    return block;
  }
  if (**type == "tool_result") {
    if (role != providers::Role::kUser) {
      return invalid("messages: tool_result blocks may appear only in user turns (" + path + ")");
    }
    auto id = json_input::optional_string(o, "tool_use_id", path + ".tool_use_id");
    if (!id) return std::unexpected(id.error());
    if (!*id) return malformed(path + ".tool_use_id", "is required");
    auto text = tool_result_text(o.if_contains("content"), path + ".content");
    if (!text) return std::unexpected(text.error());
    block.kind = ContentBlock::Kind::kToolResult;
    block.tool_use_id = **id;
    block.text = std::move(*text);
    return block;
  }
  return invalid("messages: unsupported content block type '" + **type + "' (" + path + ")");
}

Status parse_messages(const json::object& body, providers::InferenceRequest& request) {
  auto messages = json_input::optional_array(body, "messages", "messages");
  if (!messages) return std::unexpected(messages.error());
  if (*messages == nullptr || (*messages)->empty()) {
    return invalid("messages: at least one message is required");
  }
  for (size_t i = 0; i < (*messages)->size(); ++i) {
    std::string path = "messages." + std::to_string(i);
    const json::object* m = (**messages)[i].if_object();
    if (m == nullptr) return malformed(path, "expected an object");
    auto role_text = json_input::optional_string(*m, "role", path + ".role");
    if (!role_text) return std::unexpected(role_text.error());
    auto role = shared_validation::parse_role(role_text->value_or(""), path);
    if (!role) return std::unexpected(role.error());
    if (i == 0 && *role != providers::Role::kUser) {
      return invalid("messages: the first message must use the \"user\" role");
    }
    std::vector<ContentBlock> blocks;
    // The Messages API combines consecutive turns of the same role into one.
    const bool merge = !request.messages.empty() && request.messages.back().role == *role;
    const size_t into_message = merge ? request.messages.size() - 1 : request.messages.size();
    const size_t blocks_before = merge ? request.messages.back().content.size() : 0;
    const json::value* content = m->if_contains("content");
    if (content != nullptr && content->is_string()) {
      blocks.push_back(shared_validation::text_block(std::string(content->as_string())));
    } else if (content != nullptr && content->is_array() && !content->as_array().empty()) {
      for (size_t j = 0; j < content->as_array().size(); ++j) {
        const std::string block_path = path + ".content." + std::to_string(j);
        auto block = parse_block(content->as_array()[j], *role, block_path);
        if (!block) return std::unexpected(block.error());
        blocks.push_back(std::move(*block));
        const providers::CachePoint point{providers::CachePoint::Section::kMessages, into_message,
                                          blocks_before + blocks.size()};
        if (auto status = cache_control(content->as_array()[j], block_path, point, request);
            !status) {
          return std::unexpected(status.error());
        }
      }
    } else {
      return malformed(path + ".content", "expected a string or a non-empty array of blocks");
    }
    if (merge) {
      auto& into = request.messages.back().content;
      into.insert(into.end(), blocks.begin(), blocks.end());
    } else {
      request.messages.push_back(providers::Message{*role, std::move(blocks)});
    }
  }
  return ok();
}

Status parse_system(const json::object& body, providers::InferenceRequest& request) {
  const json::value* system = body.if_contains("system");
  if (system == nullptr || system->is_null()) return ok();
  if (system->is_string()) {
    if (!system->as_string().empty()) request.system.emplace_back(system->as_string());
    return ok();
  }
  if (!system->is_array()) return malformed("system", "expected a string or an array of blocks");
  for (const json::value& block : system->as_array()) {
    const json::object* o = block.if_object();
    const json::value* text = o ? o->if_contains("text") : nullptr;
    if (text == nullptr || !text->is_string()) {
      return malformed("system", "every block must be {\"type\":\"text\",\"text\":...}");
    }
    request.system.emplace_back(text->as_string());
    const providers::CachePoint point{providers::CachePoint::Section::kSystem, 0,
                                      request.system.size()};
    const std::string path = "system." + std::to_string(request.system.size() - 1);
    if (auto status = cache_control(block, path, point, request); !status) {
      return std::unexpected(status.error());
    }
  }
  return ok();
}

Status parse_tools(const json::object& body, providers::InferenceRequest& request) {
  auto tools = json_input::optional_array(body, "tools", "tools");
  if (!tools) return std::unexpected(tools.error());
  if (*tools != nullptr) {
    for (size_t i = 0; i < (*tools)->size(); ++i) {
      std::string path = "tools." + std::to_string(i);
      const json::object* t = (**tools)[i].if_object();
      if (t == nullptr) return malformed(path, "expected an object");
      auto name = json_input::optional_string(*t, "name", path + ".name");
      if (!name) return std::unexpected(name.error());
      auto description = json_input::optional_string(*t, "description", path + ".description");
      if (!description) return std::unexpected(description.error());
      const json::value* schema = t->if_contains("input_schema");
      if (!*name || (*name)->empty() || schema == nullptr || !schema->is_object()) {
        return malformed(path, "a tool needs a name and an input_schema object");
      }
      request.tools.push_back(
          providers::ToolSpec{**name, description->value_or(""), json::serialize(*schema)});
      const providers::CachePoint point{providers::CachePoint::Section::kTools, 0,
                                        request.tools.size()};
      if (auto status = cache_control((**tools)[i], path, point, request); !status) {
        return std::unexpected(status.error());
      }
    }
  }
  auto choice = json_input::optional_object(body, "tool_choice", "tool_choice");
  if (!choice) return std::unexpected(choice.error());
  if (*choice == nullptr) return ok();
  auto type = json_input::optional_string(**choice, "type", "tool_choice.type");
  if (!type) return std::unexpected(type.error());
  std::string kind = type->value_or("");
  if (kind == "auto") return ok();
  if (kind == "none") {
    // The model must not call a tool: none is offered.
    request.tools.clear();
    return ok();
  }
  if (request.tools.empty()) return invalid("tool_choice: no tools were given");
  if (kind == "any") {
    if (request.tools.size() != 1) {
      return invalid("tool_choice: \"any\" is supported only with exactly one tool on this model");
    }
    request.forced_tool = request.tools.front().name;
    return ok();
  }
  if (kind != "tool") return malformed("tool_choice.type", "expected auto, any, tool or none");
  auto name = json_input::optional_string(**choice, "name", "tool_choice.name");
  if (!name) return std::unexpected(name.error());
  for (const auto& tool : request.tools) {
    if (name->has_value() && tool.name == **name) {
      request.forced_tool = tool.name;
      return ok();
    }
  }
  return invalid("tool_choice: the named tool is not in tools");
}

// The fields the Bedrock body and the Messages API share.
Result<providers::InferenceRequest> parse_common(const json::object& body,
                                                 const RequestLimits& limits) {
  providers::InferenceRequest request;
  auto max_tokens = shared_validation::max_tokens(body, "max_tokens", "max_tokens", limits);
  if (!max_tokens) return std::unexpected(max_tokens.error());
  if (!*max_tokens) return malformed("", "required key [max_tokens] not found");
  request.max_tokens = **max_tokens;
  auto temperature = json_input::optional_float_in_range(body, "temperature", "temperature", 0, 1);
  if (!temperature) return std::unexpected(temperature.error());
  request.temperature = *temperature;
  auto top_p = json_input::optional_float_in_range(body, "top_p", "top_p", 0, 1);
  if (!top_p) return std::unexpected(top_p.error());
  request.top_p = *top_p;
  auto top_k = shared_validation::top_k(body, "top_k", "top_k");
  if (!top_k) return std::unexpected(top_k.error());
  request.top_k = *top_k;
  auto stops = shared_validation::stop_sequences(body, "stop_sequences", "stop_sequences", limits);
  if (!stops) return std::unexpected(stops.error());
  request.stop_sequences = std::move(*stops);
  for (auto step : {parse_system, parse_messages, parse_tools}) {
    if (auto status = step(body, request); !status) return std::unexpected(status.error());
  }
  if (auto status = document_blocks::render_document_blocks(request, /*unique_names=*/false);
      !status) {
    return std::unexpected(status.error());
  }
  return request;
}

}  // namespace

Result<providers::InferenceRequest> parse_anthropic_messages(const json::object& body,
                                                             const RequestLimits& limits) {
  auto version = json_input::optional_string(body, "anthropic_version", "anthropic_version");
  if (!version) return std::unexpected(version.error());
  if (!*version) return malformed("", "required key [anthropic_version] not found");
  if (**version != "bedrock-2023-05-31") {
    return invalid("anthropic_version: unsupported version '" + **version +
                   "'; use bedrock-2023-05-31");
  }
  return parse_common(body, limits);
}

Result<AnthropicMessagesRequest> parse_anthropic_messages_request(std::string_view body,
                                                                  const RequestLimits& limits) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  AnthropicMessagesRequest request;
  auto model = json_input::optional_string(*parsed, "model", "model");
  if (!model) return std::unexpected(model.error());
  if (!*model || (*model)->empty()) return invalid("model: Field required");
  request.model = std::move(**model);
  auto stream = json_input::optional_bool(*parsed, "stream", "stream");
  if (!stream) return std::unexpected(stream.error());
  request.stream = stream->value_or(false);
  auto metadata = json_input::optional_object(*parsed, "metadata", "metadata");
  if (!metadata) return std::unexpected(metadata.error());
  if (*metadata != nullptr) {
    auto user = json_input::optional_string(**metadata, "user_id", "metadata.user_id");
    if (!user) return std::unexpected(user.error());
    if (*user && (*user)->size() > kMaxUserIdLength) {
      return invalid("metadata.user_id: at most " + std::to_string(kMaxUserIdLength) +
                     " characters");
    }
    request.metadata_user_id = std::move(*user);
  }
  auto inference = parse_common(*parsed, limits);
  if (!inference) return std::unexpected(inference.error());
  request.inference = std::move(*inference);
  return request;
}

}  // namespace plinth::api
