// Keyword readers shared by the schema compiler: numbers, string automata, literal checks.
#include "schema_keywords.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "schema_merge.h"

namespace plinth::structured {
namespace json = boost::json;

std::optional<int32_t> int_keyword(const json::object& s, std::string_view key) {
  auto* v = s.if_contains(key);
  if (!v || !v->is_number()) return std::nullopt;
  double d = v->to_number<double>();
  if (d < 0) return 0;
  return static_cast<int32_t>(std::min(d, 1e9));
}

// Formats no validator checks (pure annotations) need no enforcement.
bool format_is_annotation(std::string_view f) {
  // Zod 4 names these checks as formats and emits the pattern that is the whole check.
  if (f == "starts_with" || f == "ends_with" || f == "includes" || f == "lowercase" ||
      f == "uppercase" || f == "regex")
    return true;
  return f == "binary" || f == "byte" || f == "password" || f == "textarea" || f == "int32" ||
         f == "int64" || f == "float" || f == "double";
}

// The automaton for a string's "format" and every "pattern" together (all must hold), or
// nullopt when neither constrains it.
Result<std::optional<ByteDfa>> string_dfa(const json::object& s, const std::string& path) {
  std::vector<std::pair<std::string, std::string>> regexes;  // (keyword, regex)
  std::string format;
  if (auto* f = s.if_contains("format");
      f && f->is_string() && !format_is_annotation(f->get_string()))
    format = std::string(f->get_string());
  // zod-to-json-schema writes Zod 3's base64() as contentEncoding alone.
  if (auto* e = s.if_contains("contentEncoding");
      format.empty() && e && e->is_string() && e->get_string() == "base64")
    format = "base64";
  auto add_pattern = [&](const json::value& p) -> Status {
    if (!p.is_string()) return unsupported("pattern", path, "not a string");
    regexes.push_back({"pattern", std::string(p.get_string())});
    if (format.empty()) format = std::string(format_implied_by_pattern(p.get_string()));
    return ok();
  };
  if (auto* p = s.if_contains("pattern"))
    if (auto st = add_pattern(*p); !st) return std::unexpected(st.error());
  if (auto* more = s.if_contains(kMergedPatternsKey); more && more->is_array())
    for (const auto& p : more->get_array())
      if (auto st = add_pattern(p); !st) return std::unexpected(st.error());
  if (!format.empty()) {
    auto r = format_regex(format);
    if (!r) return unsupported("format", path, r.error().message);
    regexes.insert(regexes.begin(), {"format", *r});
  }
  if (regexes.empty()) return std::optional<ByteDfa>();
  std::optional<ByteDfa> dfa;
  for (const auto& [keyword, regex] : regexes) {
    auto one = compile_regex(regex);
    if (!one) return unsupported(keyword, path, one.error().message);
    if (!dfa) {
      dfa = std::move(*one);
      continue;
    }
    auto both = intersect_dfas(*dfa, *one);
    if (!both) return unsupported(keyword, path, both.error().message);
    dfa = std::move(*both);
  }
  return dfa;
}

bool string_literal_ok(const json::object& s, const std::optional<ByteDfa>& dfa,
                       std::string_view text) {
  int64_t chars = 0, units = 0;
  for (unsigned char c : text) {
    chars += (c & 0xC0) != 0x80;
    units += (c & 0xC0) != 0x80 ? (c >= 0xF0 ? 2 : 1) : 0;
  }
  auto min = int_keyword(s, "minLength");
  auto max = int_keyword(s, "maxLength");
  if ((min && std::min(chars, units) < *min) || (max && std::max(chars, units) > *max))
    return false;
  return !dfa || dfa_matches(*dfa, text);
}
std::optional<std::pair<uint64_t, int32_t>> decimal_multiple(double m) {
  // Up to 6 fraction digits: JavaScript prints such numbers without an exponent, which Zod 3's
  // decimal remainder relies on.
  double scaled = m;
  for (int32_t k = 0; k <= 6; ++k, scaled = m * std::pow(10.0, k)) {
    double r = std::round(scaled);
    if (r >= 1 && r <= 1e9 && std::fabs(scaled - r) <= 1e-9 * r)
      return std::pair{static_cast<uint64_t>(r), k};
  }
  return std::nullopt;
}

bool number_literal_ok(const ir::NumberSpec& spec, double v) {
  if (spec.has_min && (v < spec.min || (spec.exclusive_min && v == spec.min))) return false;
  if (spec.has_max && (v > spec.max || (spec.exclusive_max && v == spec.max))) return false;
  if (spec.multiple == 0) return true;
  if (spec.decimals == 0) return std::fmod(v, spec.multiple) == 0;
  double scaled = v * std::pow(10.0, spec.decimals), r = std::round(scaled);
  return std::fabs(scaled - r) <= 1e-9 * std::max(1.0, std::fabs(r)) &&
         std::fmod(r, spec.multiple) == 0;
}

Result<ir::NumberSpec> number_spec(const json::object& s, bool integer, const std::string& path) {
  ir::NumberSpec spec;
  spec.integer = integer;
  auto number = [&](std::string_view key) -> std::optional<double> {
    auto* v = s.if_contains(key);
    if (v && v->is_number()) return v->to_number<double>();
    return std::nullopt;
  };
  if (auto v = number("minimum")) spec.has_min = true, spec.min = *v;
  if (auto v = number("maximum")) spec.has_max = true, spec.max = *v;
  if (auto* e = s.if_contains("exclusiveMinimum")) {
    if (e->is_bool())
      spec.exclusive_min = e->get_bool() && spec.has_min;
    else if (auto v = number("exclusiveMinimum"); v && (!spec.has_min || *v >= spec.min))
      spec.has_min = true, spec.min = *v, spec.exclusive_min = true;
  }
  if (auto* e = s.if_contains("exclusiveMaximum")) {
    if (e->is_bool())
      spec.exclusive_max = e->get_bool() && spec.has_max;
    else if (auto v = number("exclusiveMaximum"); v && (!spec.has_max || *v <= spec.max))
      spec.has_max = true, spec.max = *v, spec.exclusive_max = true;
  }
  if (auto m = number("multipleOf")) {
    // Multiples of p/2^k among the integers are the multiples of p/gcd(p, 2^k): exact in
    // binary, so every validator's remainder test agrees.
    double p = *m;
    int k = 0;
    while (p > 0 && p != std::floor(p) && k < 30) p *= 2, ++k;
    if (p >= 1 && p == std::floor(p) && p <= 1e9) {
      auto whole = static_cast<uint64_t>(p);
      spec.multiple = static_cast<double>(whole / std::gcd(whole, uint64_t{1} << k));
      spec.integer = true;
    } else if (auto d = decimal_multiple(*m); d && !integer) {
      // m * 10^-k such as 0.01: decimals with at most k fraction digits, checked exactly.
      spec.multiple = static_cast<double>(d->first);
      spec.decimals = d->second;
    } else if (d && integer) {
      // Integers that are multiples of m * 10^-k: multiples of m / gcd(m, 10^k).
      uint64_t scale = 1;
      for (int i = 0; i < d->second; ++i) scale *= 10;
      spec.multiple = static_cast<double>(d->first / std::gcd(d->first, scale));
    } else {
      return unsupported("multipleOf", path,
                         "only whole numbers up to 1e9, binary fractions such as 0.25 and "
                         "decimals such as 0.01 (at most 6 fraction digits)");
    }
  }
  // Generated numbers have at most 15 digits (exact in a double, and as JavaScript reads
  // them); bounds may lie anywhere that leaves some of those.
  constexpr double kLargest = 999999999999999;
  if (spec.has_min && spec.min > kLargest)
    return unsupported("minimum", path, "above 999999999999999 (15 digits)");
  if (spec.has_max && spec.max < -kLargest)
    return unsupported("maximum", path, "below -999999999999999 (15 digits)");
  return spec;
}

}  // namespace plinth::structured
