// The PostgreSQL pool's figures as /metrics gauges, read at each render.
#include "plinth/ledger/metrics.h"
#include "plinth/pg/pool.h"

namespace plinth::ledger {

void add_pool_gauges(Metrics& metrics, std::shared_ptr<pg::Pool> pool) {
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
  gauge("plinth_db_pool_acquired", "Connections leased since start.", {},
        [](const pg::PoolStats& s) { return s.acquired_total; });
  gauge("plinth_db_pool_timeouts", "Leases refused since start: the pool stayed full.", {},
        [](const pg::PoolStats& s) { return s.timeouts_total; });
  gauge("plinth_db_pool_errors", "Failed connects and broken connections since start.", {},
        [](const pg::PoolStats& s) { return s.errors_total; });
}

}  // namespace plinth::ledger
