// The bounded connection pool: connections opened on demand up to the bound, leased with a
// timeout, dropped when they broke.
#include "plinth/pg/pool.h"

#include <libpq-fe.h>

namespace plinth::pg {

Lease::~Lease() {
  if (pool_ == nullptr || !conn_) return;
  // A transaction left open (a caller returned early) must not leak into the next lease.
  if (PQtransactionStatus(conn_->raw()) != PQTRANS_IDLE) (void)conn_->exec_script("ROLLBACK");
  pool_->give_back(std::move(conn_));
}

Result<std::shared_ptr<Pool>> Pool::open(const PoolOptions& options) {
  if (options.size < 1) return fail(ErrorCode::kInvalidArgument, "pool size must be at least 1");
  auto first = Connection::open(options.url);
  if (!first) return std::unexpected(first.error());
  std::shared_ptr<Pool> pool(new Pool(options));
  pool->idle_.push_back(std::move(*first));
  pool->open_ = 1;
  return pool;
}

Pool::~Pool() = default;

Result<Rows> Pool::exec_prepared(const std::string& name, std::string_view sql,
                                 const Params& params) {
  auto conn = acquire();
  if (!conn) return std::unexpected(conn.error());
  return (*conn)->exec_prepared(name, sql, params);
}

Result<Lease> Pool::acquire() {
  std::unique_lock lock(mutex_);
  auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
  ++waiting_;
  while (idle_.empty() && open_ >= options_.size) {
    if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.size) {
      --waiting_;
      ++timeouts_total_;
      return fail(ErrorCode::kUnavailable,
                  "pg pool exhausted: " + std::to_string(options_.size) + " connections busy for " +
                      std::to_string(options_.acquire_timeout.count()) + " ms");
    }
  }
  --waiting_;
  ++acquired_total_;
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    lock.unlock();
    if (!conn->healthy() && !conn->reset()) {
      std::lock_guard again(mutex_);
      --open_;
      ++errors_total_;
      available_.notify_one();
      return fail(ErrorCode::kUnavailable, "pg connection lost and reconnect failed");
    }
    return Lease(this, std::move(conn));
  }
  ++open_;  // reserve the slot, connect outside the lock
  lock.unlock();
  auto conn = Connection::open(options_.url);
  if (!conn) {
    std::lock_guard again(mutex_);
    --open_;
    ++errors_total_;
    available_.notify_one();
    return std::unexpected(conn.error());
  }
  return Lease(this, std::move(*conn));
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  std::lock_guard lock(mutex_);
  if (conn->healthy()) {
    idle_.push_back(std::move(conn));
  } else {
    --open_;
    ++errors_total_;
  }
  available_.notify_one();
}

PoolStats Pool::stats() const {
  std::lock_guard lock(mutex_);
  PoolStats s;
  s.size = options_.size;
  s.open = open_;
  s.in_use = open_ - static_cast<int>(idle_.size());
  s.waiting = waiting_;
  s.acquired_total = acquired_total_;
  s.timeouts_total = timeouts_total_;
  s.errors_total = errors_total_;
  return s;
}

}  // namespace plinth::pg
