// Migrations: applied once in order, recorded per domain, and applied exactly once when several
// replicas start at the same moment (the advisory lock).
#include "plinth/pg/migrations.h"

#include <gtest/gtest.h>

#include <barrier>
#include <thread>

#include "pg/test_database.h"

namespace plinth::pg {
namespace {

// Migration 2 appends a row: applying it twice would leave two.
const std::vector<Migration> kMigrations = {
    {1, "CREATE TABLE applied (version INT, at TIMESTAMPTZ DEFAULT clock_timestamp())"},
    {2, "SELECT pg_sleep(0.05); INSERT INTO applied (version) VALUES (2)"},
};

TEST(PgMigrations, AppliesInOrderOnceAndRecordsTheVersion) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto conn = Connection::open(db.url());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(migrate(**conn, "demo", kMigrations));
  ASSERT_TRUE(migrate(**conn, "demo", kMigrations));
  EXPECT_EQ(*schema_version(**conn, "demo"), 2);
  EXPECT_EQ(*schema_version(**conn, "other"), 0);
  auto rows = (*conn)->exec("SELECT count(*) FROM applied");
  EXPECT_EQ(rows->int64(0, 0), 1);
  auto versions = schema_versions(**conn);
  ASSERT_TRUE(versions);
  EXPECT_EQ(*versions, (std::vector<std::pair<std::string, int>>{{"demo", 2}}));
}

TEST(PgMigrations, ConcurrentStartersMigrateOnce) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  constexpr int kReplicas = 6;
  std::vector<std::unique_ptr<Connection>> conns;
  for (int i = 0; i < kReplicas; ++i) {
    auto conn = Connection::open(db.url());
    ASSERT_TRUE(conn);
    conns.push_back(std::move(*conn));
  }
  std::barrier start(kReplicas);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      if (!migrate(*conns[i], "demo", kMigrations)) failures++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = conns[0]->exec("SELECT count(*) FROM applied");
  ASSERT_TRUE(rows) << rows.error().message;
  EXPECT_EQ(rows->int64(0, 0), 1);
  auto recorded = conns[0]->exec("SELECT count(*) FROM schema_version WHERE domain = 'demo'");
  EXPECT_EQ(recorded->int64(0, 0), 2);
}

TEST(PgMigrations, AFailingMigrationLeavesTheVersionBeforeIt) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto conn = Connection::open(db.url());
  ASSERT_TRUE(conn);
  std::vector<Migration> broken = {{1, "CREATE TABLE a (v INT)"},
                                   {2, "CREATE TABLE b (v INT); SELEC oops"}};
  EXPECT_FALSE(migrate(**conn, "demo", broken));
  EXPECT_EQ(*schema_version(**conn, "demo"), 1);
  auto b = (*conn)->exec("SELECT to_regclass('b') IS NULL");
  EXPECT_TRUE(b->boolean(0, 0));
}

TEST(PgMigrations, ADatabaseNewerThanTheBinaryIsRefused) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto conn = Connection::open(db.url());
  ASSERT_TRUE(conn);
  ASSERT_TRUE(migrate(**conn, "demo", kMigrations));
  auto older = migrate(**conn, "demo", {kMigrations[0]});
  ASSERT_FALSE(older);
  EXPECT_EQ(older.error().code, ErrorCode::kCorruptData);
}

}  // namespace
}  // namespace plinth::pg
