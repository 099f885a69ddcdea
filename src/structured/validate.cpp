// Independent validation of finished output with valijson (a different implementation than ours).
#include <boost/json.hpp>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

// valijson 1.0 checks "format" against non-string instances too (null fails "date-time"), while
// JSON Schema applies formats to strings only. Rewrites {"format": F, ...} into
// {..., "anyOf": [{"not": {"type": "string"}}, {"format": F}]}, which means the same. Values of
// enum/const/default/examples are data, not schemas, and stay untouched.
void scope_formats_to_strings(boost::json::value& v) {
  if (v.is_array()) {
    for (auto& e : v.get_array()) scope_formats_to_strings(e);
    return;
  }
  if (!v.is_object()) return;
  auto& o = v.get_object();
  for (auto& [key, child] : o)
    if (key != "enum" && key != "const" && key != "default" && key != "examples")
      scope_formats_to_strings(child);
  auto* format = o.if_contains("format");
  if (!format || !format->is_string()) return;
  boost::json::object string_branch{{"format", *format}};
  boost::json::array branches{boost::json::object{{"not", {{"type", "string"}}}}, string_branch};
  o.erase("format");
  if (auto* any = o.if_contains("anyOf")) {
    // Keep the existing anyOf: both must hold.
    boost::json::array all{boost::json::object{{"anyOf", *any}},
                           boost::json::object{{"anyOf", branches}}};
    o.erase("anyOf");
    if (auto* existing = o.if_contains("allOf"); existing && existing->is_array())
      for (auto& e : all) existing->get_array().push_back(e);
    else
      o["allOf"] = all;
  } else {
    o["anyOf"] = branches;
  }
}

}  // namespace

Status validate(std::string_view schema_json, std::string_view instance_json) {
  boost::system::error_code ec;
  boost::json::value schema_doc = boost::json::parse(schema_json, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "schema is not valid JSON: " + ec.message());
  scope_formats_to_strings(schema_doc);
  boost::json::value instance = boost::json::parse(instance_json, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "output is not valid JSON: " + ec.message());
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
    for (const auto& part : error.context)
      if (part != "<root>") path += part.starts_with("[") ? part : "/" + part;
    message = "at " + path + ": " + error.description;
  }
  return fail(ErrorCode::kInvalidArgument, message);
}

}  // namespace plinth::structured
