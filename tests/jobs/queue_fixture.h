// A queue on a real SQLite file in a fresh temp dir, with a ManualClock the test moves.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <random>

#include "plinth/core/clock.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"

namespace plinth::jobs {

using namespace std::chrono_literals;

constexpr int64_t kStartSeconds = 1'764'028'800;  // 2025-11-25T00:00:00Z
constexpr int64_t kStartMs = kStartSeconds * 1000;

inline std::filesystem::path fresh_temp_dir(std::string_view name) {
  std::random_device seed;
  auto dir = std::filesystem::temp_directory_path() /
             (std::string(name) + "-" + std::to_string(seed()) + std::to_string(seed()));
  std::filesystem::create_directories(dir);
  return dir;
}

class QueueTest : public ::testing::Test {
 protected:
  QueueTest() : dir_(fresh_temp_dir("plinth-jobs-test")), clock_(kStartSeconds) {
    options_.visibility_timeout = 30s;
    options_.max_receive_count = 3;
    options_.retry_backoff = 1s;
    options_.max_retry_backoff = 4s;
    reopen();
  }
  ~QueueTest() override {
    queue_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  void reopen() {
    queue_.reset();
    db_.reset();
    auto db = store::Database::open(dir_ / "plinth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto queue = open_sqlite_queue(*db_, clock_, options_);
    ASSERT_TRUE(queue) << queue.error().message;
    queue_ = std::move(*queue);
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

  std::filesystem::path dir_;
  ManualClock clock_;
  QueueOptions options_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Queue> queue_;
};

}  // namespace plinth::jobs
