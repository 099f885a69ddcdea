// Parsing and validation of the inference-profile control-plane bodies and requestMetadata.
#include "inference_profile_request.h"

#include <algorithm>
#include <set>

#include "json_input.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

std::unexpected<Error> constraint(std::string_view field, std::string_view what) {
  return fail(ErrorCode::kInvalidArgument,
              "1 validation error detected: Value at '" + std::string(field) +
                  "' failed to satisfy constraint: " + std::string(what));
}

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool is_ascii_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

// ([0-9a-zA-Z:.][ _-]?)+ : no leading separator and never two in a row.
bool is_word_sequence(std::string_view text) {
  if (text.empty()) return false;
  bool after_separator = true;
  for (char c : text) {
    if (is_ascii_alnum(c) || c == ':' || c == '.') {
      after_separator = false;
    } else if (c == ' ' || c == '_' || c == '-') {
      if (after_separator) return false;
      after_separator = true;
    } else {
      return false;
    }
  }
  return true;
}

// Bedrock tag keys and values: [a-zA-Z0-9\s._:/=+@-]*
bool is_tag_text(std::string_view text) {
  return std::ranges::all_of(text, [](char c) {
    return is_ascii_alnum(c) || is_ascii_space(c) ||
           std::string_view("._:/=+@-").find(c) != std::string_view::npos;
  });
}

// requestMetadata keys and values: [a-zA-Z0-9\s:_@$#=/+,-.]*
bool is_metadata_text(std::string_view text) {
  return std::ranges::all_of(text, [](char c) {
    return is_ascii_alnum(c) || is_ascii_space(c) ||
           std::string_view(":_@$#=/+,-.").find(c) != std::string_view::npos;
  });
}

// [a-zA-Z0-9](-*[a-zA-Z0-9])*
bool is_request_token(std::string_view text) {
  if (text.empty() || !is_ascii_alnum(text.front()) || !is_ascii_alnum(text.back())) return false;
  return std::ranges::all_of(text, [](char c) { return is_ascii_alnum(c) || c == '-'; });
}

Result<std::string> required_string(const json::object& o, std::string_view key) {
  auto value = json_input::optional_string(o, key, key);
  if (!value) return std::unexpected(value.error());
  if (!*value) return constraint(key, "Member must not be null");
  return std::move(**value);
}

Status check_tag_key(std::string_view key, std::string_view field) {
  if (key.empty() || key.size() > 128) return constraint(field, "Member must have length 1-128");
  if (!is_tag_text(key)) {
    return constraint(field,
                      "Member must satisfy regular expression pattern: "
                      "^[a-zA-Z0-9\\s._:/=+@-]*$");
  }
  if (key.starts_with("aws:")) return constraint(field, "the prefix aws: is reserved");
  return ok();
}

Result<std::vector<store::ProfileTag>> read_tags(const json::object& body, bool required) {
  auto list = json_input::optional_array(body, "tags", "tags");
  if (!list) return std::unexpected(list.error());
  std::vector<store::ProfileTag> tags;
  if (*list == nullptr) {
    if (required) return constraint("tags", "Member must not be null");
    return tags;
  }
  if ((*list)->size() > kMaxTagsPerResource) {
    return constraint("tags", "Member must have length less than or equal to " +
                                  std::to_string(kMaxTagsPerResource));
  }
  std::set<std::string, std::less<>> keys;
  for (const json::value& item : **list) {
    if (!item.is_object()) return constraint("tags", "each tag must be an object");
    auto key = required_string(item.as_object(), "key");
    if (!key) return std::unexpected(key.error());
    auto value = required_string(item.as_object(), "value");
    if (!value) return std::unexpected(value.error());
    if (auto checked = check_tag_key(*key, "tags.member.key"); !checked) {
      return std::unexpected(checked.error());
    }
    if (value->size() > 256)
      return constraint("tags.member.value", "Member must have length 0-256");
    if (!is_tag_text(*value)) {
      return constraint("tags.member.value",
                        "Member must satisfy regular expression pattern: "
                        "^[a-zA-Z0-9\\s._:/=+@-]*$");
    }
    if (!keys.insert(*key).second) {
      return fail(ErrorCode::kInvalidArgument, "The tag key '" + *key + "' appears twice.");
    }
    tags.push_back({std::move(*key), std::move(*value)});
  }
  return tags;
}

Result<std::string> read_resource_arn(const json::object& body) {
  auto arn = required_string(body, "resourceARN");
  if (!arn) return arn;
  if (arn->size() < 20 || arn->size() > 1011) {
    return constraint("resourceARN", "Member must have length 20-1011");
  }
  return arn;
}

}  // namespace

bool is_valid_profile_name(std::string_view name) {
  return name.size() <= 64 && is_word_sequence(name);
}

Result<CreateProfileRequest> parse_create_profile_request(std::string_view body) {
  auto object = json_input::parse_object_body(body);
  if (!object) return std::unexpected(object.error());
  CreateProfileRequest request;
  auto name = required_string(*object, "inferenceProfileName");
  if (!name) return std::unexpected(name.error());
  if (!is_valid_profile_name(*name)) {
    return constraint("inferenceProfileName",
                      "Member must have length 1-64 and satisfy regular expression pattern: "
                      "([0-9a-zA-Z:.][ _-]?)+");
  }
  request.name = std::move(*name);
  auto description = json_input::optional_string(*object, "description", "description");
  if (!description) return std::unexpected(description.error());
  if (*description) {
    if ((*description)->size() > 200 || !is_word_sequence(**description)) {
      return constraint("description",
                        "Member must have length 1-200 and satisfy regular expression pattern: "
                        "([0-9a-zA-Z:.][ _-]?)+");
    }
    request.description = std::move(**description);
  }
  auto source = json_input::optional_object(*object, "modelSource", "modelSource");
  if (!source) return std::unexpected(source.error());
  if (*source == nullptr) return constraint("modelSource", "Member must not be null");
  auto copy_from = required_string(**source, "copyFrom");
  if (!copy_from) return std::unexpected(copy_from.error());
  if (copy_from->empty() || copy_from->size() > 2048) {
    return constraint("modelSource.copyFrom", "Member must have length 1-2048");
  }
  request.copy_from = std::move(*copy_from);
  auto token = json_input::optional_string(*object, "clientRequestToken", "clientRequestToken");
  if (!token) return std::unexpected(token.error());
  if (*token) {
    if ((*token)->size() > 256 || !is_request_token(**token)) {
      return constraint("clientRequestToken",
                        "Member must have length 1-256 and satisfy regular expression pattern: "
                        "^[a-zA-Z0-9](-*[a-zA-Z0-9])*$");
    }
    request.client_request_token = std::move(**token);
  }
  auto tags = read_tags(*object, false);
  if (!tags) return std::unexpected(tags.error());
  request.tags = std::move(*tags);
  return request;
}

Result<TagResourceRequest> parse_tag_resource_request(std::string_view body) {
  auto object = json_input::parse_object_body(body);
  if (!object) return std::unexpected(object.error());
  TagResourceRequest request;
  auto arn = read_resource_arn(*object);
  if (!arn) return std::unexpected(arn.error());
  request.resource_arn = std::move(*arn);
  auto tags = read_tags(*object, true);
  if (!tags) return std::unexpected(tags.error());
  request.tags = std::move(*tags);
  return request;
}

Result<UntagResourceRequest> parse_untag_resource_request(std::string_view body) {
  auto object = json_input::parse_object_body(body);
  if (!object) return std::unexpected(object.error());
  UntagResourceRequest request;
  auto arn = read_resource_arn(*object);
  if (!arn) return std::unexpected(arn.error());
  request.resource_arn = std::move(*arn);
  auto keys = json_input::optional_array(*object, "tagKeys", "tagKeys");
  if (!keys) return std::unexpected(keys.error());
  if (*keys == nullptr) return constraint("tagKeys", "Member must not be null");
  if ((*keys)->size() > kMaxTagsPerResource) {
    return constraint("tagKeys", "Member must have length less than or equal to " +
                                     std::to_string(kMaxTagsPerResource));
  }
  for (const json::value& key : **keys) {
    if (!key.is_string()) return constraint("tagKeys", "each key must be a string");
    std::string_view text = key.as_string();
    if (auto checked = check_tag_key(text, "tagKeys.member"); !checked) {
      return std::unexpected(checked.error());
    }
    request.tag_keys.emplace_back(text);
  }
  return request;
}

Result<std::string> parse_list_tags_request(std::string_view body) {
  auto object = json_input::parse_object_body(body);
  if (!object) return std::unexpected(object.error());
  return read_resource_arn(*object);
}

Result<ledger::Labels> parse_request_metadata(const json::object& body) {
  auto metadata = json_input::optional_object(body, "requestMetadata", "requestMetadata");
  if (!metadata) return std::unexpected(metadata.error());
  ledger::Labels labels;
  if (*metadata == nullptr) return labels;
  if ((*metadata)->size() > kMaxRequestMetadataPairs) {
    return constraint("requestMetadata", "Member must have length less than or equal to " +
                                             std::to_string(kMaxRequestMetadataPairs));
  }
  std::set<std::string, std::less<>> keys;
  for (const auto& [key, value] : **metadata) {
    if (key.empty() || key.size() > 256 || !is_metadata_text(key)) {
      return constraint("requestMetadata",
                        "Map keys must have length 1-256 and satisfy regular expression pattern: "
                        "[a-zA-Z0-9\\s:_@$#=/+,-.]{1,256}");
    }
    if (!value.is_string() || value.as_string().size() > 256 ||
        !is_metadata_text(value.as_string())) {
      return constraint("requestMetadata." + std::string(key),
                        "Member must be a string of length 0-256 satisfying regular expression "
                        "pattern: [a-zA-Z0-9\\s:_@$#=/+,-.]{0,256}");
    }
    if (!keys.insert(std::string(key)).second) {
      return constraint("requestMetadata", "Map keys must be unique");
    }
    labels.push_back({std::string(key), std::string(value.as_string())});
  }
  return labels;
}

}  // namespace plinth::api
