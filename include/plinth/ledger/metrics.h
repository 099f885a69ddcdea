// Prometheus metrics: counters and a latency histogram fed by each model call's UsageRecord,
// budget gauges, and gauges other modules register (queue depth), in the text format.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/ledger/ledger.h"

namespace plinth::pg {
class Pool;
}

namespace plinth::ledger {

class Budgets;
struct BudgetState;

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

// Thread-safe. Labels are low-cardinality only (operation, model, status class, budget id):
// never principals or request ids; a family that reaches kMaxSeriesPerFamily label sets folds
// further new ones into one series whose label values are "other".
class Metrics {
 public:
  static constexpr size_t kMaxSeriesPerFamily = 200;

  Metrics();

  // One finished model call: requests, latency, tokens, cost, escalations.
  void observe(const UsageRecord& record);
  // A budget's soft limit was crossed (Budgets::on_soft_limit).
  void count_soft_limit_crossing(const BudgetState& state);
  // Budget gauges (used fraction, spent, limit per budget id) read from budgets at each render;
  // budgets must outlive this object.
  void attach_budgets(const Budgets& budgets);
  // A gauge whose value is read from `value` at each render, e.g.
  // add_gauge("plinth_queue_depth", "Jobs waiting.", {{"queue", "documents"}}, [&] {...}).
  // Gauges of one name share help; value runs without this object's lock held.
  void add_gauge(std::string name, std::string help, MetricLabels labels,
                 std::function<double()> value);
  // The same for a count that only grows (rendered as a counter; the name should end in _total).
  void add_counter(std::string name, std::string help, MetricLabels labels,
                   std::function<double()> value);

  // The text exposition format, version 0.0.4.
  std::string render() const;

 private:
  struct Histogram {
    std::vector<uint64_t> buckets;  // per upper bound in kLatencyBounds, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  struct Gauge {
    std::string name;
    std::string help;
    MetricLabels labels;
    std::function<double()> value;
    const char* type = "gauge";  // or "counter"
  };
  using SeriesKey = std::vector<std::string>;  // label values in the family's label order

  // The series key for `values`, folded to "other" once the family is full.
  static SeriesKey bounded(const std::map<SeriesKey, double>& family, SeriesKey values);

  mutable std::mutex mutex_;
  std::map<SeriesKey, double> requests_;        // guarded by mutex_: operation,model,status
  std::map<std::string, Histogram> latency_;    // guarded by mutex_: by operation
  std::map<SeriesKey, double> tokens_;          // guarded by mutex_: model, direction
  std::map<SeriesKey, double> cost_;            // guarded by mutex_: model
  std::map<SeriesKey, double> escalations_;     // guarded by mutex_: model_requested,reason
  std::map<SeriesKey, double> soft_crossings_;  // guarded by mutex_: budget
  std::vector<Gauge> gauges_;                   // guarded by mutex_
  const Budgets* budgets_ = nullptr;            // guarded by mutex_
};

// This replica's PostgreSQL pool: the gauges plinth_db_pool_size, plinth_db_pool_connections
// {state="open"|"in_use"} and plinth_db_pool_waiting, and the counters since start
// plinth_db_pool_acquired_total, plinth_db_pool_timeouts_total and plinth_db_pool_errors_total.
// The pool must outlive `metrics`' renders.
void add_pool_metrics(Metrics& metrics, std::shared_ptr<pg::Pool> pool);

}  // namespace plinth::ledger
