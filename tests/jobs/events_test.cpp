// Each job's event log, the waits that wake on writes from another thread or replica, and
// concurrent claimers on one database, on each backend.
#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "queue_fixture.h"

namespace plinth::jobs {
namespace {

using Steady = std::chrono::steady_clock;

TEST_P(QueueTest, EventsAppendInOrderAndEventsAfterReturnsOnlyNewerOnes) {
  std::string id = enqueue();
  std::string other = enqueue();
  EXPECT_EQ(queue_->append_event(id, "stage.started", "{\"stage\":\"parse\"}").value(), 1);
  EXPECT_EQ(queue_->append_event(other, "stage.started", "{}").value(), 1);  // per job
  clock_.advance(5ms);
  EXPECT_EQ(queue_->append_event(id, "stage.finished", "{\"stage\":\"parse\"}").value(), 2);
  EXPECT_EQ(queue_->append_event(id, "job.succeeded", "{}").value(), 3);

  auto all = queue_->events_after(id, 0, 0ms);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].sequence, 1);
  EXPECT_EQ((*all)[0].type, "stage.started");
  EXPECT_EQ((*all)[0].data, "{\"stage\":\"parse\"}");
  EXPECT_EQ((*all)[0].time_ms, kStartMs);
  EXPECT_EQ((*all)[1].type, "stage.finished");
  EXPECT_EQ((*all)[1].time_ms, kStartMs + 5);
  EXPECT_EQ((*all)[2].sequence, 3);

  auto newer = queue_->events_after(id, 2, 0ms);
  ASSERT_TRUE(newer);
  ASSERT_EQ(newer->size(), 1u);
  EXPECT_EQ(newer->front().type, "job.succeeded");
  EXPECT_TRUE(queue_->events_after(id, 3, 0ms).value().empty());

  reopen();  // durable
  EXPECT_EQ(queue_->events_after(id, 0, 0ms).value().size(), 3u);
  EXPECT_EQ(queue_->append_event(id, "late", "{}").value(), 4);
}

TEST_P(QueueTest, EventsOfAnUnknownJobAreNotFound) {
  EXPECT_EQ(queue_->append_event("no-such-job", "x", "{}").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(queue_->events_after("no-such-job", 0, 0ms).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(queue_->append_event(enqueue(), "", "{}").error().code, ErrorCode::kInvalidArgument);
}

TEST_P(QueueTest, WaitingEventsAfterWakesOnAppendFromAnotherThread) {
  std::string id = enqueue();
  ASSERT_TRUE(queue_->append_event(id, "stage.started", "{}"));
  auto started = Steady::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(queue_->append_event(id, "stage.finished", "{}"));
  });
  auto events = queue_->events_after(id, 1, 10s);
  auto waited = Steady::now() - started;
  writer.join();
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().sequence, 2);
  EXPECT_GE(waited, 90ms);
  EXPECT_LT(waited, 5s);
}

TEST_P(QueueTest, EventsAfterGivesUpEmptyWhenTheWaitPasses) {
  std::string id = enqueue();
  auto started = Steady::now();
  auto events = queue_->events_after(id, 0, 120ms);
  ASSERT_TRUE(events);
  EXPECT_TRUE(events->empty());
  EXPECT_GE(Steady::now() - started, 120ms);
}

TEST_P(QueueTest, ClaimWaitWakesOnEnqueueFromAnotherThread) {
  auto started = Steady::now();
  std::string id;
  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);
    id = enqueue();
  });
  auto lease = queue_->claim_wait("documents", 10s);
  auto waited = Steady::now() - started;
  producer.join();
  ASSERT_TRUE(lease);
  ASSERT_TRUE(*lease);
  EXPECT_EQ((*lease)->job.id, id);
  EXPECT_LT(waited, 5s);
  auto none = queue_->claim_wait("documents", 60ms);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_P(QueueTest, ClaimWaitSeesAnotherConnectionsEnqueue) {
  // Another connection to the same file (SQLite: noticed by polling) or another replica on the
  // same database (PostgreSQL: woken by NOTIFY within milliseconds, far below the poll interval).
  Other other = open_other();
  ASSERT_TRUE(other.queue);
  Steady::time_point enqueued;
  std::thread producer([&] {
    std::this_thread::sleep_for(100ms);
    EXPECT_TRUE(other.queue->enqueue({"documents", "111111111111", "{}"}));
    enqueued = Steady::now();
  });
  auto lease = queue_->claim_wait("documents", 5s);
  auto claimed = Steady::now();
  producer.join();
  ASSERT_TRUE(lease);
  EXPECT_TRUE(*lease);
  auto latency = claimed - enqueued;
  if (GetParam() == Backend::kPostgres) {
    EXPECT_LT(latency, 100ms) << "a NOTIFY should have woken the waiter";
  } else {
    EXPECT_LT(latency, 1s);
  }
}

TEST_P(QueueTest, ConcurrentClaimersNeverHoldTheSameJob) {
  constexpr int kJobs = 60;
  for (int i = 0; i < kJobs; ++i) enqueue("{\"n\":" + std::to_string(i) + "}");
  std::mutex mutex;
  std::set<std::string> held;              // guarded by mutex
  std::map<std::string, int> completions;  // guarded by mutex
  std::atomic<int> overlaps = 0, errors = 0;
  auto worker = [&] {
    while (true) {
      auto lease = queue_->claim("documents");
      if (!lease) {
        ++errors;
        return;
      }
      if (!*lease) return;
      const std::string& id = (*lease)->job.id;
      {
        std::lock_guard lock(mutex);
        if (!held.insert(id).second) ++overlaps;
      }
      std::this_thread::yield();
      {
        std::lock_guard lock(mutex);
        held.erase(id);
        ++completions[id];
      }
      if (!queue_->complete(**lease, "")) ++errors;
    }
  };
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back(worker);
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(overlaps, 0);
  EXPECT_EQ(errors, 0);
  ASSERT_EQ(completions.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, count] : completions) EXPECT_EQ(count, 1) << id;
  EXPECT_EQ(queue_->depth("documents").value(), 0);
}

TEST_P(QueueTest, ClaimersOnTwoConnectionsNeverGetTheSameJob) {
  Other other = open_other();
  ASSERT_TRUE(other.queue);
  constexpr int kJobs = 40;
  for (int i = 0; i < kJobs; ++i) enqueue();
  std::vector<std::string> got[2];
  auto drain = [&](Queue& queue, std::vector<std::string>& ids) {
    while (true) {
      auto lease = queue.claim("documents");
      if (!lease || !*lease) return;
      ids.push_back((*lease)->job.id);
    }
  };
  std::thread a([&] { drain(*queue_, got[0]); });
  std::thread b([&] { drain(*other.queue, got[1]); });
  a.join();
  b.join();
  std::set<std::string> all(got[0].begin(), got[0].end());
  all.insert(got[1].begin(), got[1].end());
  EXPECT_EQ(got[0].size() + got[1].size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(all.size(), static_cast<size_t>(kJobs));
}

TEST_P(QueueTest, StatsCountWhatThisReplicaDid) {
  Other other = open_other();
  ASSERT_TRUE(other.queue);
  for (int i = 0; i < 3; ++i) enqueue();
  ASSERT_TRUE(other.queue->claim("documents").value().has_value());
  ASSERT_TRUE(other.queue->claim("documents").value().has_value());
  QueueStats mine = queue_->stats(), theirs = other.queue->stats();
  EXPECT_EQ(mine.enqueued, 3u);
  EXPECT_EQ(mine.claimed, 0u);
  EXPECT_EQ(theirs.enqueued, 0u);
  EXPECT_EQ(theirs.claimed, 2u);
  if (GetParam() == Backend::kPostgres) {
    // The other replica heard the enqueues through LISTEN (delivered asynchronously).
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (other.queue->stats().notifications < 3 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_GE(other.queue->stats().notifications, 3u);
  }
}

}  // namespace
}  // namespace plinth::jobs
