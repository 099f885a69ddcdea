// Typed, validating reads of untrusted JSON request bodies (private to the api module).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::api::json_input {

// Parses a request body: rejects invalid UTF-8, malformed JSON and trailing garbage, and
// requires a top-level object.
Result<boost::json::object> parse_object_body(std::string_view body);

// Tool input travels as JSON text inside Plinth and as a JSON document on the wire; text that
// does not parse (never produced by a schema-constrained generation) becomes {}.
boost::json::value tool_input_value(std::string_view json_text);

// kInvalidArgument "Malformed input request: <path>: <what>".
std::unexpected<Error> malformed(std::string_view path, std::string_view what);

// Field readers: nullopt when the field is absent (or null); an error when present with the
// wrong type. `path` names the field in messages ("inferenceConfig.maxTokens").
Result<std::optional<std::string>> optional_string(const boost::json::object& o,
                                                   std::string_view key, std::string_view path);
Result<std::optional<int64_t>> optional_integer(const boost::json::object& o, std::string_view key,
                                                std::string_view path);
Result<std::optional<double>> optional_number(const boost::json::object& o, std::string_view key,
                                              std::string_view path);
Result<std::optional<bool>> optional_bool(const boost::json::object& o, std::string_view key,
                                          std::string_view path);
Result<const boost::json::object*> optional_object(const boost::json::object& o,
                                                   std::string_view key, std::string_view path);
Result<const boost::json::array*> optional_array(const boost::json::object& o, std::string_view key,
                                                 std::string_view path);

// The numeric value as a float within [low, high], else the AWS-style range message.
Result<std::optional<float>> optional_float_in_range(const boost::json::object& o,
                                                     std::string_view key, std::string_view path,
                                                     double low, double high);

}  // namespace plinth::api::json_input
