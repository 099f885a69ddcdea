// Test support: a strict reader of the Prometheus text format (0.0.4) that checks HELP/TYPE
// lines, sample syntax and histogram invariants, and returns the samples.
#pragma once

#include <cstdlib>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace plinth::testing {

struct PrometheusText {
  std::string error;                      // empty when well formed
  std::map<std::string, double> samples;  // "name{labels}" -> value
  std::map<std::string, std::string> types;

  double value(const std::string& series) const {
    auto it = samples.find(series);
    return it == samples.end() ? 0 : it->second;
  }
};

inline PrometheusText parse_prometheus_text(const std::string& text) {
  PrometheusText out;
  static const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  static const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))");
  static const std::regex sample(
      R"(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})? )"
      R"(([-+]?[0-9.eE+-]+|\+Inf|-Inf|NaN))");
  std::set<std::string> helped;
  std::istringstream lines(text);
  std::string line;
  // Histogram state: last cumulative bucket per series (labels without le).
  std::map<std::string, double> last_bucket, inf_bucket;
  if (text.empty() || text.back() != '\n') out.error = "text does not end in a newline";
  while (out.error.empty() && std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, help)) {
      if (!helped.insert(m[1]).second) out.error = "HELP twice: " + line;
      continue;
    }
    if (std::regex_match(line, m, type)) {
      if (!helped.contains(m[1]) || out.types.contains(m[1])) out.error = "bad TYPE: " + line;
      out.types[m[1]] = m[2];
      continue;
    }
    if (!std::regex_match(line, m, sample)) {
      out.error = "malformed line: " + line;
      break;
    }
    std::string name = m[1];
    std::string labels = m[2];
    std::string value_text = m[5];
    double value = value_text == "+Inf" ? 1e308 : std::strtod(value_text.c_str(), nullptr);
    std::string family = name;
    for (std::string suffix : {"_bucket", "_sum", "_count"}) {
      if (name.ends_with(suffix) &&
          out.types.contains(name.substr(0, name.size() - suffix.size())) &&
          out.types[name.substr(0, name.size() - suffix.size())] == "histogram") {
        family = name.substr(0, name.size() - suffix.size());
      }
    }
    if (!out.types.contains(family)) {
      out.error = "sample before its TYPE: " + line;
      break;
    }
    if (out.samples.contains(name + labels)) {
      out.error = "duplicate series: " + line;
      break;
    }
    out.samples[name + labels] = value;
    if (name == family + "_bucket") {
      static const std::regex le(R"(,?le="([^"]*)\")");
      std::smatch lm;
      if (!std::regex_search(labels, lm, le)) {
        out.error = "bucket without le: " + line;
        break;
      }
      std::string series = family + std::regex_replace(labels, le, "");
      if (value < last_bucket[series]) out.error = "buckets not cumulative: " + line;
      last_bucket[series] = value;
      if (lm[1] == "+Inf") inf_bucket[series] = value;
    }
    if (name == family + "_count") {
      std::string series = family + labels;
      if (!inf_bucket.contains(series) || inf_bucket[series] != value) {
        out.error = "+Inf bucket differs from _count: " + line;
      }
    }
  }
  return out;
}

}  // namespace plinth::testing
