// Schema rewriting for valijson: regexes decided by our automaton against the instance's strings.
#include "validate_rewrite.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "regex_dfa.h"
#include "schema_keywords.h"
#include "schema_merge.h"

namespace plinth::structured {
namespace json = boost::json;

namespace {

// Pattern bytes matched over all strings, all patterns: bounds the work of one validation.
constexpr size_t kMaxMatchBytes = size_t{64} << 20;
constexpr int kMaxSchemaDepth = 1024;

void collect(const json::value& v, std::set<std::string>& out) {
  if (v.is_string()) {
    out.emplace(v.get_string());
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) collect(e, out);
  } else if (v.is_object()) {
    for (const auto& [k, e] : v.get_object()) {
      out.emplace(k);
      collect(e, out);
    }
  }
}

void collect_numbers(const json::value& v, std::vector<json::value>& out) {
  if (v.is_number()) {
    out.push_back(v);
  } else if (v.is_array()) {
    for (const auto& e : v.get_array()) collect_numbers(e, out);
  } else if (v.is_object()) {
    for (const auto& [_, e] : v.get_object()) collect_numbers(e, out);
  }
}

// `d` (as its shortest decimal spelling) is a whole multiple of units * 10^-decimals.
bool is_decimal_multiple(double d, uint64_t units, int32_t decimals) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, r.ptr - buf);
  std::string digits;
  int64_t exponent = 0;  // value = digits * 10^exponent
  size_t i = 0;
  for (; i < text.size() && text[i] != 'e'; ++i)
    if (text[i] != '.' && text[i] != '-') digits.push_back(text[i]);
  if (size_t dot = text.find('.'); dot < i) exponent = -static_cast<int64_t>(i - dot - 1);
  if (i < text.size()) {
    int64_t e = 0;
    std::from_chars(text.data() + i + 1 + (text[i + 1] == '+'), text.data() + text.size(), e);
    exponent += e;
  }
  while (!digits.empty() && digits.back() == '0' && exponent < 0) digits.pop_back(), ++exponent;
  if (exponent < -decimals) return false;  // more fraction digits than the multiple has
  uint64_t rest = 0;                       // digits * 10^(exponent + decimals) mod units
  for (char c : digits) rest = (rest * 10 + static_cast<uint64_t>(c - '0')) % units;
  for (int64_t z = 0; z < exponent + decimals && rest != 0; ++z) rest = rest * 10 % units;
  return rest == 0;
}

int two_digits(std::string_view s, size_t at) { return (s[at] - '0') * 10 + (s[at + 1] - '0'); }

// valijson's validate_date_range.
bool day_in_month(int month, int day) {
  if (month == 2) return day <= 29;
  int limit = 31;
  if (month <= 7 ? month % 2 == 0 : month % 2 != 0) limit = 30;
  return day <= limit;
}

class Rewriter {
 public:
  Rewriter(const std::set<std::string>& strings, const std::vector<json::value>& numbers)
      : strings_(strings), numbers_(numbers) {
    for (const auto& s : strings_) string_bytes_ += s.size() + 1;
  }

  Status run(json::value& v, int depth, bool is_root) {
    if (depth > kMaxSchemaDepth)
      return fail(ErrorCode::kInvalidArgument, "schema nests too deeply");
    if (v.is_array()) {
      for (auto& e : v.get_array())
        if (auto s = run(e, depth + 1, false); !s) return s;
      return ok();
    }
    if (!v.is_object()) return ok();
    auto& o = v.get_object();
    for (auto& [key, child] : o)
      if (key != "enum" && key != "const" && key != "default" && key != "examples")
        if (auto s = run(child, depth + 1, false); !s) return s;
    // Ids inside a schema send valijson 1.0 into unbounded recursion; the compiler resolves
    // "#..." references against the document root only, so dropping them keeps both readings.
    if (!is_root)
      for (auto key : {"id", "$id"})
        if (auto* id = o.if_contains(key); id && id->is_string()) o.erase(key);
    // OpenAPI's "nullable": true admits null, as the compiler reads it.
    if (auto* nullable = o.if_contains("nullable");
        nullable && nullable->is_bool() && nullable->get_bool()) {
      if (auto* type = o.if_contains("type"); type && type->is_string()) {
        *type = json::array{*type, "null"};
      } else if (type && type->is_array()) {
        auto& types = type->get_array();
        if (std::find(types.begin(), types.end(), json::value("null")) == types.end())
          types.push_back("null");
      }
      if (auto* values = o.if_contains("enum"); values && values->is_array()) {
        auto& v = values->get_array();
        if (std::find(v.begin(), v.end(), json::value(nullptr)) == v.end()) v.push_back(nullptr);
      }
      // zod-to-json-schema's nullable reference {"allOf": [{"$ref"}], "nullable": true}.
      if (!o.contains("type") && !o.contains("enum") &&
          (o.contains("allOf") || o.contains("$ref"))) {
        json::object inner;
        for (auto key : {"allOf", "$ref"})
          if (auto* x = o.if_contains(key)) inner[key] = *x, o.erase(key);
        require(o, json::object{
                       {"anyOf", json::array{json::object{{"type", "null"}}, std::move(inner)}}});
      }
    }
    rewrite_decimal_multiple(o);
    rewrite_draft4_bounds(o);
    rewrite_prefix_items(o);
    if (auto s = rewrite_patterns(o); !s) return s;
    if (auto s = rewrite_content_encoding(o); !s) return s;
    if (auto s = rewrite_format(o); !s) return s;
    return rewrite_pattern_properties(o);
  }

 private:
  // Appends a condition that must hold too.
  static void require(json::object& o, json::value condition) {
    if (auto* all = o.if_contains("allOf"); all && all->is_array())
      all->get_array().push_back(std::move(condition));
    else
      o["allOf"] = json::array{std::move(condition)};
  }
  // "Not a string, or one of these strings."
  static json::value strings_only(json::array allowed) {
    return json::object{{"anyOf", json::array{json::object{{"not", {{"type", "string"}}}},
                                              json::object{{"enum", std::move(allowed)}}}}};
  }

  void rewrite_decimal_multiple(json::object& o) {
    auto* m = o.if_contains("multipleOf");
    if (!m || !m->is_number()) return;
    double p = m->to_number<double>();
    for (int k = 0; k < 30 && p > 0 && p != std::floor(p); ++k) p *= 2;
    if (p == std::floor(p)) return;  // whole or binary: valijson's remainder is exact
    auto d = decimal_multiple(m->to_number<double>());
    if (!d) return;
    o.erase("multipleOf");
    json::array allowed;
    for (const auto& n : numbers_)
      if (is_decimal_multiple(n.to_number<double>(), d->first, d->second)) allowed.push_back(n);
    require(o, json::object{{"anyOf", json::array{json::object{{"not", {{"type", "number"}}}},
                                                  json::object{{"enum", std::move(allowed)}}}}});
  }

  // Draft-04's boolean exclusiveMinimum/exclusiveMaximum (OpenAPI 3.0) in draft-07 spelling.
  static void rewrite_draft4_bounds(json::object& o) {
    for (auto [excl, bound] :
         {std::pair{"exclusiveMinimum", "minimum"}, std::pair{"exclusiveMaximum", "maximum"}}) {
      auto* e = o.if_contains(excl);
      if (!e || !e->is_bool()) continue;
      auto* b = o.if_contains(bound);
      if (e->get_bool() && b && b->is_number()) {
        json::value limit = *b;
        o.erase(bound);
        o[excl] = limit;
      } else {
        o.erase(excl);
      }
    }
  }
  // 2020-12 tuples (prefixItems, then items for the rest) in draft-07 spelling.
  static void rewrite_prefix_items(json::object& o) {
    auto* prefix = o.if_contains("prefixItems");
    if (!prefix || !prefix->is_array()) return;
    if (auto* items = o.if_contains("items"); items && items->is_array()) return;
    json::value tuple = *prefix;
    o.erase("prefixItems");
    if (auto* items = o.if_contains("items")) {
      json::value rest = *items;
      o["additionalItems"] = rest;
    }
    o["items"] = tuple;
  }

  Result<const ByteDfa*> dfa(const std::string& pattern) {
    auto it = dfas_.find(pattern);
    if (it == dfas_.end()) {
      auto compiled = shared_regex(pattern);
      if (!compiled) return std::unexpected(compiled.error());
      it = dfas_.emplace(pattern, std::move(*compiled)).first;
    }
    return it->second.get();
  }
  // Every output of a schema is validated against the same patterns: compile each once per
  // process (a bounded cache; failures are not cached).
  static Result<std::shared_ptr<const ByteDfa>> shared_regex(const std::string& pattern) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::shared_ptr<const ByteDfa>> cache;  // by mutex
    {
      std::lock_guard lock(mutex);
      if (auto it = cache.find(pattern); it != cache.end()) return it->second;
    }
    auto compiled = compile_regex(pattern);
    if (!compiled) return std::unexpected(compiled.error());
    auto shared = std::make_shared<const ByteDfa>(std::move(*compiled));
    std::lock_guard lock(mutex);
    if (cache.size() >= 256) cache.clear();
    cache.emplace(pattern, shared);
    return shared;
  }
  Result<json::array> matching(const std::string& pattern) {
    auto d = dfa(pattern);
    if (!d) return unsupported("pattern", "#", d.error().message);
    work_ += string_bytes_;
    if (work_ > kMaxMatchBytes)
      return fail(ErrorCode::kInvalidArgument, "validation: too many patterns for the output");
    json::array out;
    for (const auto& s : strings_)
      if (dfa_matches(**d, s)) out.emplace_back(s);
    return out;
  }

  Status rewrite_patterns(json::object& o) {
    auto* p = o.if_contains("pattern");
    if (!p || !p->is_string()) return ok();
    std::string pattern(p->get_string());
    o.erase("pattern");
    // A pattern the automaton cannot compile is one the compiler never met on the way to a
    // string (it refuses those): unreachable, or beside a non-string "type". Skipped here,
    // never handed to a backtracking engine.
    if (!dfa(pattern)) return ok();
    auto allowed = matching(pattern);
    if (!allowed) return std::unexpected(allowed.error());
    require(o, strings_only(std::move(*allowed)));
    return ok();
  }

  // contentEncoding "base64" (Zod 3's base64() as zod-to-json-schema writes it): padded base64.
  Status rewrite_content_encoding(json::object& o) {
    auto* e = o.if_contains("contentEncoding");
    if (!e || !e->is_string() || e->get_string() != "base64") return ok();
    o.erase("contentEncoding");
    auto d = dfa(R"(^([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$)");
    if (!d) return std::unexpected(d.error());
    json::array allowed;
    for (const auto& s : strings_)
      if (dfa_matches(**d, s)) allowed.emplace_back(s);
    require(o, strings_only(std::move(allowed)));
    return ok();
  }

  Status rewrite_format(json::object& o) {
    auto* f = o.if_contains("format");
    if (!f || !f->is_string()) return ok();
    std::string format(f->get_string());
    o.erase("format");
    // valijson's own regexes for the formats it checks (time's offset optional, as in Zod).
    static const std::string kDate = R"([0-9]+-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01]))";
    static const std::string kTime = R"(([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?)";
    static const std::string kOffset = R"(([Zz]|[+|\-]([01][0-9]|2[0-3]):[0-5][0-9]))";
    std::string regex;
    if (format == "date") regex = "^" + kDate + "$";
    if (format == "time") regex = "^" + kTime + kOffset + "?$";
    if (format == "date-time") regex = "^" + kDate + "[Tt]" + kTime + kOffset + "$";
    if (regex.empty()) return ok();  // valijson checks no other format
    auto d = dfa(regex);
    if (!d) return std::unexpected(d.error());
    json::array allowed;
    for (const auto& s : strings_) {
      if (!dfa_matches(**d, s)) continue;
      if (format != "time") {
        size_t dash = s.find('-');  // year digits, then -MM-DD
        if (!day_in_month(two_digits(s, dash + 1), two_digits(s, dash + 4))) continue;
      }
      allowed.emplace_back(s);
    }
    require(o, strings_only(std::move(allowed)));
    return ok();
  }

  Status rewrite_pattern_properties(json::object& o) {
    auto* pp = o.if_contains("patternProperties");
    if (!pp || !pp->is_object()) return ok();
    for (const auto& [_, s] : pp->get_object())
      if (!s.is_object() && !s.is_bool()) return ok();  // a property named so, not the keyword
    json::object patterns = pp->get_object();
    o.erase("patternProperties");
    json::value& props = o["properties"];
    if (!props.is_object()) props = json::object{};
    for (const auto& [pattern, schema] : patterns) {
      auto d = dfa(std::string(pattern));
      // As for "pattern": one the compiler never reached is skipped, unless skipping it would
      // turn its keys into additional properties that are constrained.
      auto* extra = o.if_contains("additionalProperties");
      if (!d && (!extra || (extra->is_bool() && extra->get_bool()))) continue;
      if (!d) return unsupported("patternProperties", "#", d.error().message);
      work_ += string_bytes_;
      if (work_ > kMaxMatchBytes)
        return fail(ErrorCode::kInvalidArgument, "validation: too many patterns for the output");
      for (const auto& key : strings_) {
        if (!dfa_matches(**d, key)) continue;
        auto& p = props.get_object();
        if (auto* existing = p.if_contains(key))
          *existing = json::object{{"allOf", json::array{*existing, schema}}};
        else
          p[key] = schema;
      }
    }
    return ok();
  }

  const std::set<std::string>& strings_;
  const std::vector<json::value>& numbers_;
  size_t string_bytes_ = 0, work_ = 0;
  std::map<std::string, std::shared_ptr<const ByteDfa>> dfas_;
};

}  // namespace

std::set<std::string> instance_strings(const json::value& instance) {
  std::set<std::string> out;
  collect(instance, out);
  return out;
}

std::vector<json::value> instance_numbers(const json::value& instance) {
  std::vector<json::value> out;
  collect_numbers(instance, out);
  return out;
}

Status rewrite_for_valijson(json::value& schema, const std::set<std::string>& strings,
                            const std::vector<json::value>& numbers) {
  return Rewriter(strings, numbers).run(schema, 0, true);
}

}  // namespace plinth::structured
