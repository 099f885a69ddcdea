// The bounded pool: never more connections than its size, waiting callers time out with an
// error value, a returned connection wakes a waiter, a broken one is replaced.
#include "plinth/pg/pool.h"

#include <gtest/gtest.h>

#include <thread>

#include "pg/test_database.h"

namespace plinth::pg {
namespace {

using std::chrono::milliseconds;

TEST(PgPool, AcquireBeyondTheBoundTimesOutWithUnavailable) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = Pool::open({db.url(), 2, milliseconds(100)});
  ASSERT_TRUE(pool) << pool.error().message;
  auto a = (*pool)->acquire();
  auto b = (*pool)->acquire();
  ASSERT_TRUE(a && b);
  auto start = std::chrono::steady_clock::now();
  auto c = (*pool)->acquire();
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(90));
  PoolStats stats = (*pool)->stats();
  EXPECT_EQ(stats.size, 2);
  EXPECT_EQ(stats.open, 2);
  EXPECT_EQ(stats.in_use, 2);
  EXPECT_EQ(stats.timeouts_total, 1u);
}

TEST(PgPool, AReturnedConnectionWakesAWaiter) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = Pool::open({db.url(), 1, milliseconds(5000)});
  ASSERT_TRUE(pool);
  std::optional<Lease> held;
  auto first = (*pool)->acquire();
  ASSERT_TRUE(first);
  held.emplace(std::move(*first));
  std::thread release([&] {
    std::this_thread::sleep_for(milliseconds(50));
    held.reset();
  });
  auto next = (*pool)->acquire();
  release.join();
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ((*pool)->stats().open, 1);
}

TEST(PgPool, ManyThreadsShareTheBoundedSet) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = Pool::open({db.url(), 3, milliseconds(10000)});
  ASSERT_TRUE(pool);
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 12; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5; ++i) {
        auto lease = (*pool)->acquire();
        if (lease && (*lease)->exec("SELECT pg_sleep(0.001)")) done++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(done.load(), 60);
  auto rows = (**(*pool)->acquire())
                  .exec("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()");
  ASSERT_TRUE(rows);
  EXPECT_LE(rows->int64(0, 0), 3);
  EXPECT_LE((*pool)->stats().open, 3);
}

TEST(PgPool, AnOpenTransactionIsRolledBackWhenTheLeaseEnds) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = Pool::open({db.url(), 1, milliseconds(1000)});
  ASSERT_TRUE(pool);
  {
    auto lease = (*pool)->acquire();
    ASSERT_TRUE((*lease)->exec_script("CREATE TABLE t (v INT)"));
    ASSERT_TRUE((*lease)->exec_script("BEGIN"));
    ASSERT_TRUE((*lease)->exec("INSERT INTO t VALUES (1)"));
  }
  auto lease = (*pool)->acquire();
  auto rows = (*lease)->exec("SELECT count(*) FROM t");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->int64(0, 0), 0);
}

TEST(PgPool, AKilledConnectionIsReplaced) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = Pool::open({db.url(), 1, milliseconds(1000)});
  ASSERT_TRUE(pool);
  {
    auto lease = (*pool)->acquire();
    auto killer = Connection::open(db.url());
    ASSERT_TRUE(killer);
    auto pid = (*lease)->exec("SELECT pg_backend_pid()");
    ASSERT_TRUE((*killer)->exec("SELECT pg_terminate_backend($1)", {pid->int64(0, 0)}));
    EXPECT_FALSE((*lease)->exec("SELECT 1"));  // this statement finds the connection gone
  }
  auto lease = (*pool)->acquire();
  ASSERT_TRUE(lease) << lease.error().message;
  EXPECT_TRUE((*lease)->exec("SELECT 1"));
}

TEST(PgPool, ZeroSizeIsRefused) {
  auto pool = Pool::open({"postgresql://127.0.0.1:1/x", 0, milliseconds(1)});
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth::pg
