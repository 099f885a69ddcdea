// The PostgreSQL Store: the replica's connection pool and IAM on it. Every other domain opens
// its own PostgreSQL tables on the pool, so there is no SQLite database (database() is null).
#include <memory>

#include "pg_iam_store.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"

namespace plinth::store {
namespace {

class PgStore final : public Store {
 public:
  PgStore(std::shared_ptr<pg::Pool> pool, std::string master_key, std::shared_ptr<Random> random)
      : pool_(std::move(pool)), iam_(pool_, std::move(master_key), std::move(random)) {}
  IamStore& iam() override { return iam_; }
  Database* database() override { return nullptr; }
  std::shared_ptr<pg::Pool> pg_pool() override { return pool_; }

 private:
  std::shared_ptr<pg::Pool> pool_;
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
  auto random = options.random ? options.random : Random::secure();
  return std::make_unique<PgStore>(std::move(*pool), options.master_key, std::move(random));
}

}  // namespace plinth::store
