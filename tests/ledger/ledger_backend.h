// The ledger suites run against both backends: SQLite on a temp file and PostgreSQL in a fresh
// database on the test cluster (INSTANTIATE_TEST_SUITE_P with kLedgerBackends).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "pg/test_database.h"
#include "plinth/ledger/ledger.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"

namespace plinth::ledger::testing {

inline const auto kLedgerBackends = ::testing::Values("sqlite", "postgresql");

class LedgerBackend {
 public:
  explicit LedgerBackend(std::string kind) : kind_(std::move(kind)) {
    std::random_device seed;
    dir_ = std::filesystem::temp_directory_path() / ("plinth-ledger-" + std::to_string(seed()));
    std::filesystem::create_directories(dir_);
    if (postgres()) pg_.emplace();
  }
  ~LedgerBackend() {
    db_.reset();
    pool_.reset();
    std::filesystem::remove_all(dir_);
  }
  bool postgres() const { return kind_ == "postgresql"; }
  std::shared_ptr<pg::Pool> pool() { return pool_; }  // PostgreSQL only
  store::Database* database() { return db_.get(); }   // SQLite only

  // The pool on this backend's database (opened once); PostgreSQL only.
  Result<std::shared_ptr<pg::Pool>> connect() {
    if (!pg_->ok()) return fail(ErrorCode::kUnavailable, pg_->error());
    if (!pool_) {
      auto pool = pg::Pool::open({pg_->url(), 8, std::chrono::milliseconds(10000)});
      if (!pool) return std::unexpected(pool.error());
      pool_ = std::move(*pool);
    }
    return pool_;
  }
  const std::string& url() const { return pg_->url(); }  // PostgreSQL only

  // Opens a ledger on this backend's data; the previous one must be gone (it flushed).
  Result<std::unique_ptr<Ledger>> open() {
    if (postgres()) {
      auto pool = connect();
      if (!pool) return std::unexpected(pool.error());
      return open_postgres_ledger(*pool);
    }
    db_.reset();
    auto db = store::Database::open(dir_ / "plinth.db");
    if (!db) return std::unexpected(db.error());
    db_ = std::move(*db);
    return open_sqlite_ledger(*db_);
  }

 private:
  std::string kind_;
  std::filesystem::path dir_;
  std::optional<pg::testing::TestDatabase> pg_;
  std::shared_ptr<pg::Pool> pool_;
  std::unique_ptr<store::Database> db_;
};

}  // namespace plinth::ledger::testing
