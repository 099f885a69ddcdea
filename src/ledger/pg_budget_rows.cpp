// Budget rows in PostgreSQL: conditional UPDATEs against the hard limit, leases per replica.
#include "pg_budget_rows.h"

#include <algorithm>
#include <deque>
#include <map>
#include <numeric>
#include <tuple>

#include "plinth/core/ids.h"
#include "plinth/core/log.h"
#include "plinth/core/random.h"
#include "plinth/pg/migrations.h"
#include "plinth/pg/pool.h"

namespace plinth::ledger {
namespace {

const std::vector<pg::Migration> kMigrations = {
    {1, R"(
CREATE TABLE budget_usage (
  budget_id TEXT NOT NULL,
  key TEXT NOT NULL,
  period_start_ms BIGINT NOT NULL,
  spent BIGINT NOT NULL DEFAULT 0,
  reserved BIGINT NOT NULL DEFAULT 0,
  soft_fired BOOLEAN NOT NULL DEFAULT false,
  PRIMARY KEY (budget_id, key, period_start_ms)
);
CREATE SEQUENCE budget_reservation_ids;
CREATE TABLE budget_holds (
  reservation_id BIGINT NOT NULL,
  budget_id TEXT NOT NULL,
  key TEXT NOT NULL,
  period_start_ms BIGINT NOT NULL,
  amount BIGINT NOT NULL,
  replica TEXT NOT NULL,
  lease_expires_ms BIGINT NOT NULL,
  PRIMARY KEY (reservation_id, budget_id)
);
CREATE INDEX budget_holds_replica ON budget_holds(replica);
CREATE INDEX budget_holds_expiry ON budget_holds(lease_expires_ms);
)"},
    // Settled reservations: the retry of a settlement that committed but lost its reply finds its
    // mark and books nothing.
    {2, R"(
CREATE TABLE budget_settled (
  reservation_id BIGINT PRIMARY KEY,
  settled_ms BIGINT NOT NULL
);
CREATE INDEX budget_settled_time ON budget_settled(settled_ms);
)"},
};

// Leases run on the database's clock, so replicas with skewed clocks agree on expiry.
constexpr std::string_view kDbNowMs = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";
constexpr int kAttempts = 8;  // deadlocks and serialization failures are retried this often
constexpr int64_t kRowsShownAtMost = 10'000;
constexpr size_t kPendingAtMost = 10'000;  // settlements kept for another try
// How long a settled reservation is remembered: longer than any retry of its settlement waits.
constexpr int64_t kSettledKeptMs = 7LL * 24 * 3600 * 1000;

// Holds touch their rows in one order (budget, key, period), so transactions never deadlock
// on each other's rows; the index order of `holds` is kept for the caller.
std::vector<size_t> lock_order(const std::vector<PgBudgetRows::Hold>& holds) {
  std::vector<size_t> order(holds.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return std::tie(holds[a].budget_id, holds[a].key, holds[a].period_start_ms) <
           std::tie(holds[b].budget_id, holds[b].key, holds[b].period_start_ms);
  });
  return order;
}

// Runs `attempt` (one transaction) again on deadlocks and serialization failures.
template <typename F>
auto with_retries(F&& attempt) -> decltype(attempt()) {
  auto result = attempt();
  for (int i = 1; i < kAttempts && !result && pg::is_retryable(result.error()); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500 << i));
    result = attempt();
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<PgBudgetRows>> PgBudgetRows::open(std::shared_ptr<pg::Pool> pool,
                                                         std::chrono::milliseconds lease,
                                                         PruneCutoffs prune_cutoffs,
                                                         Crossings on_crossed) {
  {
    auto conn = pool->acquire();
    if (!conn) return std::unexpected(conn.error());
    if (auto migrated = pg::migrate(**conn, "budgets", kMigrations); !migrated) {
      return std::unexpected(migrated.error());
    }
  }
  auto random = Random::secure();
  return std::unique_ptr<PgBudgetRows>(new PgBudgetRows(std::move(pool), lease,
                                                        new_uuid(*random),  // private constructor
                                                        std::move(prune_cutoffs),
                                                        std::move(on_crossed)));
}

PgBudgetRows::PgBudgetRows(std::shared_ptr<pg::Pool> pool, std::chrono::milliseconds lease,
                           std::string replica, PruneCutoffs prune_cutoffs, Crossings on_crossed)
    : pool_(std::move(pool)),
      lease_(lease),
      replica_(std::move(replica)),
      prune_cutoffs_(std::move(prune_cutoffs)),
      on_crossed_(std::move(on_crossed)) {
  heartbeat_ = std::thread([this] { heartbeat_loop(); });
}

PgBudgetRows::~PgBudgetRows() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_changed_.notify_all();
  heartbeat_.join();
}

void PgBudgetRows::heartbeat_loop() {
  auto every = std::max(lease_ / 3, std::chrono::milliseconds(10));
  std::unique_lock lock(mutex_);
  while (!stop_changed_.wait_for(lock, every, [this] { return stopping_; })) {
    lock.unlock();
    retry_pending();
    if (auto extended = extend_leases(); !extended) {
      log::warn("budgets: cannot extend this replica's reservation leases: {}",
                extended.error().message);
    }
    if (auto released = release_expired(); !released) {
      log::warn("budgets: cannot release expired reservations: {}", released.error().message);
    } else if (*released > 0) {
      log::info("budgets: released {} reservation hold(s) of a replica that stopped", *released);
    }
    if (prune_cutoffs_) {
      if (auto pruned = prune(prune_cutoffs_()); !pruned) {
        log::warn("budgets: cannot prune old budget rows: {}", pruned.error().message);
      }
    }
    if (auto forgotten = forget_settled(); !forgotten) {
      log::warn("budgets: cannot prune settled reservations: {}", forgotten.error().message);
    }
    lock.lock();
  }
}

Status PgBudgetRows::extend_leases() {
  // Only reservations still in flight (or waiting to be settled again): a hold this replica
  // lost track of expires like a dead replica's.
  std::string ids;
  {
    std::lock_guard lock(mutex_);
    for (int64_t id : live_) ids += (ids.empty() ? "" : ",") + std::to_string(id);
  }
  if (ids.empty()) return ok();
  auto conn = pool_->acquire();
  if (!conn) return std::unexpected(conn.error());
  auto done =
      (*conn)->exec_prepared("budget_extend_leases",
                             "UPDATE budget_holds SET lease_expires_ms = " + std::string(kDbNowMs) +
                                 " + $2 WHERE replica = $1 AND reservation_id = ANY($3::bigint[])",
                             {replica_, static_cast<int64_t>(lease_.count()), "{" + ids + "}"});
  if (!done) return std::unexpected(done.error());
  return ok();
}

Result<std::variant<int64_t, PgBudgetRows::Refusal>> PgBudgetRows::reserve(std::vector<Hold> holds,
                                                                           int64_t estimate) {
  using Outcome = std::variant<int64_t, Refusal>;
  std::vector<size_t> order = lock_order(holds);
  auto outcome = with_retries([&]() -> Result<Outcome> {
    auto conn = pool_->acquire();
    if (!conn) return std::unexpected(conn.error());
    pg::Connection& c = **conn;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return std::unexpected(tx.error());
    auto id = c.exec_prepared("budget_next_id", "SELECT nextval('budget_reservation_ids')");
    if (!id) return std::unexpected(id.error());
    int64_t reservation = id->int64(0, 0);
    for (size_t i : order) {
      const Hold& hold = holds[i];
      pg::Params key = {hold.budget_id, hold.key, hold.period_start_ms};
      auto made = c.exec_prepared(
          "budget_row",
          "INSERT INTO budget_usage (budget_id, key, period_start_ms) VALUES ($1, $2, $3)"
          " ON CONFLICT DO NOTHING",
          key);
      if (!made) return std::unexpected(made.error());
      if (made->affected() == 1) {
        // A new period: calls still running from an earlier one keep holding their money here,
        // as in memory, so that their cost (booked when they end) fits under this period's limit.
        auto carried = carry_holds(c, hold);
        if (!carried) return std::unexpected(carried.error());
      }
      // The one statement that decides: it sees the row as the last committed reservation left
      // it (a concurrent one waits for the row lock, then re-checks this WHERE).
      std::optional<std::string> limit;
      if (hold.limit) limit = std::to_string(*hold.limit);
      auto taken = c.exec_prepared(
          "budget_take",
          "UPDATE budget_usage SET reserved = reserved + $4"
          " WHERE budget_id = $1 AND key = $2 AND period_start_ms = $3 AND ($5::bigint IS NULL"
          " OR (spent < $5::bigint AND spent + reserved + $4 <= $5::bigint))"
          " RETURNING spent",
          {hold.budget_id, hold.key, hold.period_start_ms, estimate, limit});
      if (!taken) return std::unexpected(taken.error());
      if (taken->empty()) {
        auto now = c.exec_prepared("budget_read",
                                   "SELECT spent, reserved FROM budget_usage WHERE budget_id = $1"
                                   " AND key = $2 AND period_start_ms = $3",
                                   key);
        if (!now) return std::unexpected(now.error());
        Refusal refusal{i, {}};
        if (!now->empty()) refusal.usage = {now->int64(0, 0), now->int64(0, 1)};
        return Outcome(refusal);  // the transaction rolls back: nothing else stays held
      }
      auto held = c.exec_prepared(
          "budget_hold",
          "INSERT INTO budget_holds (reservation_id, budget_id, key, period_start_ms, amount,"
          " replica, lease_expires_ms) VALUES ($1, $2, $3, $4, $5, $6, " +
              std::string(kDbNowMs) + " + $7)",
          {reservation, hold.budget_id, hold.key, hold.period_start_ms, estimate, replica_,
           static_cast<int64_t>(lease_.count())});
      if (!held) return std::unexpected(held.error());
    }
    if (auto committed = tx->commit(); !committed) return std::unexpected(committed.error());
    return Outcome(reservation);
  });
  if (outcome && std::holds_alternative<int64_t>(*outcome)) {
    std::lock_guard lock(mutex_);
    live_.insert(std::get<int64_t>(*outcome));
  }
  return outcome;
}

Status PgBudgetRows::settle(int64_t id, const std::vector<Hold>& holds,
                            std::optional<int64_t> actual) {
  auto crossed = settle_once(id, holds, actual);
  {
    std::lock_guard lock(mutex_);
    if (crossed) {
      live_.erase(id);
    } else if (pending_.size() < kPendingAtMost) {
      pending_.push_back({id, holds, actual});  // the heartbeat tries again; its lease is renewed
    } else {
      live_.erase(id);  // its holds expire with the lease; the cost stays in the ledger only
    }
  }
  if (!crossed) return std::unexpected(crossed.error());
  announce(holds, *crossed);
  return ok();
}

void PgBudgetRows::announce(const std::vector<Hold>& holds,
                            const std::vector<std::pair<size_t, Usage>>& crossed) const {
  if (!crossed.empty() && on_crossed_) on_crossed_(holds, crossed);
}

void PgBudgetRows::retry_pending() {
  std::deque<PendingSettle> todo;
  {
    std::lock_guard lock(mutex_);
    todo.swap(pending_);
  }
  while (!todo.empty()) {
    PendingSettle& next = todo.front();
    auto done = settle_once(next.id, next.holds, next.actual);
    {
      std::lock_guard lock(mutex_);
      if (!done) {  // still failing: keep this and the rest for the next beat
        for (PendingSettle& left : todo) pending_.push_back(std::move(left));
        return;
      }
      live_.erase(next.id);
    }
    log::info("budgets: settled reservation {} late", next.id);
    announce(next.holds, *done);
    todo.pop_front();
  }
}

Result<std::vector<std::pair<size_t, PgBudgetRows::Usage>>> PgBudgetRows::settle_once(
    int64_t id, const std::vector<Hold>& holds, std::optional<int64_t> actual) {
  using Crossed = std::vector<std::pair<size_t, Usage>>;
  int64_t spend = std::max<int64_t>(actual.value_or(0), 0);
  return with_retries([&]() -> Result<Crossed> {
    auto conn = pool_->acquire();
    if (!conn) return std::unexpected(conn.error());
    pg::Connection& c = **conn;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return std::unexpected(tx.error());
    // Once per reservation: a retry of a settlement that committed (its reply lost) finds the
    // mark and books nothing.
    auto first = c.exec_prepared("budget_settle_once",
                                 "INSERT INTO budget_settled (reservation_id, settled_ms) VALUES"
                                 " ($1, " +
                                     std::string(kDbNowMs) + ") ON CONFLICT DO NOTHING RETURNING 1",
                                 {id});
    if (!first) return std::unexpected(first.error());
    if (first->empty()) return Crossed{};
    // Holds already gone were released by a lease expiry: their rows no longer count them. The
    // rows name the period each hold sits in now (a new period's first call moves them).
    auto gone = c.exec_prepared("budget_unhold",
                                "DELETE FROM budget_holds WHERE reservation_id = $1"
                                " RETURNING budget_id, period_start_ms, amount",
                                {id});
    if (!gone) return std::unexpected(gone.error());
    // (budget, key, period) → (spent added, reserved released, hold index): the cost goes to
    // the period the call ends in, the release to the period its hold sits in.
    struct Change {
      int64_t spent = 0;
      int64_t released = 0;
      size_t hold = 0;
    };
    std::map<std::tuple<std::string, std::string, int64_t>, Change> changes;
    for (size_t i = 0; i < holds.size(); ++i) {
      for (int r = 0; r < gone->size(); ++r) {
        if (gone->text(r, 0) != holds[i].budget_id) continue;
        Change& change = changes[{holds[i].budget_id, holds[i].key, gone->int64(r, 1)}];
        change.released += gone->int64(r, 2);
        change.hold = i;
      }
      if (spend > 0) {
        Change& change = changes[{holds[i].budget_id, holds[i].key, holds[i].period_start_ms}];
        change.spent += spend;
        change.hold = i;
      }
    }
    Crossed crossed;
    for (const auto& [row, change] : changes) {  // in key order: no deadlock between replicas
      const auto& [budget_id, key, period] = row;
      auto booked = c.exec_prepared(
          "budget_book",
          "INSERT INTO budget_usage AS u (budget_id, key, period_start_ms, spent)"
          " VALUES ($1, $2, $3, $4) ON CONFLICT (budget_id, key, period_start_ms) DO UPDATE"
          " SET spent = u.spent + $4, reserved = GREATEST(u.reserved - $5, 0)"
          " RETURNING spent, soft_fired",
          {budget_id, key, period, change.spent, change.released});
      if (!booked) return std::unexpected(booked.error());
      const Hold& hold = holds[change.hold];
      int64_t spent = booked->int64(0, 0);
      if (change.spent == 0 || !hold.soft_limit || booked->boolean(0, 1) ||
          spent < *hold.soft_limit) {
        continue;
      }
      // Only the replica whose update flips soft_fired announces the crossing.
      auto fired = c.exec_prepared(
          "budget_soft_fired",
          "UPDATE budget_usage SET soft_fired = true WHERE budget_id = $1 AND key = $2"
          " AND period_start_ms = $3 AND NOT soft_fired RETURNING spent, reserved",
          {budget_id, key, period});
      if (!fired) return std::unexpected(fired.error());
      if (!fired->empty()) {
        crossed.push_back({change.hold, {fired->int64(0, 0), fired->int64(0, 1)}});
      }
    }
    if (auto committed = tx->commit(); !committed) return std::unexpected(committed.error());
    return crossed;
  });
}

Status PgBudgetRows::carry_holds(pg::Connection& c, const Hold& hold) {
  auto moved = c.exec_prepared(
      "budget_carry",
      "WITH moved AS (UPDATE budget_holds h SET period_start_ms = $3 FROM budget_holds old"
      " WHERE h.reservation_id = old.reservation_id AND h.budget_id = old.budget_id"
      " AND h.budget_id = $1 AND h.key = $2 AND h.period_start_ms < $3"
      " RETURNING old.period_start_ms AS was, h.amount)"
      " SELECT was, SUM(amount) FROM moved GROUP BY was ORDER BY was",
      {hold.budget_id, hold.key, hold.period_start_ms});
  if (!moved) return std::unexpected(moved.error());
  int64_t total = 0;
  for (int r = 0; r < moved->size(); ++r) {
    auto released = c.exec_prepared(
        "budget_release",
        "UPDATE budget_usage SET reserved = GREATEST(reserved - $4, 0) WHERE budget_id = $1"
        " AND key = $2 AND period_start_ms = $3",
        {hold.budget_id, hold.key, moved->int64(r, 0), moved->int64(r, 1)});
    if (!released) return std::unexpected(released.error());
    total += moved->int64(r, 1);
  }
  if (total == 0) return ok();
  auto added = c.exec_prepared("budget_carried",
                               "UPDATE budget_usage SET reserved = reserved + $4 WHERE"
                               " budget_id = $1 AND key = $2 AND period_start_ms = $3",
                               {hold.budget_id, hold.key, hold.period_start_ms, total});
  if (!added) return std::unexpected(added.error());
  return ok();
}

Status PgBudgetRows::seed(const Hold& hold, int64_t spent) {
  auto conn = pool_->acquire();
  if (!conn) return std::unexpected(conn.error());
  auto done = (*conn)->exec_prepared(
      "budget_seed",
      "INSERT INTO budget_usage (budget_id, key, period_start_ms, spent, soft_fired)"
      " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
      {hold.budget_id, hold.key, hold.period_start_ms, spent,
       hold.soft_limit.has_value() && spent >= *hold.soft_limit});
  if (!done) return std::unexpected(done.error());
  return ok();
}

Result<std::vector<PgBudgetRows::Row>> PgBudgetRows::rows(const std::string& budget_id,
                                                          int64_t period_start_ms,
                                                          const std::string& always_key) const {
  auto conn = pool_->acquire();
  if (!conn) return std::unexpected(conn.error());
  auto found = (*conn)->exec_prepared(
      "budget_rows",
      "SELECT key, spent, reserved FROM budget_usage WHERE budget_id = $1"
      " AND period_start_ms = $2 AND (spent <> 0 OR reserved <> 0 OR key = $3)"
      " ORDER BY key COLLATE \"C\" LIMIT $4",
      {budget_id, period_start_ms, always_key, kRowsShownAtMost});
  if (!found) return std::unexpected(found.error());
  std::vector<Row> out;
  for (int i = 0; i < found->size(); ++i) {
    out.push_back({found->text(i, 0), {found->int64(i, 1), found->int64(i, 2)}});
  }
  return out;
}

Result<int64_t> PgBudgetRows::release_expired() {
  return with_retries([&]() -> Result<int64_t> {
    auto conn = pool_->acquire();
    if (!conn) return std::unexpected(conn.error());
    pg::Connection& c = **conn;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return std::unexpected(tx.error());
    // SKIP LOCKED: a hold its replica is settling right now is that replica's to release.
    auto expired = c.exec_prepared(
        "budget_expired",
        "DELETE FROM budget_holds WHERE (reservation_id, budget_id) IN (SELECT reservation_id,"
        " budget_id FROM budget_holds WHERE lease_expires_ms < " +
            std::string(kDbNowMs) +
            " ORDER BY reservation_id LIMIT 1000 FOR UPDATE SKIP LOCKED)"
            " RETURNING budget_id, key, period_start_ms, amount");
    if (!expired) return std::unexpected(expired.error());
    std::vector<Hold> holds;
    std::vector<int64_t> amounts;
    for (int i = 0; i < expired->size(); ++i) {
      holds.push_back({expired->text(i, 0), expired->text(i, 1), expired->int64(i, 2), {}, {}});
      amounts.push_back(expired->int64(i, 3));
    }
    for (size_t i : lock_order(holds)) {
      auto released = c.exec_prepared(
          "budget_release",
          "UPDATE budget_usage SET reserved = GREATEST(reserved - $4, 0) WHERE budget_id = $1"
          " AND key = $2 AND period_start_ms = $3",
          {holds[i].budget_id, holds[i].key, holds[i].period_start_ms, amounts[i]});
      if (!released) return std::unexpected(released.error());
    }
    if (auto committed = tx->commit(); !committed) return std::unexpected(committed.error());
    return static_cast<int64_t>(holds.size());
  });
}

Status PgBudgetRows::forget_settled() {
  auto conn = pool_->acquire();
  if (!conn) return std::unexpected(conn.error());
  auto deleted = (*conn)->exec_prepared(
      "budget_forget_settled",
      "DELETE FROM budget_settled WHERE reservation_id IN (SELECT reservation_id FROM"
      " budget_settled WHERE settled_ms < " +
          std::string(kDbNowMs) + " - $1 LIMIT 1000 FOR UPDATE SKIP LOCKED)",
      {kSettledKeptMs});
  if (!deleted) return std::unexpected(deleted.error());
  return ok();
}

Result<int64_t> PgBudgetRows::prune(const std::vector<PruneBefore>& cutoffs) {
  auto conn = pool_->acquire();
  if (!conn) return std::unexpected(conn.error());
  int64_t pruned = 0;
  for (const PruneBefore& cutoff : cutoffs) {
    // SKIP LOCKED: a row another transaction is booking into is left for a later heartbeat.
    auto deleted = (*conn)->exec_prepared(
        "budget_prune",
        "WITH gone AS (DELETE FROM budget_usage WHERE (budget_id, key, period_start_ms) IN"
        " (SELECT u.budget_id, u.key, u.period_start_ms FROM budget_usage u WHERE"
        " u.budget_id = $1 AND u.period_start_ms < $2 AND u.reserved = 0 AND NOT EXISTS"
        " (SELECT 1 FROM budget_holds h WHERE h.budget_id = u.budget_id AND h.key = u.key AND"
        " h.period_start_ms = u.period_start_ms) LIMIT 1000 FOR UPDATE SKIP LOCKED) RETURNING 1)"
        " SELECT COUNT(*) FROM gone",
        {cutoff.budget_id, cutoff.period_start_ms});
    if (!deleted) return std::unexpected(deleted.error());
    pruned += deleted->int64(0, 0);
  }
  return pruned;
}

}  // namespace plinth::ledger
