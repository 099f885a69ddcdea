// $ref resolution, allOf merging and oneOf disjointness on JSON-level schemas.
#include "schema_merge.h"

#include <algorithm>
#include <set>

namespace plinth::structured {
namespace json = boost::json;

namespace {

constexpr int kMaxFlattenDepth = 48;
constexpr size_t kMaxExpansions = 20000;

enum TypeBit : unsigned {
  kNullBit = 1,
  kBoolBit = 2,
  kObjectBit = 4,
  kArrayBit = 8,
  kStringBit = 16,
  kIntegerBit = 32,
  kFractionBit = 64,  // numbers that are not integers
  kAllBits = 127,
};

unsigned type_bits(std::string_view t) {
  if (t == "null") return kNullBit;
  if (t == "boolean") return kBoolBit;
  if (t == "object") return kObjectBit;
  if (t == "array") return kArrayBit;
  if (t == "string") return kStringBit;
  if (t == "integer") return kIntegerBit;
  if (t == "number") return kIntegerBit | kFractionBit;
  return 0;
}

unsigned value_bits(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return kNullBit;
    case json::kind::bool_:
      return kBoolBit;
    case json::kind::object:
      return kObjectBit;
    case json::kind::array:
      return kArrayBit;
    case json::kind::string:
      return kStringBit;
    case json::kind::int64:
    case json::kind::uint64:
      return kIntegerBit;
    case json::kind::double_: {
      double d = v.get_double();
      return d == static_cast<double>(static_cast<long long>(d)) ? kIntegerBit : kFractionBit;
    }
  }
  return kAllBits;
}

const json::array* literal_values(const json::object& s, json::array& storage) {
  if (auto* e = s.if_contains("enum"); e && e->is_array()) return &e->get_array();
  if (auto* c = s.if_contains("const")) {
    storage = json::array{*c};
    return &storage;
  }
  return nullptr;
}

unsigned declared_type_bits(const json::object& s) {
  auto* t = s.if_contains("type");
  if (!t) return kAllBits;
  unsigned bits = 0;
  if (t->is_string()) bits = type_bits(t->get_string());
  if (t->is_array())
    for (const auto& e : t->get_array())
      if (e.is_string()) bits |= type_bits(e.get_string());
  if (auto* n = s.if_contains("nullable"); n && n->is_bool() && n->get_bool()) bits |= kNullBit;
  return bits;
}

// A superset of the kinds of instance the schema accepts.
unsigned accepted_bits(const json::object& s) {
  json::array storage;
  unsigned bits = declared_type_bits(s);
  if (auto* values = literal_values(s, storage)) {
    unsigned v = 0;
    for (const auto& e : *values) v |= value_bits(e);
    bits &= v;
  }
  return bits;
}

// A superset of the kinds of instance the compiler generates for the schema (it infers a type
// from type-specific keywords when "type" is absent).
unsigned generated_bits(const json::object& s) {
  unsigned bits = accepted_bits(s);
  if (s.contains("type") || s.contains("enum") || s.contains("const") || s.contains("anyOf") ||
      s.contains("oneOf"))
    return bits;
  unsigned inferred = 0;
  for (auto k : {"properties", "required", "additionalProperties", "propertyNames", "minProperties",
                 "maxProperties", "patternProperties", "unevaluatedProperties"})
    if (s.contains(k)) inferred |= kObjectBit;
  for (auto k :
       {"items", "prefixItems", "minItems", "maxItems", "additionalItems", "unevaluatedItems"})
    if (s.contains(k)) inferred |= kArrayBit;
  for (auto k : {"minLength", "maxLength", "pattern", "format"})
    if (s.contains(k)) inferred |= kStringBit;
  for (auto k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})
    if (s.contains(k)) inferred |= kIntegerBit | kFractionBit;
  return inferred ? (bits & inferred) : bits;
}

std::set<std::string> string_set(const json::object& s, std::string_view key) {
  std::set<std::string> out;
  if (auto* v = s.if_contains(key); v && v->is_array())
    for (const auto& e : v->get_array())
      if (e.is_string()) out.insert(std::string(e.get_string()));
  return out;
}

bool additional_forbidden(const json::object& s) {
  auto* a = s.if_contains("additionalProperties");
  return a && a->is_bool() && !a->get_bool();
}

}  // namespace

std::unexpected<Error> unsupported(std::string_view keyword, const std::string& path,
                                   std::string_view why) {
  std::string msg = "unsupported keyword '" + std::string(keyword) + "' at " + path;
  if (!why.empty()) msg += ": " + std::string(why);
  return fail(ErrorCode::kInvalidArgument, msg);
}

bool is_unenforceable_keyword(std::string_view key) {
  static const std::set<std::string_view> kKeywords = {"dependencies",
                                                       "dependentRequired",
                                                       "dependentSchemas",
                                                       "if",
                                                       "then",
                                                       "else",
                                                       "not",
                                                       "contains",
                                                       "minContains",
                                                       "maxContains",
                                                       "$dynamicRef",
                                                       "$recursiveRef"};
  return kKeywords.contains(key);
}

bool is_constraint_keyword(std::string_view key) {
  static const std::set<std::string_view> kEnforceable = {"type",
                                                          "properties",
                                                          "required",
                                                          "additionalProperties",
                                                          "enum",
                                                          "const",
                                                          "items",
                                                          "prefixItems",
                                                          "additionalItems",
                                                          "minItems",
                                                          "maxItems",
                                                          "anyOf",
                                                          "oneOf",
                                                          "allOf",
                                                          "$ref",
                                                          "minLength",
                                                          "maxLength",
                                                          "pattern",
                                                          "format",
                                                          "minimum",
                                                          "maximum",
                                                          "exclusiveMinimum",
                                                          "exclusiveMaximum",
                                                          "multipleOf",
                                                          "nullable",
                                                          "propertyNames",
                                                          "minProperties",
                                                          "maxProperties",
                                                          "unevaluatedProperties",
                                                          "unevaluatedItems",
                                                          "uniqueItems",
                                                          "patternProperties",
                                                          kMergedPatternsKey};
  return kEnforceable.contains(key) || is_unenforceable_keyword(key);
}

Result<const json::value*> SchemaAlgebra::resolve_ref(std::string_view ref,
                                                      const std::string& path) const {
  if (ref.empty() || ref[0] != '#') return unsupported("$ref", path, "only local references");
  const json::value* cur = &root_;
  std::string_view rest = ref.substr(1);
  if (!rest.empty() && rest[0] != '/') return unsupported("$ref", path, "anchors");
  while (!rest.empty()) {
    rest.remove_prefix(1);
    size_t end = rest.find('/');
    std::string_view raw = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    std::string token;
    for (size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] == '~' && i + 1 < raw.size()) {
        token += raw[i + 1] == '1' ? '/' : '~';
        ++i;
      } else if (raw[i] == '%' && i + 2 < raw.size()) {
        token += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        token += raw[i];
      }
    }
    if (cur->is_object()) {
      cur = cur->get_object().if_contains(token);
    } else if (cur->is_array()) {
      size_t idx = static_cast<size_t>(std::atoll(token.c_str()));
      cur = idx < cur->get_array().size() ? &cur->get_array()[idx] : nullptr;
    } else {
      cur = nullptr;
    }
    if (!cur)
      return fail(ErrorCode::kInvalidArgument,
                  "unresolvable $ref '" + std::string(ref) + "' at " + path);
  }
  return cur;
}

Result<json::object> SchemaAlgebra::flatten(const json::value& schema, const std::string& path,
                                            int depth) const {
  if (depth > kMaxFlattenDepth) return unsupported("$ref", path, "references nest too deeply");
  if (++expansions_ > kMaxExpansions)
    return unsupported("$ref", path,
                       "references and allOf expand to more than " +
                           std::to_string(kMaxExpansions) + " sub-schemas");
  if (schema.is_bool()) {
    json::object o;
    if (!schema.get_bool()) o["type"] = json::array{};
    return o;
  }
  if (!schema.is_object())
    return fail(ErrorCode::kInvalidArgument, "schema at " + path + " is not an object");
  json::object out = schema.get_object();
  out.erase("$ref");
  out.erase("allOf");
  const json::object& in = schema.get_object();
  if (auto* ref = in.if_contains("$ref")) {
    if (!ref->is_string()) return unsupported("$ref", path, "not a string");
    auto target = resolve_ref(ref->get_string(), path);
    if (!target) return std::unexpected(target.error());
    auto flat = flatten(**target, path + "/$ref", depth + 1);
    if (!flat) return flat;
    auto merged = merge(std::move(*flat), out, path);
    if (!merged) return merged;
    out = std::move(*merged);
  }
  if (auto* all = in.if_contains("allOf")) {
    if (!all->is_array()) return unsupported("allOf", path, "not an array");
    size_t i = 0;
    for (const auto& element : all->get_array()) {
      auto flat = flatten(element, path + "/allOf/" + std::to_string(i++), depth + 1);
      if (!flat) return flat;
      auto merged = merge(std::move(out), *flat, path);
      if (!merged) return merged;
      out = std::move(*merged);
    }
  }
  return out;
}

Result<json::object> SchemaAlgebra::merge(json::object a, const json::object& b,
                                          const std::string& path) const {
  const json::object original_a = a;
  for (const auto& [key, vb] : b) {
    json::value* va = a.if_contains(key);
    if (!va) {
      a[key] = vb;
      continue;
    }
    if (*va == vb || !is_constraint_keyword(key)) continue;
    if (key == "properties" && va->is_object() && vb.is_object()) {
      for (const auto& [name, sb] : vb.get_object()) {
        json::object& props = va->get_object();
        if (auto* sa = props.if_contains(name)) {
          *sa = json::object{{"allOf", json::array{*sa, sb}}};
        } else {
          props[name] = sb;
        }
      }
    } else if (key == "required" && va->is_array() && vb.is_array()) {
      for (const auto& r : vb.get_array())
        if (std::find(va->get_array().begin(), va->get_array().end(), r) == va->get_array().end())
          va->get_array().push_back(r);
    } else if (key == "type") {
      json::array common;
      unsigned bits_b = declared_type_bits(json::object{{"type", vb}});
      auto add = [&](const json::value& t) {
        if (!t.is_string()) return;
        unsigned bits = type_bits(t.get_string()) & bits_b;
        if (bits == (kIntegerBit | kFractionBit))
          common.push_back("number");
        else if (bits & kIntegerBit)
          common.push_back("integer");
        else if (bits)
          common.push_back(t);
      };
      if (va->is_string()) add(*va);
      if (va->is_array())
        for (const auto& t : va->get_array()) add(t);
      *va = common;
    } else if (key == "enum" && va->is_array() && vb.is_array()) {
      json::array common;
      for (const auto& e : va->get_array())
        if (std::find(vb.get_array().begin(), vb.get_array().end(), e) != vb.get_array().end())
          common.push_back(e);
      *va = common;
    } else if (key == "pattern" || key == kMergedPatternsKey) {
      // Both hold: keep a's, collect b's; the compiler intersects them all.
      json::value& extra = a[kMergedPatternsKey];
      if (!extra.is_array()) extra = json::array{};
      if (vb.is_array())
        for (const auto& p : vb.get_array()) extra.get_array().push_back(p);
      else
        extra.get_array().push_back(vb);
    } else if (key == "const") {
      a.erase("const");
      a["enum"] = json::array{};
    } else if ((key == "minimum" || key == "minLength" || key == "minItems" ||
                key == "minProperties" || (key == "exclusiveMinimum" && !va->is_bool())) &&
               va->is_number() && vb.is_number()) {
      if (vb.to_number<double>() > va->to_number<double>()) *va = vb;
    } else if ((key == "maximum" || key == "maxLength" || key == "maxItems" ||
                key == "maxProperties" || (key == "exclusiveMaximum" && !va->is_bool())) &&
               va->is_number() && vb.is_number()) {
      if (vb.to_number<double>() < va->to_number<double>()) *va = vb;
    } else if ((key == "additionalProperties" || key == "items" || key == "propertyNames" ||
                key == "additionalItems") &&
               !va->is_array() && !vb.is_array()) {
      if (va->is_bool() && !va->get_bool()) continue;
      if (vb.is_bool() && !vb.get_bool()) {
        *va = false;
        continue;
      }
      *va = json::object{{"allOf", json::array{*va, vb}}};
    } else if (key == "anyOf" && va->is_array() && vb.is_array() &&
               va->get_array().size() * vb.get_array().size() <= 64) {
      json::array product;
      for (const auto& x : va->get_array())
        for (const auto& y : vb.get_array()) product.push_back(json::object{{"allOf", {x, y}}});
      *va = product;
    } else {
      return unsupported(key, path, "cannot merge differing values in allOf");
    }
  }
  // additionalProperties:false on one side forbids the other side's extra properties.
  auto restrict_to = [&](const json::object& closed, const json::object& other) -> Status {
    if (!additional_forbidden(closed)) return ok();
    std::set<std::string> allowed;
    if (auto* p = closed.if_contains("properties"); p && p->is_object())
      for (const auto& [name, _] : p->get_object()) allowed.insert(std::string(name));
    auto required = string_set(other, "required");
    bool impossible = false;
    if (auto* p = a.if_contains("properties"); p && p->is_object()) {
      json::object kept;
      for (const auto& [name, s] : p->get_object()) {
        if (allowed.contains(std::string(name)))
          kept[name] = s;
        else if (required.contains(std::string(name)))
          impossible = true;
      }
      *p = std::move(kept);  // before inserting into `a`, which may move its values
    }
    if (impossible) a["type"] = json::array{};
    a["additionalProperties"] = false;
    return ok();
  };
  if (auto s = restrict_to(original_a, b); !s) return std::unexpected(s.error());
  if (auto s = restrict_to(b, original_a); !s) return std::unexpected(s.error());
  return a;
}

bool SchemaAlgebra::alternatives_disjoint(const json::array& alternatives,
                                          const std::string& path) const {
  std::vector<json::object> flat;
  for (const auto& alt : alternatives) {
    auto f = flatten(alt, path);
    if (!f) return false;
    flat.push_back(std::move(*f));
  }
  // Does every instance generated for `x` fail `y`?
  auto generated_fails = [&](const json::object& x, const json::object& y) {
    if ((generated_bits(x) & accepted_bits(y)) == 0) return true;
    json::array sx, sy;
    const json::array* lx = literal_values(x, sx);
    const json::array* ly = literal_values(y, sy);
    if (lx && ly) {
      bool shared = false;
      for (const auto& e : *lx)
        shared = shared || std::find(ly->begin(), ly->end(), e) != ly->end();
      if (!shared) return true;
    }
    if (generated_bits(x) != kObjectBit || x.contains("anyOf") || x.contains("oneOf")) return false;
    const json::value* px = x.if_contains("properties");
    const json::value* py = y.if_contains("properties");
    bool x_declares =
        (px && px->is_object() && !px->get_object().empty()) || additional_forbidden(x);
    auto x_required = string_set(x, "required");
    auto declared_in = [](const json::value* p, const std::string& k) {
      return p && p->is_object() && p->get_object().contains(k);
    };
    // y requires a key x never emits.
    if (x_declares)
      for (const auto& r : string_set(y, "required"))
        if (!declared_in(px, r) && !x_required.contains(r)) return true;
    for (const auto& k : x_required) {
      // x always emits k, which y forbids.
      if (additional_forbidden(y) && !declared_in(py, k)) return true;
      // x's value for k is a literal y's schema for k excludes.
      if (!declared_in(px, k) || !declared_in(py, k)) continue;
      auto fx = flatten(px->get_object().at(k), path);
      auto fy = flatten(py->get_object().at(k), path);
      if (!fx || !fy) continue;
      json::array s1, s2;
      const json::array* vx = literal_values(*fx, s1);
      const json::array* vy = literal_values(*fy, s2);
      if (!vx || !vy) continue;
      bool shared = false;
      for (const auto& e : *vx)
        shared = shared || std::find(vy->begin(), vy->end(), e) != vy->end();
      if (!shared) return true;
    }
    return false;
  };
  for (size_t i = 0; i < flat.size(); ++i)
    for (size_t j = 0; j < flat.size(); ++j)
      if (i != j && !generated_fails(flat[i], flat[j])) return false;
  return true;
}

}  // namespace plinth::structured
