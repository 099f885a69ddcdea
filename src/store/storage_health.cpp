// The store's health: one query reads every domain's schema version, timing the round trip.
#include "plinth/store/storage_health.h"

#include <chrono>

#include "plinth/pg/migrations.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"
#include "plinth/store/store.h"

namespace plinth::store {
namespace {

Result<std::vector<std::pair<std::string, int>>> sqlite_versions(Database& db) {
  auto guard = db.lock();
  auto stmt = db.prepare(
      "SELECT domain, MAX(version) FROM schema_migrations GROUP BY domain ORDER BY domain");
  if (!stmt) return std::unexpected(stmt.error());
  std::vector<std::pair<std::string, int>> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.emplace_back(stmt->column_text(0), static_cast<int>(stmt->column_int(1)));
  }
  return out;
}

Result<std::vector<std::pair<std::string, int>>> postgres_versions(pg::Pool& pool) {
  auto lease = pool.acquire();
  if (!lease) return std::unexpected(lease.error());
  return pg::schema_versions(**lease);
}

}  // namespace

StorageHealth check_storage(Store& store) {
  StorageHealth health;
  std::shared_ptr<pg::Pool> pool = store.pg_pool();
  health.backend = pool ? "postgresql" : "sqlite";
  auto started = std::chrono::steady_clock::now();
  Result<std::vector<std::pair<std::string, int>>> versions =
      pool               ? postgres_versions(*pool)
      : store.database() ? sqlite_versions(*store.database())
                         : Result<std::vector<std::pair<std::string, int>>>(
                               std::unexpected(Error(ErrorCode::kUnavailable, "no database")));
  health.latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
  if (!versions) {
    health.error = versions.error().message;
    return health;
  }
  health.reachable = true;
  health.migrations = std::move(*versions);
  return health;
}

}  // namespace plinth::store
