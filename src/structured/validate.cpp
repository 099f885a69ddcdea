// Independent validation of finished output with valijson; regexes are decided by our automaton.
#include <algorithm>
#include <boost/json.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "plinth/structured/structured.h"
#include "validate_rewrite.h"

namespace plinth::structured {
Status validate(std::string_view schema_json, std::string_view instance_json) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 1024;  // the default (32) rejects legitimately deep schemas and outputs
  boost::json::value schema_doc = boost::json::parse(schema_json, ec, {}, options);
  if (ec) return fail(ErrorCode::kInvalidArgument, "schema is not valid JSON: " + ec.message());
  boost::json::value instance = boost::json::parse(instance_json, ec, {}, options);
  if (ec) return fail(ErrorCode::kInvalidArgument, "output is not valid JSON: " + ec.message());
  // valijson would run "pattern" and "format" through std::regex (backtracking: hostile
  // patterns hang or overflow the stack); decide them here in linear time instead.
  if (auto s =
          rewrite_for_valijson(schema_doc, instance_strings(instance), instance_numbers(instance));
      !s)
    return s;
  valijson::Schema schema;
  // valijson reports unusable schemas with exceptions; keep them inside this function.
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::BoostJsonAdapter schema_adapter(schema_doc);
    parser.populateSchema(schema_adapter, schema);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("schema not usable: ") + e.what());
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::BoostJsonAdapter instance_adapter(instance);
  bool valid = false;
  try {
    valid = validator.validate(schema, instance_adapter, &results);
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInvalidArgument, std::string("validation failed: ") + e.what());
  }
  if (valid) return ok();
  valijson::ValidationResults::Error error;
  std::string message = "output does not match the schema";
  // The deepest error names the innermost failing location; take the first reported.
  if (results.popError(error)) {
    std::string path = "#";
    for (const auto& part : error.context) {  // valijson writes "<root>", "[items]", "[1]"
      if (part == "<root>") continue;
      std::string_view name = part;
      if (name.size() >= 2 && name.front() == '[' && name.back() == ']')
        name = name.substr(1, name.size() - 2);
      if (name.size() >= 2 && name.front() == '"' && name.back() == '"')
        name = name.substr(1, name.size() - 2);
      path += "/" + std::string(name);
    }
    message = "at " + path + ": " + error.description;
  }
  return fail(ErrorCode::kInvalidArgument, message);
}

}  // namespace plinth::structured
