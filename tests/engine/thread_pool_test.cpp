// ThreadPool: every index runs exactly once, across many back-to-back and idle-separated calls.
#include "ops/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

namespace plinth::engine {
namespace {

// Runs parallel_for(n) and checks every index was visited exactly once in contiguous ranges.
void expect_exact_cover(ThreadPool& pool, int64_t n) {
  std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
  std::atomic<int> bad_ranges{0};
  pool.parallel_for(n, [&](int64_t begin, int64_t end) {
    if (begin < 0 || end > n || begin >= end) bad_ranges.fetch_add(1);
    for (int64_t i = begin; i < end; ++i) hits[i].fetch_add(1, std::memory_order_relaxed);
  });
  ASSERT_EQ(bad_ranges.load(), 0);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[i].load(), 1) << "n " << n << " index " << i;
}

TEST(ThreadPool, SizeCountsTheCallingThread) {
  EXPECT_EQ(ThreadPool(1).size(), 1);
  EXPECT_EQ(ThreadPool(4).size(), 4);
  EXPECT_GE(ThreadPool(0).size(), 1);
}

TEST(ThreadPool, CoversEveryIndexOnceForManySizes) {
  for (int threads : {1, 2, 3, 5}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 4, 5, 7, 16, 31, 100, 1000, 4097}) expect_exact_cover(pool, n);
  }
}

TEST(ThreadPool, ManyBackToBackCallsStayCorrect) {
  ThreadPool pool(3);
  std::vector<int64_t> data(997);
  for (int call = 0; call < 20000; ++call) {
    int64_t n = 1 + call % static_cast<int>(data.size());
    pool.parallel_for(n, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) data[i] += 1;
    });
  }
  // Index i was inside [0, n) for every call with n > i.
  for (int64_t i = 0; i < static_cast<int64_t>(data.size()); ++i) {
    int64_t expected = 0;
    for (int call = 0; call < 20000; ++call) expected += (1 + call % 997) > i;
    ASSERT_EQ(data[i], expected) << i;
  }
}

TEST(ThreadPool, WakesWorkersThatWentToSleep) {
  ThreadPool pool(3);
  std::atomic<int> distinct_threads{0};
  for (int round = 0; round < 5; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the spin phase
    expect_exact_cover(pool, 64);
  }
  // Slow chunks (the caller alone would need 24 x 10 ms) make the woken threads take part.
  std::mutex m;
  std::set<std::thread::id> seen;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  pool.parallel_for(24, [&](int64_t, int64_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(m);
    seen.insert(std::this_thread::get_id());
  });
  distinct_threads = static_cast<int>(seen.size());
  EXPECT_GE(distinct_threads.load(), 2);
}

TEST(ThreadPool, ResultsMatchASerialSum) {
  ThreadPool pool(4);
  std::vector<double> values(100000);
  std::iota(values.begin(), values.end(), 0.0);
  std::vector<double> partial(values.size());
  pool.parallel_for(static_cast<int64_t>(values.size()), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) partial[i] = values[i] * 2;
  });
  EXPECT_EQ(std::accumulate(partial.begin(), partial.end(), 0.0),
            2 * std::accumulate(values.begin(), values.end(), 0.0));
}

}  // namespace
}  // namespace plinth::engine
