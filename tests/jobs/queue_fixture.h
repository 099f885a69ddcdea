// A queue on each backend — a real SQLite file in a fresh temp dir, or a fresh database on the
// test PostgreSQL cluster (pg/test_database.h) — with a ManualClock the test moves.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "pg/test_database.h"
#include "plinth/core/clock.h"
#include "plinth/jobs/queue.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"

namespace plinth::jobs {

using namespace std::chrono_literals;

constexpr int64_t kStartSeconds = 1'764'028'800;  // 2025-11-25T00:00:00Z
constexpr int64_t kStartMs = kStartSeconds * 1000;

enum class Backend { kSqlite, kPostgres };

inline std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

inline std::filesystem::path fresh_temp_dir(std::string_view name) {
  std::random_device seed;
  auto dir = std::filesystem::temp_directory_path() /
             (std::string(name) + "-" + std::to_string(seed()) + std::to_string(seed()));
  std::filesystem::create_directories(dir);
  return dir;
}

// Where one test's queue lives: a file for SQLite, a database URL for PostgreSQL. Opening it
// again (another connection, process or replica) sees the same jobs.
class QueueStorage {
 public:
  explicit QueueStorage(Backend backend) : backend_(backend) {
    if (backend == Backend::kSqlite) {
      dir_ = fresh_temp_dir("plinth-jobs-test");
    } else {
      database_ = std::make_unique<pg::testing::TestDatabase>();
      if (!database_->ok()) ADD_FAILURE() << database_->error();
    }
  }
  ~QueueStorage() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A queue on the shared storage; `db` receives the SQLite connection (kept by the caller).
  // Each PostgreSQL queue has its own pool and listener, as a replica would.
  Result<std::unique_ptr<Queue>> open(const Clock& clock, const QueueOptions& options,
                                      std::unique_ptr<store::Database>& db) const {
    if (backend_ == Backend::kPostgres) {
      if (!database_->ok()) return plinth::fail(ErrorCode::kUnavailable, database_->error());
      auto pool = pg::Pool::open({database_->url(), 4});
      if (!pool) return std::unexpected(pool.error());
      return open_postgres_queue(*pool, clock, options);
    }
    auto opened = store::Database::open(dir_ / "plinth.db");
    if (!opened) return std::unexpected(opened.error());
    db = std::move(*opened);
    return open_sqlite_queue(*db, clock, options);
  }

  Backend backend() const { return backend_; }

 private:
  Backend backend_;
  std::filesystem::path dir_;                            // SQLite
  std::unique_ptr<pg::testing::TestDatabase> database_;  // PostgreSQL
};

class QueueTest : public ::testing::TestWithParam<Backend> {
 protected:
  QueueTest() : storage_(GetParam()), clock_(kStartSeconds) {
    options_.visibility_timeout = 30s;
    options_.max_receive_count = 3;
    options_.retry_backoff = 1s;
    options_.max_retry_backoff = 4s;
    reopen();
  }
  ~QueueTest() override {
    queue_.reset();
    db_.reset();
  }

  void reopen() {
    queue_.reset();
    db_.reset();
    auto queue = storage_.open(clock_, options_, db_);
    ASSERT_TRUE(queue) << queue.error().message;
    queue_ = std::move(*queue);
  }

  // A second queue on the same storage: another connection (SQLite) or replica (PostgreSQL).
  struct Other {
    std::unique_ptr<store::Database> db;
    std::unique_ptr<Queue> queue;
  };
  Other open_other() {
    Other other;
    auto queue = storage_.open(clock_, options_, other.db);
    EXPECT_TRUE(queue) << queue.error().message;
    if (queue) other.queue = std::move(*queue);
    return other;
  }

  std::string enqueue(std::string payload = "{}", std::string account = "111111111111",
                      std::string queue = "documents") {
    auto id = queue_->enqueue({std::move(queue), std::move(account), std::move(payload)});
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : "";
  }

  // The next lease of "documents"; fails the test when there is none.
  JobLease claim() {
    auto lease = queue_->claim("documents");
    EXPECT_TRUE(lease) << lease.error().message;
    if (!lease || !*lease) {
      ADD_FAILURE() << "no job to claim";
      return {};
    }
    return **lease;
  }

  bool nothing_to_claim() {
    auto lease = queue_->claim("documents");
    EXPECT_TRUE(lease) << lease.error().message;
    return lease && !*lease;
  }

  JobStatus status_of(const std::string& id) {
    auto job = queue_->get(id, "");
    EXPECT_TRUE(job) << job.error().message;
    return job ? job->status : JobStatus::kQueued;
  }

  QueueStorage storage_;
  ManualClock clock_;
  QueueOptions options_;
  std::unique_ptr<store::Database> db_;  // SQLite only
  std::unique_ptr<Queue> queue_;
};

// Behaviour only the SQLite queue has (enqueue joining the caller's store::Transaction).
class SqliteQueueTest : public QueueTest {};

}  // namespace plinth::jobs
