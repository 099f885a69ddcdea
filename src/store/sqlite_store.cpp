// The SQLite Store: opens the database, applies the IAM migrations, owns the IamStore.
#include <memory>

#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"
#include "sqlite_iam_store.h"

namespace plinth::store {
namespace {

class SqliteStore final : public Store {
 public:
  SqliteStore(std::unique_ptr<Database> db, std::string master_key, std::shared_ptr<Random> random)
      : db_(std::move(db)), iam_(*db_, std::move(master_key), std::move(random)) {}
  IamStore& iam() override { return iam_; }
  Database* database() override { return db_.get(); }

 private:
  std::unique_ptr<Database> db_;
  SqliteIamStore iam_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteStoreOptions& options) {
  if (options.master_key.size() != kSealKeyBytes) {
    return fail(ErrorCode::kInvalidArgument, "the master key must be 32 bytes");
  }
  auto db = Database::open(options.file);
  if (!db) return std::unexpected(db.error());
  if (auto status = SqliteIamStore::migrate(**db); !status) return std::unexpected(status.error());
  auto random = options.random ? options.random : Random::secure();
  return std::make_unique<SqliteStore>(std::move(*db), options.master_key, std::move(random));
}

Result<std::unique_ptr<Store>> open_default_store(const std::filesystem::path& data_dir,
                                                  std::shared_ptr<Random> random) {
  if (!random) random = Random::secure();
  auto key = load_or_create_key_file(data_dir / "master.key", *random, "PLINTH_MASTER_KEY");
  if (!key) return std::unexpected(key.error());
  return open_sqlite_store(SqliteStoreOptions{data_dir / "plinth.db", *key, random});
}

Result<std::unique_ptr<Store>> open_store(const StorageLocation& location,
                                          const std::filesystem::path& data_dir,
                                          std::shared_ptr<Random> random,
                                          const pg::PoolOptions& pool) {
  if (!random) random = Random::secure();
  auto key = load_or_create_key_file(data_dir / "master.key", *random, "PLINTH_MASTER_KEY");
  if (!key) return std::unexpected(key.error());
  if (location.kind == StorageLocation::Kind::kSqlite) {
    return open_sqlite_store(SqliteStoreOptions{location.sqlite_file, *key, random});
  }
  pg::PoolOptions pool_options = pool;
  pool_options.url = location.postgres_url;
  return open_postgres_store(PostgresStoreOptions{pool_options, *key, random});
}

}  // namespace plinth::store
