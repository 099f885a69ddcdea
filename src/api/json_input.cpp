// Validating JSON field readers with AWS-style messages for every request wire format.
#include "json_input.h"

#include <fmt/format.h>

#include <cmath>

#include "plinth/core/encoding.h"

namespace plinth::api::json_input {

namespace json = boost::json;

std::unexpected<Error> malformed(std::string_view path, std::string_view what) {
  std::string message = "Malformed input request: ";
  if (!path.empty()) {
    message += path;
    message += ": ";
  }
  message += what;
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

Result<json::object> parse_object_body(std::string_view body) {
  if (!is_valid_utf8(body)) return malformed("", "the body is not valid UTF-8");
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = 64;
  json::value value = json::parse(body, ec, {}, options);
  if (ec) return malformed("", "the body is not valid JSON (" + ec.message() + ")");
  if (!value.is_object()) return malformed("", "the body must be a JSON object");
  return std::move(value.as_object());
}

Result<std::optional<std::string>> optional_string(const json::object& o, std::string_view key,
                                                   std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return malformed(path, "expected a string");
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<std::optional<int64_t>> optional_integer(const json::object& o, std::string_view key,
                                                std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<int64_t>();
  if (v->is_int64()) return std::optional<int64_t>(v->as_int64());
  if (v->is_uint64()) {
    if (v->as_uint64() > static_cast<uint64_t>(INT64_MAX)) return malformed(path, "out of range");
    return std::optional<int64_t>(static_cast<int64_t>(v->as_uint64()));
  }
  // 64.0 is an integer to JavaScript clients; 64.5 is not.
  if (v->is_double()) {
    double d = v->as_double();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) {
      return std::optional<int64_t>(static_cast<int64_t>(d));
    }
  }
  return malformed(path, "expected an integer");
}

Result<std::optional<double>> optional_number(const json::object& o, std::string_view key,
                                              std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<double>();
  if (!v->is_number()) return malformed(path, "expected a number");
  return std::optional<double>(v->to_number<double>());
}

Result<std::optional<bool>> optional_bool(const json::object& o, std::string_view key,
                                          std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return std::optional<bool>();
  if (!v->is_bool()) return malformed(path, "expected a boolean");
  return std::optional<bool>(v->as_bool());
}

Result<const json::object*> optional_object(const json::object& o, std::string_view key,
                                            std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return malformed(path, "expected an object");
  return &v->as_object();
}

Result<const json::array*> optional_array(const json::object& o, std::string_view key,
                                          std::string_view path) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return static_cast<const json::array*>(nullptr);
  if (!v->is_array()) return malformed(path, "expected an array");
  return &v->as_array();
}

Result<std::optional<float>> optional_float_in_range(const json::object& o, std::string_view key,
                                                     std::string_view path, double low,
                                                     double high) {
  auto number = optional_number(o, key, path);
  if (!number) return std::unexpected(number.error());
  if (!*number) return std::optional<float>();
  double d = **number;
  if (!(d >= low && d <= high)) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + fmt::format("{}", d) + "' at '" +
                    std::string(path) +
                    "' failed to satisfy constraint: Member must have value between " +
                    fmt::format("{} and {}", low, high));
  }
  return std::optional<float>(static_cast<float>(d));
}

boost::json::value tool_input_value(std::string_view json_text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(json_text, ec);
  if (ec) return boost::json::object();
  return value;
}

}  // namespace plinth::api::json_input
