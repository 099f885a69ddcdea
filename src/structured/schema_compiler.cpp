// Builds grammar nodes from flattened JSON Schema objects, one node per (sub)schema.
#include "schema_compiler.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cmath>
#include <deque>
#include <numeric>
#include <set>
#include <unordered_map>

#include "grammar_passes.h"
#include "schema_keywords.h"
#include "schema_merge.h"

namespace plinth::structured {
namespace json = boost::json;
using ir::Kind;
using ir::Node;
using ir::NodeId;

namespace {

constexpr int kMaxCompileDepth = 200;
constexpr size_t kMaxJsonDepth = 1024;
// All pattern/format automata of one schema together; bounds memory for hostile schemas.
constexpr size_t kMaxDfaStatesPerSchema = 20000;
// Work bounds: every number a caller chooses that work or output grows with is capped here.
constexpr int32_t kMaxMinItems = 100000;
constexpr int32_t kMaxMinLength = 100000;
constexpr size_t kMaxGrammarNodes = 100000;
constexpr int64_t kMaxShortestOutputBytes = int64_t{1} << 20;

class Compiler {
 public:
  explicit Compiler(const json::value& root) : root_(root), algebra_(root) {}

  Result<ir::Grammar> run() {
    auto root = compile(root_, "#", 0);
    if (!root) return std::unexpected(root.error());
    g_.root = *root;
    if (auto s = finish_grammar(g_); !s) return std::unexpected(s.error());
    if (g_.nodes[g_.root].min_bytes > kMaxShortestOutputBytes)
      return fail(ErrorCode::kInvalidArgument,
                  "schema's shortest valid output is " +
                      std::to_string(g_.nodes[g_.root].min_bytes) + " bytes, more than the " +
                      std::to_string(kMaxShortestOutputBytes) +
                      " allowed (minItems, minLength, required properties)");
    return std::move(g_);
  }

 private:
  NodeId add(Node n) {
    g_.nodes.push_back(std::move(n));
    return static_cast<NodeId>(g_.nodes.size()) - 1;
  }
  NodeId literal_node(const std::vector<std::string>& texts) {
    Node n;
    n.kind = Kind::kLiteral;
    for (size_t i = 0; i < texts.size(); ++i) n.literals.add(texts[i], static_cast<int32_t>(i));
    if (texts.empty()) n.kind = Kind::kUnion;  // no alternatives: matches nothing
    return add(std::move(n));
  }
  NodeId any_string() {
    if (any_string_ < 0) {
      Node n;
      n.kind = Kind::kString;
      any_string_ = add(std::move(n));
    }
    return any_string_;
  }
  // Any JSON value: a union of every kind, recursing through arrays and objects.
  NodeId any() {
    if (any_ >= 0) return any_;
    any_ = add(Node{});
    Node obj;
    obj.kind = Kind::kObject;
    obj.object.free_form = true;
    obj.object.key_node = any_string();
    obj.object.values = any_;
    Node arr;
    arr.kind = Kind::kArray;
    arr.array.items = any_;
    Node num;
    num.kind = Kind::kNumber;
    std::vector<NodeId> alts{add(std::move(obj)), add(std::move(arr)), any_string(), add(num),
                             literal_node({"true", "false", "null"})};
    g_.nodes[any_].alternatives = alts;
    return any_;
  }

  Result<NodeId> compile(const json::value& schema, const std::string& path, int depth) {
    if (depth > kMaxCompileDepth) return unsupported("$ref", path, "schema nests too deeply");
    if (g_.nodes.size() > kMaxGrammarNodes)
      return fail(ErrorCode::kInvalidArgument, "schema too large: more than " +
                                                   std::to_string(kMaxGrammarNodes) +
                                                   " compiled sub-schemas at " + path);
    if (schema.is_bool() && schema.get_bool()) return any();
    if (auto it = memo_.find(&schema); it != memo_.end()) return it->second;
    if (schema.is_object() && schema.get_object().contains("$ref")) {
      bool pure_ref = true;
      for (const auto& [k, _] : schema.get_object())
        pure_ref = pure_ref && (k == "$ref" || !is_constraint_keyword(k));
      if (pure_ref && schema.get_object().at("$ref").is_string()) {
        // Compile the target itself, so recursion meets the target's memo entry.
        auto target = algebra_.resolve_ref(schema.get_object().at("$ref").get_string(), path);
        if (!target) return std::unexpected(target.error());
        auto id = compile(**target, path + "/$ref", depth + 1);
        if (id) memo_[&schema] = *id;
        return id;
      }
    }
    if (const json::value* inner = sole_all_of(schema)) {
      // {"allOf": [X]} beside annotations only (Zod's draft-7 spelling of a recursive $ref)
      // is X; with OpenAPI's "nullable": true as well, X or null (an exit from recursion).
      const json::value* nullable = schema.get_object().if_contains("nullable");
      if (!nullable || !nullable->is_bool() || !nullable->get_bool()) {
        auto id = compile(*inner, path + "/allOf/0", depth + 1);
        if (id) memo_[&schema] = *id;
        return id;
      }
      NodeId id = add(Node{});
      memo_[&schema] = id;
      auto target = compile(*inner, path + "/allOf/0", depth + 1);
      if (!target) return std::unexpected(target.error());
      Node n;
      n.kind = Kind::kUnion;
      n.alternatives = {literal_node({"null"}), *target};
      g_.nodes[id] = std::move(n);
      return id;
    }
    NodeId id = add(Node{});  // placeholder: recursive references point here
    memo_[&schema] = id;
    const json::object* source = nullptr;
    if (schema.is_object() && !schema.get_object().contains("$ref") &&
        !schema.get_object().contains("allOf")) {
      source = &schema.get_object();
    } else {
      auto flat = algebra_.flatten(schema, path);
      if (!flat) return std::unexpected(flat.error());
      synthetic_.push_back(std::move(*flat));  // sub-schemas need stable addresses for the memo
      source = &synthetic_.back().get_object();
    }
    auto node = build(*source, path, depth);
    if (!node) return std::unexpected(node.error());
    g_.nodes[id] = std::move(*node);
    return id;
  }
  static const json::value* sole_all_of(const json::value& schema) {
    if (!schema.is_object()) return nullptr;
    const auto& o = schema.get_object();
    auto* all = o.if_contains("allOf");
    if (!all || !all->is_array() || all->get_array().size() != 1) return nullptr;
    for (const auto& [k, v] : o)
      if (k != "allOf" && is_constraint_keyword(k) && !(k == "nullable" && v.is_bool()))
        return nullptr;
    return &all->get_array()[0];
  }
  // Compiles a schema made up during merging; kept alive for the memo's pointers.
  Result<NodeId> compile_synthetic(json::value schema, const std::string& path, int depth) {
    synthetic_.push_back(std::move(schema));
    return compile(synthetic_.back(), path, depth);
  }
  Result<NodeId> compile_child(const json::object& s, std::string_view key, const std::string& path,
                               int depth) {
    return compile(s.at(key), path + "/" + std::string(key), depth + 1);
  }

  Result<Node> build(const json::object& s, const std::string& path, int depth) {
    for (const auto& [key, value] : s) {
      if (is_unenforceable_keyword(key)) return unsupported(key, path);
      if (key == "uniqueItems" && value.is_bool() && value.get_bool()) {
        auto max = int_keyword(s, "maxItems");
        if (!max || *max > 1) return unsupported(key, path);
      }
      if ((key == "unevaluatedProperties" || key == "unevaluatedItems") && !(value.is_bool()))
        return unsupported(key, path);
    }
    if (s.contains("enum") || s.contains("const")) return build_literals(s, path);
    if (s.contains("anyOf") || s.contains("oneOf")) return build_alternatives(s, path, depth);
    return build_types(s, path, depth);
  }

  Result<Node> build_literals(const json::object& s, const std::string& path) {
    json::array values;
    if (auto* c = s.if_contains("const")) values.push_back(*c);
    if (auto* e = s.if_contains("enum")) {
      if (!e->is_array()) return unsupported("enum", path, "not an array");
      if (s.contains("const")) {
        if (std::find(e->get_array().begin(), e->get_array().end(), values[0]) ==
            e->get_array().end())
          values.clear();
      } else {
        values = e->get_array();
      }
    }
    // zod-to-json-schema's OpenAPI 3.0 spelling of z.null(): {"enum": ["null"], "nullable": true}.
    // Zod wants the null, so emit only that.
    if (auto* n = s.if_contains("nullable");
        n && n->is_bool() && n->get_bool() && values == json::array{"null"})
      values = json::array{nullptr};
    std::set<std::string> types;
    bool typed = false;
    if (auto* t = s.if_contains("type")) {
      typed = true;
      if (t->is_string()) types.insert(std::string(t->get_string()));
      if (t->is_array())
        for (const auto& x : t->get_array())
          if (x.is_string()) types.insert(std::string(x.get_string()));
      if (auto* n = s.if_contains("nullable"); n && n->is_bool() && n->get_bool())
        types.insert("null");
    }
    Node n;
    n.kind = Kind::kLiteral;
    int32_t count = 0;
    // Other keywords hold for the listed values too: keep only the values that satisfy them.
    auto strings = string_dfa(s, path);
    if (!strings) return std::unexpected(strings.error());
    std::optional<ir::NumberSpec> bounds;
    if (s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") ||
        s.contains("exclusiveMaximum") || s.contains("multipleOf")) {
      auto spec = number_spec(s, false, path);
      if (!spec) return std::unexpected(spec.error());
      bounds = *spec;
    }
    for (const auto& v : values) {
      if (typed && !literal_has_type(v, types)) continue;
      if (v.is_string() && !string_literal_ok(s, *strings, v.get_string())) continue;
      if (v.is_number() && bounds && !number_literal_ok(*bounds, v.to_number<double>())) continue;
      n.literals.add(json::serialize(v), count++);
    }
    if (count == 0) n.kind = Kind::kUnion;
    return n;
  }

  static bool literal_has_type(const json::value& v, const std::set<std::string>& types) {
    switch (v.kind()) {
      case json::kind::null:
        return types.contains("null");
      case json::kind::bool_:
        return types.contains("boolean");
      case json::kind::object:
        return types.contains("object");
      case json::kind::array:
        return types.contains("array");
      case json::kind::string:
        return types.contains("string");
      case json::kind::double_: {
        double d = v.get_double();
        if (types.contains("number")) return true;
        return types.contains("integer") && d == std::floor(d);
      }
      default:
        return types.contains("number") || types.contains("integer");
    }
  }

  Result<Node> build_alternatives(const json::object& s, const std::string& path, int depth) {
    if (s.contains("anyOf") && s.contains("oneOf")) return unsupported("oneOf", path, "with anyOf");
    std::string key = s.contains("anyOf") ? "anyOf" : "oneOf";
    const json::value& list = s.at(key);
    if (!list.is_array() || list.get_array().empty()) return unsupported(key, path, "empty");
    json::object rest = s;
    rest.erase(key);
    bool rest_constrains = false;
    for (const auto& [k, _] : rest) rest_constrains = rest_constrains || is_constraint_keyword(k);
    json::array alternatives;
    for (const auto& alt : list.get_array()) {
      if (!rest_constrains) {
        alternatives.push_back(alt);
        continue;
      }
      alternatives.push_back(json::object{{"allOf", json::array{rest, alt}}});
    }
    if (key == "oneOf" && alternatives.size() > 1 &&
        !algebra_.alternatives_disjoint(alternatives, path))
      return unsupported("oneOf", path, "alternatives may overlap");
    Node n;
    n.kind = Kind::kUnion;
    for (size_t i = 0; i < alternatives.size(); ++i) {
      std::string alt_path = path + "/" + key + "/" + std::to_string(i);
      auto id = rest_constrains ? compile_synthetic(alternatives[i], alt_path, depth + 1)
                                : compile(list.get_array()[i], alt_path, depth + 1);
      if (!id) return std::unexpected(id.error());
      n.alternatives.push_back(*id);
    }
    return n;
  }

  Result<Node> build_types(const json::object& s, const std::string& path, int depth) {
    std::vector<std::string> types;
    if (auto* t = s.if_contains("type")) {
      if (t->is_string())
        types.push_back(std::string(t->get_string()));
      else if (t->is_array())
        for (const auto& x : t->get_array())
          if (x.is_string()) types.push_back(std::string(x.get_string()));
    } else {
      // No "type": generate only the kinds the keywords talk about (a valid subset).
      for (auto k :
           {"properties", "required", "additionalProperties", "propertyNames", "minProperties",
            "maxProperties", "patternProperties", "unevaluatedProperties"})
        if (s.contains(k) && std::find(types.begin(), types.end(), "object") == types.end())
          types.push_back("object");
      for (auto k :
           {"items", "prefixItems", "minItems", "maxItems", "additionalItems", "unevaluatedItems"})
        if (s.contains(k) && std::find(types.begin(), types.end(), "array") == types.end())
          types.push_back("array");
      for (auto k : {"minLength", "maxLength", "pattern", "format"})
        if (s.contains(k) && std::find(types.begin(), types.end(), "string") == types.end())
          types.push_back("string");
      for (auto k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
        if (s.contains(k) && std::find(types.begin(), types.end(), "number") == types.end())
          types.push_back("number");
      if (types.empty()) {
        Node n;
        n.alternatives = {any()};
        return n;
      }
    }
    if (auto* n = s.if_contains("nullable"); n && n->is_bool() && n->get_bool())
      types.push_back("null");
    bool has_number = std::find(types.begin(), types.end(), "number") != types.end();
    Node u;
    u.kind = Kind::kUnion;
    for (const auto& t : types) {
      Result<Node> n = fail(ErrorCode::kInvalidArgument, "unknown type '" + t + "' at " + path);
      if (t == "null")
        n = literal_only({"null"});
      else if (t == "boolean")
        n = literal_only({"true", "false"});
      else if (t == "number" || (t == "integer" && !has_number))
        n = number_node(s, t == "integer", path);
      else if (t == "integer")
        continue;
      else if (t == "string")
        n = build_string(s, path);
      else if (t == "array")
        n = build_array(s, path, depth);
      else if (t == "object")
        n = build_object(s, path, depth);
      if (!n) return n;
      u.alternatives.push_back(add(std::move(*n)));
    }
    return u;
  }

  static Result<Node> number_node(const json::object& s, bool integer, const std::string& path) {
    auto spec = number_spec(s, integer, path);
    if (!spec) return std::unexpected(spec.error());
    Node n;
    n.kind = Kind::kNumber;
    n.number = *spec;
    return n;
  }

  static Node literal_only(std::vector<std::string> texts) {
    Node n;
    n.kind = Kind::kLiteral;
    for (size_t i = 0; i < texts.size(); ++i) n.literals.add(texts[i], static_cast<int32_t>(i));
    return n;
  }

  Result<Node> build_string(const json::object& s, const std::string& path) {
    Node n;
    n.kind = Kind::kString;
    if (auto v = int_keyword(s, "minLength")) n.string.min_length = *v;
    if (n.string.min_length > kMaxMinLength)
      return unsupported("minLength", path, "above " + std::to_string(kMaxMinLength));
    if (auto v = int_keyword(s, "maxLength")) n.string.max_length = *v;
    auto dfa = string_dfa(s, path);
    if (!dfa) return std::unexpected(dfa.error());
    if (*dfa) {
      dfa_states_ += (*dfa)->next.size();
      if (dfa_states_ > kMaxDfaStatesPerSchema)
        return unsupported(s.contains("pattern") ? "pattern" : "format", path,
                           "more than " + std::to_string(kMaxDfaStatesPerSchema) +
                               " automaton states in one schema");
      g_.dfas.push_back(std::move(**dfa));
      n.string.dfa = static_cast<int32_t>(g_.dfas.size()) - 1;
    }
    return n;
  }

  Result<NodeId> sub_or_any(const json::object& s, std::string_view key, const std::string& path,
                            int depth) {
    if (!s.contains(key)) return any();
    return compile_child(s, key, path, depth);
  }

  Result<Node> build_array(const json::object& s, const std::string& path, int depth) {
    Node n;
    n.kind = Kind::kArray;
    auto& spec = n.array;
    if (auto v = int_keyword(s, "minItems")) spec.min_items = *v;
    if (spec.min_items > kMaxMinItems)
      return unsupported("minItems", path, "above " + std::to_string(kMaxMinItems));
    if (auto v = int_keyword(s, "maxItems")) spec.max_items = *v;
    const json::value* tuple = nullptr;
    std::string tuple_key;
    if (auto* p = s.if_contains("prefixItems"); p && p->is_array())
      tuple = p, tuple_key = "prefixItems";
    else if (auto* i = s.if_contains("items"); i && i->is_array())
      tuple = i, tuple_key = "items";
    if (tuple) {
      for (size_t i = 0; i < tuple->get_array().size(); ++i) {
        auto id = compile(tuple->get_array()[i], path + "/" + tuple_key + "/" + std::to_string(i),
                          depth + 1);
        if (!id) return std::unexpected(id.error());
        spec.prefix.push_back(*id);
      }
    }
    std::string rest_key = tuple_key == "items" ? "additionalItems" : "items";
    const json::value* rest = s.if_contains(rest_key);
    if (!rest && s.contains("unevaluatedItems")) rest = s.if_contains("unevaluatedItems");
    if (rest && rest->is_bool() && !rest->get_bool()) {
      spec.items = ir::kNoNode;
    } else if (rest && !rest->is_array()) {
      auto id = compile(*rest, path + "/" + rest_key, depth + 1);
      if (!id) return std::unexpected(id.error());
      spec.items = *id;
    } else {
      spec.items = any();
    }
    return n;
  }

  Result<Node> build_object(const json::object& s, const std::string& path, int depth) {
    Node n;
    n.kind = Kind::kObject;
    auto& spec = n.object;
    const json::value* additional = s.if_contains("additionalProperties");
    if (!additional) additional = s.if_contains("unevaluatedProperties");
    bool closed = additional && additional->is_bool() && !additional->get_bool();
    if (auto listed = names_from_enum(s, additional, closed, path)) {
      if (!*listed) return std::unexpected(listed->error());
      synthetic_.push_back(std::move(**listed));
      return build_object(synthetic_.back().get_object(), path, depth);
    }
    std::set<std::string> required;
    if (auto* r = s.if_contains("required"); r && r->is_array())
      for (const auto& x : r->get_array())
        if (x.is_string()) required.insert(std::string(x.get_string()));
    auto patterns = compile_pattern_properties(s, path);
    if (!patterns) return std::unexpected(patterns.error());
    // A key matching patterns must also satisfy their schemas.
    auto matching = [&](std::string_view key) -> Result<json::array> {
      json::array schemas;
      bool ascii = std::all_of(key.begin(), key.end(), [](char c) { return c >= 0; });
      for (const auto& [dfa, schema] : *patterns) {
        if (dfa_matches(dfa, key))
          schemas.push_back(*schema);
        else if (!ascii)  // the DFA reads '.' and negated classes as ASCII only: cannot tell
          return unsupported("patternProperties", path, "non-ASCII property name");
      }
      return schemas;
    };
    auto compile_property = [&](const json::value* declared_schema, const std::string& name,
                                const std::string& at) -> Result<NodeId> {
      auto extra = matching(name);
      if (!extra) return std::unexpected(extra.error());
      if (extra->empty()) {
        if (declared_schema) return compile(*declared_schema, at, depth + 1);
        if (additional && !additional->is_bool())
          return compile(*additional, path + "/additionalProperties", depth + 1);
        return any();
      }
      if (declared_schema) extra->push_back(*declared_schema);
      return compile_synthetic(json::object{{"allOf", std::move(*extra)}}, at, depth + 1);
    };
    std::set<std::string> declared;
    if (auto* p = s.if_contains("properties"); p && p->is_object()) {
      for (const auto& [name, sub] : p->get_object()) {
        auto id =
            compile_property(&sub, std::string(name), path + "/properties/" + std::string(name));
        if (!id) return std::unexpected(id.error());
        declared.insert(std::string(name));
        spec.properties.push_back(
            {json::serialize(json::string(name)), *id, required.contains(std::string(name))});
      }
    }
    for (const auto& name : required) {
      if (declared.contains(name)) continue;
      auto extra = matching(name);
      if (!extra) return std::unexpected(extra.error());
      if (closed && extra->empty()) {
        Node never;
        return never;  // a required property that may not appear: no instance
      }
      auto id = compile_property(nullptr, name, path + "/required");
      if (!id) return std::unexpected(id.error());
      spec.properties.push_back({json::serialize(json::string(name)), *id, true});
    }
    auto min_props = int_keyword(s, "minProperties");
    auto max_props = int_keyword(s, "maxProperties");
    // With patternProperties, free keys could match a pattern: emit declared keys only.
    if (!spec.properties.empty() || closed || !patterns->empty()) {
      if (auto* names = s.if_contains("propertyNames")) {
        // Only declared names are ever emitted: keep those the names schema allows.
        auto flat = algebra_.flatten(*names, path + "/propertyNames");
        if (!flat) return std::unexpected(flat.error());
        std::vector<ir::Property> kept;
        for (auto& p : spec.properties) {
          auto allowed =
              name_satisfies(*flat, json::parse(p.key_json).as_string(), path + "/propertyNames");
          if (!allowed) return std::unexpected(allowed.error());
          if (*allowed)
            kept.push_back(std::move(p));
          else if (p.required)
            return Node{};  // a required name the names schema forbids: no instance
        }
        spec.properties = std::move(kept);
      }
      if (min_props && *min_props > static_cast<int32_t>(required.size()))
        return unsupported("minProperties", path, "above the number of required properties");
      if (max_props && *max_props < static_cast<int32_t>(spec.properties.size()))
        return unsupported("maxProperties", path, "below the number of declared properties");
      return n;
    }
    spec.free_form = true;
    // Free keys can repeat, and a repeated key does not count twice, so a minimum could be
    // missed; a maximum still holds.
    if (min_props && *min_props > 0)
      return unsupported("minProperties", path, "on an object without declared properties");
    spec.min_properties = 0;
    spec.max_properties = max_props.value_or(-1);
    if (auto* names = s.if_contains("propertyNames")) {
      auto flat = algebra_.flatten(*names, path + "/propertyNames");
      if (!flat) return std::unexpected(flat.error());
      for (const auto& [k, _] : *flat)
        if (is_constraint_keyword(k) && k != "type" && k != "minLength" && k != "maxLength" &&
            k != "pattern" && k != "format" && k != kMergedPatternsKey)
          return unsupported("propertyNames", path + "/propertyNames", k);
      // Names are strings: a names schema that admits no string (`false`, a non-string type)
      // leaves only the empty object.
      const json::value* type = flat->if_contains("type");
      bool names_may_be_strings =
          !type || (type->is_string() && type->get_string() == "string") ||
          (type->is_array() &&
           std::ranges::find(type->get_array(), json::value("string")) != type->get_array().end());
      if (!names_may_be_strings) {
        spec.max_properties = 0;
        spec.key_node = any_string();
      } else {
        auto key = build_string(*flat, path + "/propertyNames");
        if (!key) return std::unexpected(key.error());
        spec.key_node = add(std::move(*key));
      }
    } else {
      spec.key_node = any_string();
    }
    auto values = additional ? compile(*additional, path + "/additionalProperties", depth + 1)
                             : Result<NodeId>(any());
    if (!values) return std::unexpected(values.error());
    spec.values = *values;
    return n;
  }

  // propertyNames listing the names (Zod 3's record with enum keys): the same object with each
  // allowed name declared optional, valued by additionalProperties, and no other keys; each
  // name so appears at most once. nullopt when the names are not listed.
  std::optional<Result<json::value>> names_from_enum(const json::object& s,
                                                     const json::value* additional, bool closed,
                                                     const std::string& path) {
    auto* names = s.if_contains("propertyNames");
    if (!names || closed || s.contains("properties") || s.contains("patternProperties"))
      return std::nullopt;
    auto flat = algebra_.flatten(*names, path + "/propertyNames");
    if (!flat) return Result<json::value>(std::unexpected(flat.error()));
    json::array listed;
    if (auto* e = flat->if_contains("enum"); e && e->is_array())
      listed = e->get_array();
    else if (auto* c = flat->if_contains("const"))
      listed = json::array{*c};
    else
      return std::nullopt;
    json::object props;
    for (const auto& v : listed) {
      if (!v.is_string()) continue;
      auto ok = name_satisfies(*flat, v.get_string(), path + "/propertyNames");
      if (!ok) return Result<json::value>(std::unexpected(ok.error()));
      if (*ok) props[v.get_string()] = additional ? *additional : json::value(true);
    }
    json::object out = s;
    out.erase("propertyNames");
    out.erase("unevaluatedProperties");
    out["properties"] = std::move(props);
    out["additionalProperties"] = false;
    return Result<json::value>(json::value(std::move(out)));
  }

  using PatternSchemas = std::vector<std::pair<ByteDfa, const json::value*>>;
  static Result<PatternSchemas> compile_pattern_properties(const json::object& s,
                                                           const std::string& path) {
    PatternSchemas out;
    auto* pp = s.if_contains("patternProperties");
    if (!pp) return out;
    if (!pp->is_object()) return unsupported("patternProperties", path, "not an object");
    for (const auto& [pattern, schema] : pp->get_object()) {
      auto dfa = compile_regex(pattern);
      if (!dfa) return unsupported("patternProperties", path, dfa.error().message);
      out.push_back({std::move(*dfa), &schema});
    }
    return out;
  }
  const json::value& root_;
  SchemaAlgebra algebra_;
  ir::Grammar g_;
  std::unordered_map<const json::value*, NodeId> memo_;
  std::deque<json::value> synthetic_;
  NodeId any_ = -1, any_string_ = -1;
  size_t dfa_states_ = 0;
};

}  // namespace

Result<ir::Grammar> compile_grammar(std::string_view schema_json) {
  boost::system::error_code ec;
  json::parse_options options;
  options.max_depth = kMaxJsonDepth;  // the default (32) is too shallow for real schemas
  json::value root = json::parse(schema_json, ec, {}, options);
  if (ec) return fail(ErrorCode::kInvalidArgument, "schema is not valid JSON: " + ec.message());
  return Compiler(root).run();
}

}  // namespace plinth::structured
