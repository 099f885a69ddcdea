// Checks a declared property name against a "propertyNames" schema (string keywords only).
#include <algorithm>

#include "regex_dfa.h"
#include "schema_merge.h"

namespace plinth::structured {
namespace json = boost::json;

namespace {

size_t code_points(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

Result<bool> name_satisfies(const json::object& names, std::string_view name,
                            const std::string& path) {
  for (const auto& [k, v] : names) {
    if (!is_constraint_keyword(k)) continue;
    if (k == "type") {
      bool string = (v.is_string() && v.get_string() == "string") ||
                    (v.is_array() && std::ranges::find(v.get_array(), json::value("string")) !=
                                         v.get_array().end());
      if (!string) return false;
    } else if (k == "enum" || k == "const") {
      json::value key(name);
      bool listed = k == "const" ? v == key
                                 : v.is_array() &&
                                       std::ranges::find(v.get_array(), key) != v.get_array().end();
      if (!listed) return false;
    } else if (k == "minLength" || k == "maxLength") {
      if (!v.is_number()) continue;
      double limit = v.to_number<double>();
      double n = static_cast<double>(code_points(name));
      if (k == "minLength" ? n < limit : n > limit) return false;
    } else if (k == "pattern" || k == "format" || k == kMergedPatternsKey) {
      std::vector<std::string> regexes;
      if (k == "format" && v.is_string()) {
        auto r = format_regex(v.get_string());
        if (!r) return unsupported("propertyNames", path, r.error().message);
        regexes.push_back(*r);
      } else if (v.is_string()) {
        regexes.emplace_back(v.get_string());
      } else if (v.is_array()) {
        for (const auto& p : v.get_array())
          if (p.is_string()) regexes.emplace_back(p.get_string());
      }
      for (const auto& r : regexes) {
        auto dfa = compile_regex(r);
        if (!dfa) return unsupported("propertyNames", path, dfa.error().message);
        if (!dfa_matches(*dfa, name)) return false;
      }
    } else {
      return unsupported("propertyNames", path, k);
    }
  }
  return true;
}

}  // namespace plinth::structured
