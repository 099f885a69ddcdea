// libpq wrapper against a real server: parameters, prepared statements, errors, transactions.
#include "plinth/pg/connection.h"

#include <gtest/gtest.h>

#include <thread>

#include "pg/test_database.h"
#include "plinth/pg/pool.h"

namespace plinth::pg {
namespace {

class PgConnection : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(db_.ok()) << db_.error();
    auto conn = Connection::open(db_.url());
    ASSERT_TRUE(conn) << conn.error().message;
    conn_ = std::move(*conn);
  }
  testing::TestDatabase db_;
  std::unique_ptr<Connection> conn_;
};

TEST_F(PgConnection, BindsParametersOfEveryTypeAndReadsThemBack) {
  auto rows = conn_->exec("SELECT $1::bigint, $2::float8, $3::text, $4::text, $5::bool",
                          {int64_t{-9007199254740993}, 0.25, "a'b\"c", nullptr, true});
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1);
  EXPECT_EQ(rows->int64(0, 0), -9007199254740993);
  EXPECT_DOUBLE_EQ(rows->number(0, 1), 0.25);
  EXPECT_EQ(rows->text(0, 2), "a'b\"c");
  EXPECT_TRUE(rows->is_null(0, 3));
  EXPECT_TRUE(rows->boolean(0, 4));
}

TEST_F(PgConnection, ByteaRoundTripsArbitraryBytes) {
  std::string bytes("\0\x01\xff'\\x", 6);
  ASSERT_TRUE(conn_->exec_script("CREATE TABLE b (v BYTEA)"));
  ASSERT_TRUE(conn_->exec("INSERT INTO b VALUES ($1)", {Param::bytes(bytes)}));
  auto rows = conn_->exec("SELECT v FROM b");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->bytes(0, 0), bytes);
}

TEST_F(PgConnection, PreparedStatementsAreReusedByName) {
  for (int i = 0; i < 3; ++i) {
    auto rows = conn_->exec_prepared("add_one", "SELECT $1::int + 1", {i});
    ASSERT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->int64(0, 0), i + 1);
  }
  auto prepared = conn_->exec("SELECT count(*) FROM pg_prepared_statements WHERE name = 'add_one'");
  ASSERT_TRUE(prepared);
  EXPECT_EQ(prepared->int64(0, 0), 1);
}

TEST_F(PgConnection, UniqueViolationIsAlreadyExistsAndSyntaxErrorsAreNotRetryable) {
  ASSERT_TRUE(conn_->exec_script("CREATE TABLE u (k TEXT PRIMARY KEY)"));
  ASSERT_TRUE(conn_->exec("INSERT INTO u VALUES ($1)", {"x"}));
  auto again = conn_->exec("INSERT INTO u VALUES ($1)", {"x"});
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(again.error().message.starts_with("pg 23505")) << again.error().message;
  auto bad = conn_->exec("SELEC 1");
  ASSERT_FALSE(bad);
  EXPECT_FALSE(is_retryable(bad.error()));
  auto inserted = conn_->exec("INSERT INTO u VALUES ($1), ($2)", {"y", "z"});
  ASSERT_TRUE(inserted);
  EXPECT_EQ(inserted->affected(), 2);
}

TEST_F(PgConnection, TransactionRollsBackUnlessCommitted) {
  ASSERT_TRUE(conn_->exec_script("CREATE TABLE t (v INT)"));
  {
    auto tx = Transaction::begin(*conn_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(conn_->exec("INSERT INTO t VALUES (1)"));
  }
  {
    auto tx = Transaction::begin(*conn_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(conn_->exec("INSERT INTO t VALUES (2)"));
    ASSERT_TRUE(tx->commit());
  }
  auto rows = conn_->exec("SELECT array_agg(v)::text FROM t");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->text(0, 0), "{2}");
}

TEST_F(PgConnection, SerializableHelperRetriesConflictsUntilEveryIncrementLands) {
  ASSERT_TRUE(conn_->exec_script("CREATE TABLE c (n INT); INSERT INTO c VALUES (0)"));
  auto pool = Pool::open({db_.url(), 8, std::chrono::milliseconds(10000)});
  ASSERT_TRUE(pool);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        // Read-then-write: without retries, concurrent transactions lose updates or fail.
        auto done = serializable(
            **pool,
            [](Connection& c) -> Status {
              auto n = c.exec("SELECT n FROM c");
              if (!n) return std::unexpected(n.error());
              auto w = c.exec("UPDATE c SET n = $1", {n->int64(0, 0) + 1});
              if (!w) return std::unexpected(w.error());
              return ok();
            },
            200);
        if (!done) failures++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto rows = conn_->exec("SELECT n FROM c");
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->int64(0, 0), 80);
}

TEST(PgUrl, WithDatabaseReplacesTheDatabaseAndKeepsTheRest) {
  auto url = with_database("postgresql://bob@db.example:6543/main?sslmode=require", "t_1");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_NE(url->find("dbname='t_1'"), std::string::npos) << *url;
  EXPECT_NE(url->find("host='db.example'"), std::string::npos) << *url;
  EXPECT_NE(url->find("port='6543'"), std::string::npos) << *url;
  EXPECT_NE(url->find("sslmode='require'"), std::string::npos) << *url;
  EXPECT_EQ(url->find("main"), std::string::npos) << *url;
  EXPECT_FALSE(with_database("postgresql://[bad", "x"));
}

TEST(PgUrl, RedactHidesPasswordsInBothForms) {
  EXPECT_EQ(redact("postgresql://bob:s3cret@h/db"), "postgresql://bob:***@h/db");
  EXPECT_EQ(redact("host=h password=s3cret dbname=d"), "host=h password=*** dbname=d");
  EXPECT_EQ(redact("postgresql://h/db?password=s3cret&sslmode=require"),
            "postgresql://h/db?password=***&sslmode=require");
  EXPECT_EQ(redact("postgresql://bob@h:5432/db"), "postgresql://bob@h:5432/db");
}

TEST(PgConnectionOpen, UnreachableServerIsUnavailableWithoutThePassword) {
  auto conn = Connection::open("postgresql://bob:s3cret@127.0.0.1:1/db?connect_timeout=2");
  ASSERT_FALSE(conn);
  EXPECT_EQ(conn.error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(conn.error().message.find("s3cret"), std::string::npos) << conn.error().message;
}

}  // namespace
}  // namespace plinth::pg
