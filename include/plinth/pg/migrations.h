// Forward-only schema migrations per domain, recorded in `schema_version (domain, version)`, and
// applied under an advisory lock so that replicas starting together migrate once.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/pg/connection.h"

namespace plinth::pg {

struct Migration {
  int version;      // 1, 2, 3 … within its domain
  std::string sql;  // may hold several statements
};

// Applies the migrations of `domain` newer than the recorded version, each in its own transaction,
// while holding pg_advisory_lock: a second replica waits, then finds nothing left to do. Fails
// (kCorruptData) when the database is at a version newer than this binary knows.
Status migrate(Connection& conn, std::string_view domain, const std::vector<Migration>& migrations);

// 0 when the domain has no migration yet.
Result<int> schema_version(Connection& conn, std::string_view domain);
// (domain, version) for every domain, by domain: /health reports them.
Result<std::vector<std::pair<std::string, int>>> schema_versions(Connection& conn);

}  // namespace plinth::pg
