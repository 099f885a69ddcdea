// Prometheus metrics: the series kept per model call and their text exposition.
#include "plinth/ledger/metrics.h"

#include <fmt/format.h>

#include <array>
#include <cmath>

#include "plinth/ledger/budgets.h"

namespace plinth::ledger {
namespace {

// Latency histogram upper bounds in seconds: local inference runs from milliseconds to minutes.
constexpr std::array<double, 14> kLatencyBounds = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                   1,     2.5,  5,     10,   30,  60,   120};

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

// Label values escape backslash, double quote and newline.
std::string escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const MetricLabels& labels) {
  if (labels.empty()) return "";
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += fmt::format("{}{}=\"{}\"", i ? "," : "", labels[i].first, escape(labels[i].second));
  }
  return out + "}";
}

MetricLabels zip(const std::vector<std::string_view>& names,
                 const std::vector<std::string>& values) {
  MetricLabels labels;
  for (size_t i = 0; i < names.size() && i < values.size(); ++i) {
    labels.emplace_back(std::string(names[i]), values[i]);
  }
  return labels;
}

void header(std::string& out, std::string_view name, std::string_view help, std::string_view type) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void family(std::string& out, std::string_view name, std::string_view help, std::string_view type,
            const std::vector<std::string_view>& label_names,
            const std::map<std::vector<std::string>, double>& series) {
  header(out, name, help, type);
  for (const auto& [values, value] : series) {
    out += fmt::format("{}{} {}\n", name, label_text(zip(label_names, values)), number(value));
  }
}

// "2xx".."5xx" for an HTTP status; a stream that failed after its 200 reports an error code name;
// "failed" is a pipeline stage that failed after paid model calls.
std::string status_class(std::string_view status) {
  if (status.size() == 3 && status[0] >= '1' && status[0] <= '5') {
    return std::string(1, status[0]) + "xx";
  }
  return status == "failed" ? "failed" : "stream_error";
}

std::string or_none(const std::string& value) { return value.empty() ? "none" : value; }

}  // namespace

Metrics::Metrics() = default;

Metrics::SeriesKey Metrics::bounded(const std::map<SeriesKey, double>& family, SeriesKey values) {
  if (family.size() < kMaxSeriesPerFamily || family.contains(values)) return values;
  for (std::string& v : values) v = "other";
  return values;
}

void Metrics::observe(const UsageRecord& record) {
  std::string model = or_none(record.model_used);
  std::string operation = or_none(record.operation);
  std::lock_guard lock(mutex_);
  requests_[bounded(requests_, {operation, model, status_class(record.status)})] += 1;
  if (latency_.size() < kMaxSeriesPerFamily || latency_.contains(operation)) {
    Histogram& h = latency_[operation];
    h.buckets.resize(kLatencyBounds.size());
    double seconds = static_cast<double>(record.latency_ms) / 1000.0;
    for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
      if (seconds <= kLatencyBounds[i]) {
        ++h.buckets[i];
        break;
      }
    }
    ++h.count;
    h.sum += seconds;
  }
  if (record.input_tokens > 0) {
    tokens_[bounded(tokens_, {model, "input"})] += static_cast<double>(record.input_tokens);
  }
  if (record.output_tokens > 0) {
    tokens_[bounded(tokens_, {model, "output"})] += static_cast<double>(record.output_tokens);
  }
  if (!record.model_used.empty()) {
    cost_[bounded(cost_, {model})] += static_cast<double>(record.cost_micro_usd) / 1e6;
  }
  if (record.escalated) {
    escalations_[bounded(
        escalations_, {or_none(record.model_requested), or_none(record.escalation_reason)})] += 1;
  }
}

void Metrics::count_soft_limit_crossing(const BudgetState& state) {
  std::lock_guard lock(mutex_);
  soft_crossings_[bounded(soft_crossings_, {state.id})] += 1;
}

void Metrics::attach_budgets(const Budgets& budgets) {
  std::lock_guard lock(mutex_);
  budgets_ = &budgets;
}

void Metrics::add_gauge(std::string name, std::string help, MetricLabels labels,
                        std::function<double()> value) {
  std::lock_guard lock(mutex_);
  gauges_.push_back({std::move(name), std::move(help), std::move(labels), std::move(value)});
}

void Metrics::add_counter(std::string name, std::string help, MetricLabels labels,
                          std::function<double()> value) {
  std::lock_guard lock(mutex_);
  gauges_.push_back(
      {std::move(name), std::move(help), std::move(labels), std::move(value), "counter"});
}

std::string Metrics::render() const {
  std::map<SeriesKey, double> requests, tokens, cost, escalations, soft_crossings;
  std::map<std::string, Histogram> latency;
  std::vector<Gauge> gauges;
  const Budgets* budgets = nullptr;
  {
    std::lock_guard lock(mutex_);
    requests = requests_;
    tokens = tokens_;
    cost = cost_;
    escalations = escalations_;
    soft_crossings = soft_crossings_;
    latency = latency_;
    gauges = gauges_;
    budgets = budgets_;
  }
  std::string out;
  family(out, "plinth_requests_total", "Model calls by operation, model and status class.",
         "counter", {"operation", "model", "status"}, requests);
  header(out, "plinth_request_duration_seconds", "Model call latency in seconds.", "histogram");
  for (const auto& [operation, h] : latency) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < kLatencyBounds.size(); ++i) {
      cumulative += h.buckets[i];
      out +=
          fmt::format("plinth_request_duration_seconds_bucket{{operation=\"{}\",le=\"{}\"}} {}\n",
                      escape(operation), number(kLatencyBounds[i]), cumulative);
    }
    out +=
        fmt::format("plinth_request_duration_seconds_bucket{{operation=\"{}\",le=\"+Inf\"}} {}\n",
                    escape(operation), h.count);
    out += fmt::format("plinth_request_duration_seconds_sum{{operation=\"{}\"}} {}\n",
                       escape(operation), number(h.sum));
    out += fmt::format("plinth_request_duration_seconds_count{{operation=\"{}\"}} {}\n",
                       escape(operation), h.count);
  }
  family(out, "plinth_tokens_total", "Tokens processed by model and direction.", "counter",
         {"model", "direction"}, tokens);
  family(out, "plinth_cost_usd_total", "Cost of model calls in US dollars by model.", "counter",
         {"model"}, cost);
  family(out, "plinth_escalations_total", "Calls escalated to a larger model.", "counter",
         {"model_requested", "reason"}, escalations);
  family(out, "plinth_budget_soft_limit_crossings_total",
         "Times a budget key's spend crossed its soft limit.", "counter", {"budget"},
         soft_crossings);
  if (budgets != nullptr) {
    // One series per budget id: for a "*" budget, its most-used key (keys are principals or
    // tags, too many for labels).
    std::map<std::string, BudgetState> by_id;
    for (BudgetState& state : budgets->snapshot()) {
      auto [it, inserted] = by_id.try_emplace(state.id, state);
      if (!inserted && state.used_fraction() > it->second.used_fraction()) it->second = state;
    }
    std::map<SeriesKey, double> used, spent, limit;
    for (const auto& [id, state] : by_id) {
      used[{id}] = state.used_fraction();
      spent[{id}] = static_cast<double>(state.spent_micro_usd) / 1e6;
      auto bound = state.limit_micro_usd ? state.limit_micro_usd : state.soft_limit_micro_usd;
      limit[{id}] = static_cast<double>(bound.value_or(0)) / 1e6;
    }
    family(out, "plinth_budget_used_fraction",
           "Spend over limit in the current period (the most-used key of a \"*\" budget).", "gauge",
           {"budget"}, used);
    family(out, "plinth_budget_spent_usd", "Spend in the current period in US dollars.", "gauge",
           {"budget"}, spent);
    family(out, "plinth_budget_limit_usd", "The budget's hard limit (else soft) in US dollars.",
           "gauge", {"budget"}, limit);
  }
  std::map<std::string, bool> named;
  for (const Gauge& gauge : gauges) {
    if (!named[gauge.name]) {
      named[gauge.name] = true;
      header(out, gauge.name, gauge.help, gauge.type);
      for (const Gauge& same : gauges) {
        if (same.name != gauge.name) continue;
        out += fmt::format("{}{} {}\n", same.name, label_text(same.labels),
                           number(same.value ? same.value() : 0));
      }
    }
  }
  return out;
}

}  // namespace plinth::ledger
