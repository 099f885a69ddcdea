// The PostgreSQL pool's figures on /metrics (gauges, and counters for what only grows), read at
// each render.
#include "plinth/ledger/metrics.h"
#include "plinth/pg/pool.h"

namespace plinth::ledger {

void add_pool_metrics(Metrics& metrics, std::shared_ptr<pg::Pool> pool) {
  auto gauge = [&](std::string name, std::string help, MetricLabels labels, auto field) {
    metrics.add_gauge(std::move(name), std::move(help), std::move(labels),
                      [pool, field] { return static_cast<double>(field(pool->stats())); });
  };
  gauge("plinth_db_pool_size", "Connections this replica's pool may open.", {},
        [](const pg::PoolStats& s) { return s.size; });
  gauge("plinth_db_pool_connections", "Connections of this replica's pool.", {{"state", "open"}},
        [](const pg::PoolStats& s) { return s.open; });
  gauge("plinth_db_pool_connections", "Connections of this replica's pool.", {{"state", "in_use"}},
        [](const pg::PoolStats& s) { return s.in_use; });
  gauge("plinth_db_pool_waiting", "Callers waiting for a free connection.", {},
        [](const pg::PoolStats& s) { return s.waiting; });
  auto counter = [&](std::string name, std::string help, auto field) {
    metrics.add_counter(std::move(name), std::move(help), {},
                        [pool, field] { return static_cast<double>(field(pool->stats())); });
  };
  counter("plinth_db_pool_acquired_total", "Connections leased since start.",
          [](const pg::PoolStats& s) { return s.acquired_total; });
  counter("plinth_db_pool_timeouts_total", "Leases refused since start: the pool stayed full.",
          [](const pg::PoolStats& s) { return s.timeouts_total; });
  counter("plinth_db_pool_errors_total", "Failed connects and broken connections since start.",
          [](const pg::PoolStats& s) { return s.errors_total; });
}

}  // namespace plinth::ledger
