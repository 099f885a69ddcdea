// The PostgreSQL Store: the replica's connection pool, IAM on it, and a per-replica SQLite file
// for the domains that are not on PostgreSQL yet.
#include <memory>

#include "pg_iam_store.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"

namespace plinth::store {
namespace {

class PgStore final : public Store {
 public:
  PgStore(std::shared_ptr<pg::Pool> pool, std::unique_ptr<Database> local, std::string master_key,
          std::shared_ptr<Random> random)
      : pool_(std::move(pool)),
        local_(std::move(local)),
        iam_(pool_, std::move(master_key), std::move(random)) {}
  IamStore& iam() override { return iam_; }
  Database* database() override { return local_.get(); }
  std::shared_ptr<pg::Pool> pg_pool() override { return pool_; }

 private:
  std::shared_ptr<pg::Pool> pool_;
  std::unique_ptr<Database> local_;
  PgIamStore iam_;
};

}  // namespace

Result<std::unique_ptr<Store>> open_postgres_store(const PostgresStoreOptions& options) {
  if (options.master_key.size() != kSealKeyBytes) {
    return fail(ErrorCode::kInvalidArgument, "the master key must be 32 bytes");
  }
  auto pool = pg::Pool::open(options.pool);
  if (!pool) return std::unexpected(pool.error());
  {
    auto lease = (*pool)->acquire();
    if (!lease) return std::unexpected(lease.error());
    if (auto status = PgIamStore::migrate(**lease); !status) {
      return std::unexpected(status.error());
    }
  }
  std::unique_ptr<Database> local;
  if (!options.local_sqlite_file.empty()) {
    auto db = Database::open(options.local_sqlite_file);
    if (!db) return std::unexpected(db.error());
    local = std::move(*db);
  }
  auto random = options.random ? options.random : Random::secure();
  return std::make_unique<PgStore>(std::move(*pool), std::move(local), options.master_key,
                                   std::move(random));
}

}  // namespace plinth::store
