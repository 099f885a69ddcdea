// One libpq connection: parameterized statements, statements prepared by name, typed result rows.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "plinth/core/result.h"

struct pg_conn;
struct pg_result;

namespace plinth::pg {

// A statement parameter, sent as text (or as bytes for bytea); null when empty.
class Param {
 public:
  Param(std::nullptr_t) {}
  Param(std::string_view text) : value_(std::string(text)) {}
  Param(const std::string& text) : value_(text) {}
  Param(const char* text) : value_(std::string(text)) {}
  Param(int64_t number) : value_(std::to_string(number)) {}
  Param(int number) : value_(std::to_string(number)) {}
  Param(uint64_t number) : value_(std::to_string(number)) {}
  Param(double number);
  Param(bool flag) : value_(flag ? "true" : "false") {}
  Param(std::optional<std::string> text) : value_(std::move(text)) {}
  // Raw bytes for a bytea parameter (binary format: no escaping).
  static Param bytes(std::string_view data) {
    Param p{std::string(data)};
    p.binary_ = true;
    return p;
  }

  const std::optional<std::string>& value() const { return value_; }
  bool binary() const { return binary_; }

 private:
  std::optional<std::string> value_;
  bool binary_ = false;
};

using Params = std::vector<Param>;

// A finished statement's rows (text format). Columns are addressed by 0-based index.
class Rows {
 public:
  Rows() = default;
  explicit Rows(pg_result* result);
  int size() const;
  int columns() const;
  bool empty() const { return size() == 0; }
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  int64_t int64(int row, int column) const;      // 0 for null
  double number(int row, int column) const;      // 0 for null
  bool boolean(int row, int column) const;       // "t"
  std::string bytes(int row, int column) const;  // a bytea column, unescaped
  // Rows touched by INSERT/UPDATE/DELETE (PQcmdTuples).
  int64_t affected() const;

 private:
  std::shared_ptr<pg_result> result_;
};

// Error codes: unique violation → kAlreadyExists; serialization failure or deadlock → kConflict
// (is_retryable); broken connection → kUnavailable; others → kInvalidArgument/kInternal. Messages
// start with "pg SQLSTATE:".
bool is_retryable(const Error& error);

class Connection {
 public:
  // `url`: postgresql://… or key=value conninfo; libpq's environment (PGPASSFILE, PGSSLMODE …)
  // applies. Fails with kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<Connection>> open(const std::string& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // One statement with $1… parameters.
  Result<Rows> exec(std::string_view sql, const Params& params = {});
  // Prepares `sql` under `name` on first use on this connection, then executes it.
  Result<Rows> exec_prepared(const std::string& name, std::string_view sql,
                             const Params& params = {});
  // Several statements, no parameters (migrations, BEGIN/COMMIT).
  Status exec_script(std::string_view sql);

  bool healthy() const;
  // Reconnects a broken connection; prepared statements are forgotten.
  bool reset();
  pg_conn* raw() { return conn_; }

 private:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Result<Rows> finish(pg_result* result, std::string_view what);
  pg_conn* conn_;
  std::unordered_set<std::string> prepared_;  // names prepared on this connection
};

// BEGIN … COMMIT on one connection; rolls back in the destructor unless committed.
enum class Isolation { kReadCommitted, kRepeatableRead, kSerializable };

class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn,
                                   Isolation isolation = Isolation::kReadCommitted);
  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

// libpq conninfo for `url` with its database replaced by `database` (tests create their own).
Result<std::string> with_database(const std::string& url, const std::string& database);
// The URL for logs: any password is replaced by "***".
std::string redact(const std::string& url);

}  // namespace plinth::pg
