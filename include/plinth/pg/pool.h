// A bounded pool of libpq connections per process, and the serializable-retry helper.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/pg/connection.h"

namespace plinth::pg {

struct PoolOptions {
  std::string url;
  int size = 8;  // connections at most; opened on demand
  std::chrono::milliseconds acquire_timeout{5000};
};

struct PoolStats {
  int size = 0;     // the bound
  int open = 0;     // connections open now
  int in_use = 0;   // leased now
  int waiting = 0;  // callers waiting for a connection
  uint64_t acquired_total = 0;
  uint64_t timeouts_total = 0;
  uint64_t errors_total = 0;  // failed connects and broken connections dropped
};

class Pool;

// A leased connection; goes back to the pool when destroyed (dropped if it broke).
class Lease {
 public:
  Lease(Lease&& other) noexcept : pool_(other.pool_), conn_(std::move(other.conn_)) {
    other.pool_ = nullptr;
  }
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection& operator*() { return *conn_; }
  Connection* operator->() { return conn_.get(); }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
  Pool* pool_;
  std::unique_ptr<Connection> conn_;
};

class Pool {
 public:
  // Opens one connection at once so that a wrong URL fails at start.
  static Result<std::shared_ptr<Pool>> open(const PoolOptions& options);
  ~Pool();

  // Waits up to acquire_timeout for a free slot: kUnavailable ("pool exhausted") after it.
  Result<Lease> acquire();
  // One statement on a leased connection, outside any transaction: Connection::exec_prepared.
  Result<Rows> exec_prepared(const std::string& name, std::string_view sql,
                             const Params& params = {});
  PoolStats stats() const;
  const PoolOptions& options() const { return options_; }

 private:
  friend class Lease;
  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  void give_back(std::unique_ptr<Connection> conn);

  PoolOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
  int open_ = 0;                                   // guarded by mutex_
  int waiting_ = 0;                                // guarded by mutex_
  uint64_t acquired_total_ = 0;                    // guarded by mutex_
  uint64_t timeouts_total_ = 0;                    // guarded by mutex_
  uint64_t errors_total_ = 0;                      // guarded by mutex_
};

// Runs `work(conn)` in a SERIALIZABLE transaction, retrying the whole transaction on
// serialization failures and deadlocks (up to `attempts`, with a short growing pause).
// `work` returns Result<T>; an error other than a retryable one ends the attempt at once.
template <typename F>
auto serializable(Pool& pool, F&& work, int attempts = 20)
    -> decltype(work(std::declval<Connection&>())) {
  using R = decltype(work(std::declval<Connection&>()));
  Error last(ErrorCode::kConflict, "serialization retries exhausted");
  for (int attempt = 0; attempt < attempts; ++attempt) {
    if (attempt > 0)
      std::this_thread::sleep_for(std::chrono::microseconds(200 << std::min(attempt, 6)));
    auto lease = pool.acquire();
    if (!lease) return R(std::unexpected(lease.error()));
    auto tx = Transaction::begin(**lease, Isolation::kSerializable);
    if (!tx) {
      if (is_retryable(tx.error())) {
        last = tx.error();
        continue;
      }
      return R(std::unexpected(tx.error()));
    }
    R result = work(**lease);
    if (!result) {
      if (is_retryable(result.error())) {
        last = result.error();
        continue;
      }
      return result;
    }
    if (auto done = tx->commit(); !done) {
      if (is_retryable(done.error())) {
        last = done.error();
        continue;
      }
      return R(std::unexpected(done.error()));
    }
    return result;
  }
  return R(std::unexpected(last));
}

}  // namespace plinth::pg
