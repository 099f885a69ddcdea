// Validation rules shared by every text-generation request parser.
#include "shared_validation.h"

#include "json_input.h"

namespace plinth::api::shared_validation {

namespace json = boost::json;

Result<providers::Role> parse_role(std::string_view role, std::string_view path) {
  if (role == "user") return providers::Role::kUser;
  if (role == "assistant") return providers::Role::kAssistant;
  return fail(ErrorCode::kInvalidArgument,
              "1 validation error detected: Value '" + std::string(role) + "' at '" +
                  std::string(path) +
                  ".role' failed to satisfy constraint: Member must satisfy enum value set: "
                  "[user, assistant]");
}

Result<std::optional<int32_t>> max_tokens(const json::object& o, std::string_view key,
                                          std::string_view path, const RequestLimits& limits) {
  auto value = json_input::optional_integer(o, key, path);
  if (!value) return std::unexpected(value.error());
  if (!*value) return std::optional<int32_t>();
  int64_t n = **value;
  if (n < 1) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + std::to_string(n) + "' at '" +
                    std::string(path) +
                    "' failed to satisfy constraint: Member must have value greater than or "
                    "equal to 1");
  }
  if (n > limits.max_tokens) {
    std::string limit = std::to_string(limits.max_tokens);
    return fail(ErrorCode::kInvalidArgument,
                "The maximum tokens you requested exceeds the model limit of " + limit +
                    ". Try again with a maximum tokens value that is lower than " + limit + ".");
  }
  return std::optional<int32_t>(static_cast<int32_t>(n));
}

Result<std::vector<std::string>> stop_sequences(const json::object& o, std::string_view key,
                                                std::string_view path, const RequestLimits& limits,
                                                bool allow_single_string) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return out;
  if (allow_single_string && v->is_string()) {
    if (v->as_string().empty()) return json_input::malformed(path, "must not be empty");
    out.emplace_back(v->as_string());
    return out;
  }
  if (!v->is_array()) return json_input::malformed(path, "expected an array of strings");
  if (v->as_array().size() > static_cast<size_t>(limits.max_stop_sequences)) {
    return json_input::malformed(
        path, "at most " + std::to_string(limits.max_stop_sequences) + " stop sequences");
  }
  for (const json::value& s : v->as_array()) {
    if (!s.is_string() || s.as_string().empty()) {
      return json_input::malformed(path, "every stop sequence must be a non-empty string");
    }
    out.emplace_back(s.as_string());
  }
  return out;
}

Result<std::optional<int32_t>> top_k(const json::object& o, std::string_view key,
                                     std::string_view path) {
  auto value = json_input::optional_integer(o, key, path);
  if (!value) return std::unexpected(value.error());
  if (!*value) return std::optional<int32_t>();
  if (**value < 1 || **value > 1'000'000) {
    return json_input::malformed(path, "must be a positive integer");
  }
  return std::optional<int32_t>(static_cast<int32_t>(**value));
}

Result<std::string> schema_text(std::string_view text, std::string_view path) {
  boost::system::error_code ec;
  json::value schema = json::parse(text, ec);
  if (ec || !schema.is_object()) {
    return json_input::malformed(path, "the schema must be a JSON object given as JSON text");
  }
  return json::serialize(schema);
}

Status add_cache_point(const json::value& spec, std::string_view type, std::string_view path,
                       providers::CachePoint point, providers::InferenceRequest& request) {
  const json::object* o = spec.if_object();
  const json::value* t = o ? o->if_contains("type") : nullptr;
  if (t == nullptr || !t->is_string() || t->as_string() != type) {
    return json_input::malformed(path, "expected {\"type\":\"" + std::string(type) + "\"}");
  }
  if (request.cache_points.size() >= providers::kMaxCachePoints) {
    return std::unexpected(
        Error(ErrorCode::kInvalidArgument,
              "A maximum of " + std::to_string(providers::kMaxCachePoints) +
                  " cache checkpoints (cachePoint or cache_control blocks) may be provided; " +
                  std::string(path) + " is one more."));
  }
  request.cache_points.push_back(point);
  return ok();
}

}  // namespace plinth::api::shared_validation
