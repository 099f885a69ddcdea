// Versioned migrations under a session advisory lock: the first replica applies them, the others
// wait on the lock and then find the recorded versions current.
#include "plinth/pg/migrations.h"

namespace plinth::pg {
namespace {

// pg_advisory_lock key: any constant shared by every Plinth binary ("plinth" in ASCII).
constexpr int64_t kMigrationLockKey = 0x706c696e7468;

// Releases the advisory lock however migrate() returns.
class AdvisoryLock {
 public:
  explicit AdvisoryLock(Connection& conn) : conn_(conn) {}
  Status take() {
    auto done = conn_.exec("SELECT pg_advisory_lock($1)", {kMigrationLockKey});
    if (!done) return std::unexpected(done.error());
    held_ = true;
    return ok();
  }
  ~AdvisoryLock() {
    if (held_) (void)conn_.exec("SELECT pg_advisory_unlock($1)", {kMigrationLockKey});
  }

 private:
  Connection& conn_;
  bool held_ = false;
};

Status ensure_table(Connection& conn) {
  return conn.exec_script(
      "CREATE TABLE IF NOT EXISTS schema_version ("
      " domain TEXT NOT NULL, version INTEGER NOT NULL,"
      " applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (domain, version))");
}

}  // namespace

Result<int> schema_version(Connection& conn, std::string_view domain) {
  auto rows = conn.exec("SELECT COALESCE(MAX(version), 0) FROM schema_version WHERE domain = $1",
                        {std::string(domain)});
  if (!rows) return std::unexpected(rows.error());
  return static_cast<int>(rows->int64(0, 0));
}

Result<std::vector<std::pair<std::string, int>>> schema_versions(Connection& conn) {
  auto rows =
      conn.exec("SELECT domain, MAX(version) FROM schema_version GROUP BY domain ORDER BY 1");
  if (!rows) return std::unexpected(rows.error());
  std::vector<std::pair<std::string, int>> out;
  for (int r = 0; r < rows->size(); ++r) {
    out.emplace_back(rows->text(r, 0), static_cast<int>(rows->int64(r, 1)));
  }
  return out;
}

Status migrate(Connection& conn, std::string_view domain,
               const std::vector<Migration>& migrations) {
  AdvisoryLock lock(conn);
  if (auto status = lock.take(); !status) return status;
  // Created under the lock: CREATE TABLE IF NOT EXISTS races with itself in PostgreSQL.
  if (auto status = ensure_table(conn); !status) return status;
  auto current = schema_version(conn, domain);
  if (!current) return std::unexpected(current.error());
  int newest = 0;
  for (const Migration& m : migrations) newest = std::max(newest, m.version);
  if (*current > newest) {
    return fail(ErrorCode::kCorruptData, "database schema '" + std::string(domain) +
                                             "' is at version " + std::to_string(*current) +
                                             ", newer than this binary's " +
                                             std::to_string(newest) + ": upgrade Plinth");
  }
  for (const Migration& m : migrations) {
    if (m.version <= *current) continue;
    auto tx = Transaction::begin(conn);
    if (!tx) return std::unexpected(tx.error());
    if (auto status = conn.exec_script(m.sql); !status) return status;
    auto record = conn.exec("INSERT INTO schema_version (domain, version) VALUES ($1, $2)",
                            {std::string(domain), m.version});
    if (!record) return std::unexpected(record.error());
    if (auto status = tx->commit(); !status) return status;
    *current = m.version;
  }
  return ok();
}

}  // namespace plinth::pg
