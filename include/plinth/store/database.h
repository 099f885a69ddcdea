// The SQLite connection other modules build their tables on: RAII statements, transactions and
// per-domain schema migrations recorded in one `schema_migrations` table.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plinth/core/result.h"

struct sqlite3;
struct sqlite3_stmt;

namespace plinth::store {

using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string>;

// One prepared statement. Bind 1-based parameters, then step() until it returns false.
class Statement {
 public:
  Statement(Statement&&) noexcept;
  Statement& operator=(Statement&&) noexcept;
  ~Statement();

  Statement& bind_value(int index, const SqlValue& value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, int64_t value);
  Statement& bind_blob(int index, std::string_view bytes);
  // true: a row is available; false: done. Errors (constraint violations: kAlreadyExists).
  Result<bool> step();
  // Runs to completion; returns sqlite3_changes().
  Result<int> run();
  // Rewinds to the start so the statement can run again; bindings are kept until rebound.
  void reset();

  int64_t column_int(int index) const;
  std::string column_text(int index) const;  // text or blob bytes
  bool column_is_null(int index) const;

 private:
  friend class Database;
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

struct Migration {
  int version;      // 1, 2, 3 … within its domain
  std::string sql;  // may hold several statements
};

// One SQLite connection (WAL, synchronous=FULL, foreign keys on, busy timeout 5 s). Thread-safe
// use: callers take `lock()` around a statement sequence; Store implementations do so internally.
class Database {
 public:
  // Creates the file (and its parent folder) on first open.
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& file);
  ~Database();

  Status exec(std::string_view sql);
  Result<Statement> prepare(std::string_view sql);
  // Applies, in one transaction each, the migrations of `domain` newer than the recorded version.
  Status migrate(std::string_view domain, const std::vector<Migration>& migrations);
  Result<int> schema_version(std::string_view domain);

  std::unique_lock<std::recursive_mutex> lock() { return std::unique_lock(mutex_); }
  sqlite3* raw() { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::recursive_mutex mutex_;  // guards db_ across statement sequences
};

// BEGIN IMMEDIATE … COMMIT; rolls back in the destructor unless commit() succeeded. Holds the
// connection's lock for its lifetime so other threads' statements cannot interleave.
class Transaction {
 public:
  static Result<Transaction> begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_), guard_(std::move(other.guard_)) {
    other.db_ = nullptr;
  }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  Transaction(Database* db, std::unique_lock<std::recursive_mutex> guard)
      : db_(db), guard_(std::move(guard)) {}
  Database* db_;
  std::unique_lock<std::recursive_mutex> guard_;
};

}  // namespace plinth::store
