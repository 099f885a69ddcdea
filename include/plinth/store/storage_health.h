// What /health reports about the store: the backend, whether its database answers, and the schema
// version each domain is migrated to.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace plinth::store {

class Store;

struct StorageHealth {
  std::string backend;  // "sqlite" | "postgresql"
  bool reachable = false;
  // Why not, for the log only: libpq messages may name hosts, so /health does not show it.
  std::string error;
  int64_t latency_us = 0;                               // one round trip
  std::vector<std::pair<std::string, int>> migrations;  // (domain, version), by domain
};

// One query against the store's database (a pooled connection on PostgreSQL).
StorageHealth check_storage(Store& store);

}  // namespace plinth::store
