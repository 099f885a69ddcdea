// Independent validation of finished output with valijson; regexes are decided by our automaton.
#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <string>
#include <valijson/adapters/boost_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>
#include <vector>

#include "plinth/structured/structured.h"
#include "validate_rewrite.h"

namespace plinth::structured {
namespace {

// Resolves the JSON Pointer part of a local `$ref` ("#/a/b", or what valijson reads as local:
// the part after '#', the whole document when there is none) in the schema document.
const boost::json::value* resolve_local_ref(const boost::json::value& root, std::string_view ref) {
  size_t hash = ref.find('#');
  std::string_view pointer = hash == std::string_view::npos ? "" : ref.substr(hash + 1);
  const boost::json::value* node = &root;
  while (!pointer.empty()) {
    if (pointer.front() != '/') return nullptr;
    pointer.remove_prefix(1);
    size_t end = std::min(pointer.find('/'), pointer.size());
    std::string token;
    for (size_t i = 0; i < end; ++i) {
      char c = pointer[i];
      if (c == '~' && i + 1 < end && (pointer[i + 1] == '0' || pointer[i + 1] == '1')) {
        token.push_back(pointer[++i] == '0' ? '~' : '/');
      } else if (c == '%' && i + 2 < end &&
                 std::isxdigit(static_cast<unsigned char>(pointer[i + 1])) &&
                 std::isxdigit(static_cast<unsigned char>(pointer[i + 2]))) {
        token.push_back(
            static_cast<char>(std::stoi(std::string(pointer.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        token.push_back(c);
      }
    }
    pointer.remove_prefix(end);
    if (const auto* object = node->if_object()) {
      auto it = object->find(token);
      if (it == object->end()) return nullptr;
      node = &it->value();
    } else if (const auto* array = node->if_array()) {
      if (token.empty() || token.size() > 9 || !std::ranges::all_of(token, ::isdigit))
        return nullptr;
      size_t index = std::stoul(token);
      if (index >= array->size()) return nullptr;
      node = &(*array)[index];
    } else {
      return nullptr;
    }
  }
  return node;
}

const boost::json::string* ref_of(const boost::json::value& node) {
  const auto* object = node.if_object();
  if (!object) return nullptr;
  auto it = object->find("$ref");
  return it == object->end() ? nullptr : it->value().if_string();
}

// valijson follows a chain of `$ref`s that point at other `$ref`s recursively and without a
// cycle check: `{"$ref":"#"}` overflows the stack. Refuse such chains before valijson sees them.
Status check_ref_chains(const boost::json::value& root) {
  std::vector<const boost::json::value*> pending{&root};
  while (!pending.empty()) {
    const boost::json::value* node = pending.back();
    pending.pop_back();
    if (const auto* object = node->if_object()) {
      for (const auto& entry : *object) pending.push_back(&entry.value());
    } else if (const auto* array = node->if_array()) {
      for (const auto& item : *array) pending.push_back(&item);
    }
    std::vector<const boost::json::value*> chain{node};
    for (const boost::json::string* ref = ref_of(*node); ref != nullptr;
         ref = ref_of(*chain.back())) {
      const boost::json::value* target = resolve_local_ref(root, *ref);
      if (target == nullptr) break;  // valijson reports unresolvable references itself
      if (std::ranges::find(chain, target) != chain.end() || chain.size() > 64) {
        return fail(ErrorCode::kInvalidArgument,
                    "schema not usable: $ref '" + std::string(*ref) + "' refers to itself");
      }
      chain.push_back(target);
    }
  }
  return ok();
}

}  // namespace

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
  if (auto s = check_ref_chains(schema_doc); !s) return s;
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
