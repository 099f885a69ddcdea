// check_storage (what /health reports) on a real SQLite file and a real PostgreSQL database,
// including a database that went away under a running store.
#include "plinth/store/storage_health.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <optional>
#include <random>

#include "pg/test_database.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"

namespace plinth::store {
namespace {

int version_of(const StorageHealth& health, const std::string& domain) {
  for (const auto& [name, version] : health.migrations) {
    if (name == domain) return version;
  }
  return 0;
}

TEST(StorageHealth, SqliteReportsEveryDomainsSchemaVersion) {
  std::random_device seed;
  auto dir = std::filesystem::temp_directory_path() / ("plinth-health-" + std::to_string(seed()));
  std::filesystem::create_directories(dir);
  auto random = Random::seeded(3);
  {
    auto store = open_sqlite_store({dir / "plinth.db", random->bytes(kSealKeyBytes), random});
    ASSERT_TRUE(store) << store.error().message;
    StorageHealth health = check_storage(**store);
    EXPECT_EQ(health.backend, "sqlite");
    EXPECT_TRUE(health.reachable) << health.error;
    EXPECT_GE(version_of(health, "iam"), 1);
    EXPECT_GE(health.latency_us, 0);
  }
  std::filesystem::remove_all(dir);
}

TEST(StorageHealth, PostgresReportsMigrationsThenADatabaseThatWentAway) {
  std::optional<pg::testing::TestDatabase> db(std::in_place);
  ASSERT_TRUE(db->ok()) << db->error();
  auto random = Random::seeded(3);
  auto store = open_postgres_store(
      {{db->url(), 2, std::chrono::milliseconds(2000)}, random->bytes(kSealKeyBytes), random});
  ASSERT_TRUE(store) << store.error().message;
  StorageHealth health = check_storage(**store);
  EXPECT_EQ(health.backend, "postgresql");
  EXPECT_TRUE(health.reachable) << health.error;
  EXPECT_GE(version_of(health, "iam"), 1);
  db.reset();  // DROP DATABASE … WITH (FORCE): the pool's connections are closed under it
  health = check_storage(**store);
  EXPECT_EQ(health.backend, "postgresql");
  EXPECT_FALSE(health.reachable);
  EXPECT_FALSE(health.error.empty());
  EXPECT_TRUE(health.migrations.empty());
}

}  // namespace
}  // namespace plinth::store
