// Independent validation of finished output with valijson (a different implementation than ours).
#include <algorithm>
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
void prepare_for_valijson(boost::json::value& v, bool is_root = false) {
  if (v.is_array()) {
    for (auto& e : v.get_array()) prepare_for_valijson(e);
    return;
  }
  if (!v.is_object()) return;
  auto& o = v.get_object();
  for (auto& [key, child] : o)
    if (key != "enum" && key != "const" && key != "default" && key != "examples")
      prepare_for_valijson(child);
  // Ids inside a schema ("id": "#/definitions/x", "id": "Comment") send valijson 1.0 into
  // unbounded recursion. The compiler resolves "#..." references against the document root
  // and refuses any other kind, so dropping them here keeps both readings the same.
  if (!is_root)
    for (auto key : {"id", "$id"})
      if (auto* id = o.if_contains(key); id && id->is_string()) o.erase(key);
  // OpenAPI's "nullable": true admits null, as the compiler reads it; plain JSON Schema would
  // ignore it, so spell it out as a type.
  if (auto* nullable = o.if_contains("nullable");
      nullable && nullable->is_bool() && nullable->get_bool()) {
    if (auto* type = o.if_contains("type"); type && type->is_string()) {
      *type = boost::json::array{*type, "null"};
    } else if (type && type->is_array()) {
      auto& types = type->get_array();
      if (std::find(types.begin(), types.end(), boost::json::value("null")) == types.end())
        types.push_back("null");
    }
  }
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
  boost::json::parse_options options;
  options.max_depth = 1024;  // the default (32) rejects legitimately deep schemas and outputs
  boost::json::value schema_doc = boost::json::parse(schema_json, ec, {}, options);
  if (ec) return fail(ErrorCode::kInvalidArgument, "schema is not valid JSON: " + ec.message());
  prepare_for_valijson(schema_doc, /*is_root=*/true);
  boost::json::value instance = boost::json::parse(instance_json, ec, {}, options);
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
