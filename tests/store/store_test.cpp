// The SQLite store on a real temp file: migrations, transactions, sealed boxes, key files.
#include "plinth/store/store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "plinth/core/encoding.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/storage_url.h"

namespace plinth::store {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("plinth-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    random_ = Random::seeded(7);
    key_ = random_->bytes(kSealKeyBytes);
    auto store = open_sqlite_store({dir_.path() / "plinth.db", key_, random_});
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
  }
  TempDir dir_;
  std::shared_ptr<Random> random_;
  std::string key_;
  std::unique_ptr<Store> store_;
};

// IAM records: iam_store_test.cpp runs them on both backends.

TEST_F(SqliteStoreTest, OtherDomainsMigrateOnTheSameConnectionOnce) {
  Database* db = store_->database();
  ASSERT_NE(db, nullptr);
  // Users, keys, roles (1); service-specific credentials (2); OpenID Connect providers (3).
  EXPECT_EQ(*db->schema_version("iam"), 3);
  std::vector<Migration> ledger = {{1, "CREATE TABLE ledger_entries (id INTEGER PRIMARY KEY)"},
                                   {2, "ALTER TABLE ledger_entries ADD COLUMN cost REAL"}};
  ASSERT_TRUE(db->migrate("ledger", ledger).has_value());
  ASSERT_TRUE(db->migrate("ledger", ledger).has_value());  // idempotent
  EXPECT_EQ(*db->schema_version("ledger"), 2);
  // A failing migration rolls back entirely and leaves the version as it was.
  ledger.push_back({3, "CREATE TABLE t3 (x); INSERT INTO missing_table VALUES (1)"});
  EXPECT_FALSE(db->migrate("ledger", ledger).has_value());
  EXPECT_EQ(*db->schema_version("ledger"), 2);
  auto probe = db->prepare("SELECT count(*) FROM sqlite_master WHERE name = 't3'");
  ASSERT_TRUE(probe->step().value());
  EXPECT_EQ(probe->column_int(0), 0);
}

TEST_F(SqliteStoreTest, TransactionRollsBackUnlessCommitted) {
  Database* db = store_->database();
  ASSERT_TRUE(db->exec("CREATE TABLE t (x INTEGER)").has_value());
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(tx.has_value());
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (1)").has_value());
  }
  {
    auto tx = Transaction::begin(*db);
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES (2)").has_value());
    ASSERT_TRUE(tx->commit().has_value());
  }
  auto s = db->prepare("SELECT group_concat(x) FROM t");
  ASSERT_TRUE(s->step().value());
  EXPECT_EQ(s->column_text(0), "2");
  auto mode = db->prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode->step().value());
  EXPECT_EQ(mode->column_text(0), "wal");
}

TEST(SealedBox, RoundTripsAndDetectsTamperingWrongKeyAndWrongContext) {
  auto random = Random::seeded(1);
  std::string key = random->bytes(kSealKeyBytes);
  auto sealed = seal(key, "hello", *random, "ctx");
  ASSERT_TRUE(sealed.has_value());
  EXPECT_EQ(*unseal(key, *sealed, "ctx"), "hello");
  EXPECT_FALSE(unseal(key, *sealed, "other").has_value());
  EXPECT_FALSE(unseal(std::string(32, 'x'), *sealed, "ctx").has_value());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string changed = *sealed;
    changed[i] ^= 1;
    EXPECT_FALSE(unseal(key, changed, "ctx").has_value()) << i;
  }
}

TEST(KeyFile, IsCreatedOnceWithMode0600AndReadBack) {
  TempDir dir;
  auto random = Random::seeded(3);
  ::unsetenv("PLINTH_TEST_KEY");
  auto first = load_or_create_key_file(dir.path() / "master.key", *random, "PLINTH_TEST_KEY");
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->size(), kSealKeyBytes);
  struct stat st {};
  ASSERT_EQ(::stat((dir.path() / "master.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto second = load_or_create_key_file(dir.path() / "master.key", *random, "PLINTH_TEST_KEY");
  EXPECT_EQ(*first, *second);
  ::setenv("PLINTH_TEST_KEY", std::string(64, 'a').c_str(), 1);
  auto from_env = load_or_create_key_file(dir.path() / "master.key", *random, "PLINTH_TEST_KEY");
  EXPECT_EQ(*from_env, std::string(32, '\xaa'));
  ::setenv("PLINTH_TEST_KEY", "short", 1);
  EXPECT_FALSE(load_or_create_key_file(dir.path() / "x.key", *random, "PLINTH_TEST_KEY"));
  ::unsetenv("PLINTH_TEST_KEY");
}

TEST(DefaultStore, CreatesDatabaseAndMasterKeyInTheDataDir) {
  TempDir dir;
  ::unsetenv("PLINTH_MASTER_KEY");
  auto store = open_default_store(dir.path() / "data", Random::seeded(4));
  ASSERT_TRUE(store.has_value()) << store.error().message;
  EXPECT_TRUE(fs::exists(dir.path() / "data" / "plinth.db"));
  EXPECT_TRUE(fs::exists(dir.path() / "data" / "master.key"));
}

}  // namespace
}  // namespace plinth::store

namespace plinth::store {
namespace {

TEST(StorageUrl, DefaultsToSqliteInTheDataDir) {
  for (const char* url : {"", "sqlite:"}) {
    auto location = parse_storage_url(url, "/srv/data");
    ASSERT_TRUE(location);
    EXPECT_EQ(location->kind, StorageLocation::Kind::kSqlite);
    EXPECT_EQ(location->sqlite_file, "/srv/data/plinth.db");
  }
  auto file = parse_storage_url("sqlite:/var/lib/p.db", "/srv/data");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->sqlite_file, "/var/lib/p.db");
}

TEST(StorageUrl, PostgresUrlsPassThroughAndOthersAreRefused) {
  auto pg = parse_storage_url("postgresql://app@db:5432/plinth?sslmode=verify-full", "/d");
  ASSERT_TRUE(pg);
  EXPECT_EQ(pg->kind, StorageLocation::Kind::kPostgres);
  EXPECT_EQ(pg->postgres_url, "postgresql://app@db:5432/plinth?sslmode=verify-full");
  EXPECT_TRUE(parse_storage_url("postgres://db/plinth", "/d"));
  auto bad = parse_storage_url("mysql://db/plinth", "/d");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth::store
