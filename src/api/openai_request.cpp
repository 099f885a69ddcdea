// OpenAI /v1/chat/completions and /v1/embeddings request bodies -> internal requests.
#include <cctype>

#include "document_blocks.h"
#include "json_input.h"
#include "plinth/api/openai.h"
#include "shared_validation.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using json_input::malformed;
using providers::ContentBlock;
using providers::Role;

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

// A {type:"file", file:{filename?, file_data:"data:<media type>;base64,<bytes>"}} part. The format
// comes from the media type, else from the filename's extension.
Result<ContentBlock> file_part(const json::object& part, const std::string& path) {
  auto file = json_input::optional_object(part, "file", path + ".file");
  if (!file) return std::unexpected(file.error());
  if (*file == nullptr) return malformed(path + ".file", "is required");
  auto filename = json_input::optional_string(**file, "filename", path + ".file.filename");
  if (!filename) return std::unexpected(filename.error());
  auto data = json_input::optional_string(**file, "file_data", path + ".file.file_data");
  if (!data) return std::unexpected(data.error());
  if (!*data) {
    return invalid("Invalid file part in " + path +
                   ": only file_data (a base64 data: URL) is supported, not file_id.");
  }
  std::string_view url = **data;
  size_t comma = url.find(',');
  std::string_view header = url.substr(0, comma);
  if (!url.starts_with("data:") || comma == std::string_view::npos ||
      !header.ends_with(";base64")) {
    return invalid("Invalid file_data in " + path +
                   ": expected a data URL such as data:application/pdf;base64,<bytes>.");
  }
  std::string format = document_blocks::format_of_media_type(header.substr(5));
  std::string name = filename->value_or("");
  if (format.empty()) {
    size_t dot = name.rfind('.');
    format = dot == std::string::npos ? "" : name.substr(dot + 1);
    for (char& c : format) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (format == "markdown") format = "md";
    if (format == "htm") format = "html";
  }
  auto bytes = document_blocks::decode_base64_bytes(url.substr(comma + 1), path + ".file");
  if (!bytes) return std::unexpected(bytes.error());
  return document_blocks::document_block(format, std::move(name), std::move(*bytes), path);
}

// content: a string, or [{type:"text",text}] parts joined together. With `documents`, file
// parts are allowed and land there (user messages).
Result<std::string> content_text(const json::value* content, const std::string& path,
                                 std::vector<ContentBlock>* documents = nullptr) {
  if (content == nullptr || content->is_null()) return std::string();
  if (content->is_string()) return std::string(content->as_string());
  if (!content->is_array()) return malformed(path, "expected a string or an array of parts");
  std::string text;
  for (const json::value& part : content->as_array()) {
    const json::object* o = part.if_object();
    const json::value* type = o ? o->if_contains("type") : nullptr;
    if (documents != nullptr && type != nullptr && *type == "file") {
      auto block = file_part(*o, path);
      if (!block) return std::unexpected(block.error());
      documents->push_back(std::move(*block));
      continue;
    }
    if (type != nullptr && type->is_string() && type->as_string() != "text") {
      return invalid("Invalid content part type '" + std::string(type->as_string()) + "' in " +
                     path + ": this model accepts text and file parts only.");
    }
    const json::value* t = o ? o->if_contains("text") : nullptr;
    if (t == nullptr || !t->is_string()) return malformed(path, "a text part needs a text string");
    text += t->as_string();
  }
  return text;
}

void append_turn(providers::InferenceRequest& request, Role role, ContentBlock block) {
  // Consecutive turns of one role (several tool results, say) form one message.
  if (request.messages.empty() || request.messages.back().role != role) {
    request.messages.push_back(providers::Message{role, {}});
  }
  request.messages.back().content.push_back(std::move(block));
}

Status parse_assistant_tool_calls(const json::object& message, const std::string& path,
                                  providers::InferenceRequest& request) {
  auto calls = json_input::optional_array(message, "tool_calls", path + ".tool_calls");
  if (!calls) return std::unexpected(calls.error());
  if (*calls == nullptr) return ok();
  for (const json::value& call : **calls) {
    const json::object* c = call.if_object();
    const json::object* fn =
        c && c->if_contains("function") ? c->at("function").if_object() : nullptr;
    const json::value* id = c ? c->if_contains("id") : nullptr;
    if (fn == nullptr || id == nullptr || !id->is_string()) {
      return malformed(path + ".tool_calls", "each call needs an id and a function");
    }
    auto name = json_input::optional_string(*fn, "name", path + ".tool_calls.function.name");
    if (!name) return std::unexpected(name.error());
    auto arguments =
        json_input::optional_string(*fn, "arguments", path + ".tool_calls.function.arguments");
    if (!arguments) return std::unexpected(arguments.error());
    ContentBlock block;
    block.kind = ContentBlock::Kind::kToolUse;
    block.tool_use_id = std::string(id->as_string());
    block.tool_name = name->value_or("");
    block.tool_input_json = arguments->value_or("{}");
    append_turn(request, Role::kAssistant, std::move(block));
  }
  return ok();
}

Status parse_messages(const json::object& body, providers::InferenceRequest& request) {
  auto messages = json_input::optional_array(body, "messages", "messages");
  if (!messages) return std::unexpected(messages.error());
  if (*messages == nullptr || (*messages)->empty()) {
    return invalid("'messages' must contain at least one message.");
  }
  for (size_t i = 0; i < (*messages)->size(); ++i) {
    std::string path = "messages[" + std::to_string(i) + "]";
    const json::object* m = (**messages)[i].if_object();
    if (m == nullptr) return malformed(path, "expected an object");
    auto role = json_input::optional_string(*m, "role", path + ".role");
    if (!role) return std::unexpected(role.error());
    std::string r = role->value_or("");
    std::vector<ContentBlock> documents;
    auto text = content_text(m->if_contains("content"), path + ".content",
                             r == "user" ? &documents : nullptr);
    if (!text) return std::unexpected(text.error());
    if (r == "system" || r == "developer") {
      request.system.push_back(std::move(*text));
    } else if (r == "user") {
      for (ContentBlock& document : documents) {
        append_turn(request, Role::kUser, std::move(document));
      }
      if (!text->empty() || documents.empty()) {
        append_turn(request, Role::kUser, shared_validation::text_block(std::move(*text)));
      }
    } else if (r == "assistant") {
      if (!text->empty())
        append_turn(request, Role::kAssistant, shared_validation::text_block(*text));
      if (auto status = parse_assistant_tool_calls(*m, path, request); !status) return status;
    } else if (r == "tool") {
      auto id = json_input::optional_string(*m, "tool_call_id", path + ".tool_call_id");
      if (!id) return std::unexpected(id.error());
      if (!*id) return malformed(path + ".tool_call_id", "is required");
      ContentBlock block = shared_validation::text_block(std::move(*text));
      block.kind = ContentBlock::Kind::kToolResult;
      block.tool_use_id = **id;
      append_turn(request, Role::kUser, std::move(block));
    } else {
      return invalid("Invalid value for '" + path +
                     ".role': expected one of system, developer, user, assistant, tool.");
    }
  }
  if (request.messages.empty()) return invalid("'messages' must contain a user message.");
  return ok();
}

Status parse_tools(const json::object& body, providers::InferenceRequest& request) {
  auto tools = json_input::optional_array(body, "tools", "tools");
  if (!tools) return std::unexpected(tools.error());
  if (*tools != nullptr) {
    for (const json::value& tool : **tools) {
      const json::object* t = tool.if_object();
      const json::value* fn_value = t ? t->if_contains("function") : nullptr;
      const json::object* fn = fn_value ? fn_value->if_object() : nullptr;
      if (fn == nullptr) return malformed("tools", "each tool needs a function object");
      auto name = json_input::optional_string(*fn, "name", "tools.function.name");
      if (!name) return std::unexpected(name.error());
      auto description =
          json_input::optional_string(*fn, "description", "tools.function.description");
      if (!description) return std::unexpected(description.error());
      if (!*name || (*name)->empty()) return malformed("tools.function.name", "is required");
      const json::value* params = fn->if_contains("parameters");
      std::string schema = params && params->is_object() ? json::serialize(*params)
                                                         : std::string("{\"type\":\"object\"}");
      request.tools.push_back(providers::ToolSpec{**name, description->value_or(""), schema});
    }
  }
  const json::value* choice = body.if_contains("tool_choice");
  if (choice == nullptr || choice->is_null()) return ok();
  if (choice->is_string()) {
    std::string_view c = choice->as_string();
    if (c == "none") {
      request.tools.clear();  // the model may not call any tool
      return ok();
    }
    if (c == "auto") return ok();
    if (c == "required") {
      if (request.tools.size() != 1) {
        return invalid("tool_choice 'required' is supported only with exactly one tool.");
      }
      request.forced_tool = request.tools.front().name;
      return ok();
    }
    return malformed("tool_choice", "expected none, auto, required or a function");
  }
  const json::object* c = choice->if_object();
  const json::value* fn = c ? c->if_contains("function") : nullptr;
  const json::value* name = fn && fn->is_object() ? fn->as_object().if_contains("name") : nullptr;
  if (name == nullptr || !name->is_string()) {
    return malformed("tool_choice", "expected {\"type\":\"function\",\"function\":{\"name\"}}");
  }
  for (const auto& tool : request.tools) {
    if (tool.name == name->as_string()) {
      request.forced_tool = tool.name;
      return ok();
    }
  }
  return invalid("tool_choice names a function that is not in tools.");
}

Status parse_response_format(const json::object& body, providers::InferenceRequest& request) {
  auto format = json_input::optional_object(body, "response_format", "response_format");
  if (!format) return std::unexpected(format.error());
  if (*format == nullptr) return ok();
  auto type = json_input::optional_string(**format, "type", "response_format.type");
  if (!type) return std::unexpected(type.error());
  std::string t = type->value_or("");
  if (t == "text") return ok();
  if (t == "json_object") {
    request.output_schema_json = "{\"type\":\"object\"}";
    return ok();
  }
  if (t != "json_schema") {
    return malformed("response_format.type", "expected text, json_object or json_schema");
  }
  auto spec = json_input::optional_object(**format, "json_schema", "response_format.json_schema");
  if (!spec) return std::unexpected(spec.error());
  const json::value* schema = *spec ? (*spec)->if_contains("schema") : nullptr;
  if (schema == nullptr) return malformed("response_format.json_schema.schema", "is required");
  if (schema->is_string()) {
    auto text =
        shared_validation::schema_text(schema->as_string(), "response_format.json_schema.schema");
    if (!text) return std::unexpected(text.error());
    request.output_schema_json = std::move(*text);
    return ok();
  }
  if (!schema->is_object()) {
    return malformed("response_format.json_schema.schema", "expected a JSON Schema object");
  }
  request.output_schema_json = json::serialize(*schema);
  return ok();
}

Status parse_sampling(const json::object& body, const RequestLimits& limits,
                      providers::InferenceRequest& request) {
  auto max_tokens =
      shared_validation::max_tokens(body, "max_completion_tokens", "max_completion_tokens", limits);
  if (!max_tokens) return std::unexpected(max_tokens.error());
  if (!*max_tokens) {
    max_tokens = shared_validation::max_tokens(body, "max_tokens", "max_tokens", limits);
    if (!max_tokens) return std::unexpected(max_tokens.error());
  }
  request.max_tokens = max_tokens->value_or(limits.default_max_tokens);
  request.max_tokens_defaulted = !max_tokens->has_value();
  // OpenAI's temperature range is [0, 2].
  auto temperature = json_input::optional_float_in_range(body, "temperature", "temperature", 0, 2);
  if (!temperature) return std::unexpected(temperature.error());
  request.temperature = *temperature;
  auto top_p = json_input::optional_float_in_range(body, "top_p", "top_p", 0, 1);
  if (!top_p) return std::unexpected(top_p.error());
  request.top_p = *top_p;
  auto stops = shared_validation::stop_sequences(body, "stop", "stop", limits, true);
  if (!stops) return std::unexpected(stops.error());
  request.stop_sequences = std::move(*stops);
  auto seed = json_input::optional_integer(body, "seed", "seed");
  if (!seed) return std::unexpected(seed.error());
  if (*seed) request.seed = static_cast<uint64_t>(**seed);
  auto n = json_input::optional_integer(body, "n", "n");
  if (!n) return std::unexpected(n.error());
  if (*n && **n != 1) return invalid("Only n=1 is supported.");
  return ok();
}

}  // namespace

Result<ChatCompletionRequest> parse_chat_completion_request(std::string_view body,
                                                            const RequestLimits& limits) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  ChatCompletionRequest out;
  auto model = json_input::optional_string(*parsed, "model", "model");
  if (!model) return std::unexpected(model.error());
  if (!*model || (*model)->empty()) return invalid("you must provide a model parameter");
  out.model = std::move(**model);
  auto stream = json_input::optional_bool(*parsed, "stream", "stream");
  if (!stream) return std::unexpected(stream.error());
  out.stream = stream->value_or(false);
  auto options = json_input::optional_object(*parsed, "stream_options", "stream_options");
  if (!options) return std::unexpected(options.error());
  if (*options != nullptr) {
    auto usage =
        json_input::optional_bool(**options, "include_usage", "stream_options.include_usage");
    if (!usage) return std::unexpected(usage.error());
    out.include_usage = usage->value_or(false);
  }
  if (auto status = parse_messages(*parsed, out.inference); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = parse_tools(*parsed, out.inference); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = parse_response_format(*parsed, out.inference); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = parse_sampling(*parsed, limits, out.inference); !status) {
    return std::unexpected(status.error());
  }
  if (auto status = document_blocks::render_document_blocks(out.inference, false); !status) {
    return std::unexpected(status.error());
  }
  return out;
}

Result<EmbeddingsRequest> parse_embeddings_request(std::string_view body,
                                                   const RequestLimits& limits) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  EmbeddingsRequest out;
  auto model = json_input::optional_string(*parsed, "model", "model");
  if (!model) return std::unexpected(model.error());
  if (!*model || (*model)->empty()) return invalid("you must provide a model parameter");
  out.model = std::move(**model);
  const json::value* input = parsed->if_contains("input");
  if (input != nullptr && input->is_string()) {
    out.inputs.emplace_back(input->as_string());
  } else if (input != nullptr && input->is_array()) {
    for (const json::value& item : input->as_array()) {
      if (!item.is_string()) {
        return invalid(
            "'input' must be a string or an array of strings (token arrays are not "
            "supported).");
      }
      out.inputs.emplace_back(item.as_string());
    }
  } else {
    return invalid("'input' must be a string or an array of strings.");
  }
  if (out.inputs.empty()) return invalid("'input' must not be empty.");
  if (out.inputs.size() > static_cast<size_t>(limits.max_embedding_inputs)) {
    return invalid("'input' may hold at most " + std::to_string(limits.max_embedding_inputs) +
                   " strings.");
  }
  for (const std::string& text : out.inputs) {
    if (text.empty()) return invalid("'input' must not contain empty strings.");
  }
  auto dimensions = json_input::optional_integer(*parsed, "dimensions", "dimensions");
  if (!dimensions) return std::unexpected(dimensions.error());
  if (*dimensions) {
    if (**dimensions < 1 || **dimensions > 65536) return invalid("'dimensions' must be positive.");
    out.dimensions = static_cast<int32_t>(**dimensions);
  }
  auto encoding = json_input::optional_string(*parsed, "encoding_format", "encoding_format");
  if (!encoding) return std::unexpected(encoding.error());
  std::string e = encoding->value_or("float");
  if (e != "float" && e != "base64") {
    return invalid("'encoding_format' must be 'float' or 'base64'.");
  }
  out.base64 = e == "base64";
  return out;
}

}  // namespace plinth::api
