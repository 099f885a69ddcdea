// Budget spend and reservations as rows in PostgreSQL, shared by every replica: one
// budget_usage row per (budget, key, period) with spent and reserved, one budget_holds row per
// reservation and budget with this replica's lease.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::pg {
class Connection;
class Pool;
}  // namespace plinth::pg

namespace plinth::ledger {

class PgBudgetRows {
 public:
  // One budget_usage row a reservation holds money in.
  struct Hold {
    std::string budget_id;
    std::string key;
    int64_t period_start_ms = 0;
    std::optional<int64_t> limit;       // hard limit; none: never refuses
    std::optional<int64_t> soft_limit;  // settle reports the first crossing
  };
  struct Usage {
    int64_t spent = 0;
    int64_t reserved = 0;
  };
  // The hold (index into the request) whose hard limit refused the reservation, and its row.
  struct Refusal {
    size_t hold = 0;
    Usage usage;
  };
  struct Row {
    std::string key;
    Usage usage;
  };

  // Per budget: rows of periods that start before period_start_ms may be pruned.
  struct PruneBefore {
    std::string budget_id;
    int64_t period_start_ms = 0;
  };
  // Asked on every heartbeat (on the heartbeat's thread) for what may be pruned now.
  using PruneCutoffs = std::function<std::vector<PruneBefore>()>;
  // Told of the soft limits a booking crossed first: the holds it booked and, per crossing, the
  // hold's index and its row. Called by settle() on the caller's thread, or on the heartbeat's
  // thread when the heartbeat booked the settlement late.
  using Crossings = std::function<void(const std::vector<Hold>& holds,
                                       const std::vector<std::pair<size_t, Usage>>& crossed)>;

  // Migrates the tables and starts the heartbeat (extends this replica's leases, releases the
  // expired leases of any replica, prunes old empty rows) every lease / 3.
  static Result<std::unique_ptr<PgBudgetRows>> open(std::shared_ptr<pg::Pool> pool,
                                                    std::chrono::milliseconds lease,
                                                    PruneCutoffs prune_cutoffs = {},
                                                    Crossings on_crossed = {});
  ~PgBudgetRows();  // stops the heartbeat; reservations still held expire with their lease

  // Holds `estimate` in every row, all or nothing: the reservation's id, or the refusal.
  Result<std::variant<int64_t, Refusal>> reserve(std::vector<Hold> holds, int64_t estimate);
  // Releases reservation `id` (unless its lease already expired) and books `actual` in the rows
  // `holds` name: their period_start_ms is the period the call ends in. Soft limits it crosses
  // go to on_crossed. On failure the heartbeat tries again (the lease is kept meanwhile), so the
  // cost is booked once the database answers. A reservation is booked once: settling it again (a
  // retry whose first try committed but lost its reply) books nothing.
  Status settle(int64_t id, const std::vector<Hold>& holds, std::optional<int64_t> actual);
  // Adds a row from the ledger's spend unless the row exists (another replica keeps it current).
  Status seed(const Hold& hold, int64_t spent);
  // The rows of one budget period: those with money spent or held, and `always_key`'s.
  Result<std::vector<Row>> rows(const std::string& budget_id, int64_t period_start_ms,
                                const std::string& always_key) const;
  // Releases every expired lease now (the heartbeat does this too); the number released.
  Result<int64_t> release_expired();
  // Deletes the rows of periods before each cutoff that hold nothing (reserved 0, no hold names
  // them); the ledger keeps the record of what they spent. At most 1000 rows per budget a call;
  // the number deleted.
  Result<int64_t> prune(const std::vector<PruneBefore>& cutoffs);
  const std::string& replica() const { return replica_; }

 private:
  PgBudgetRows(std::shared_ptr<pg::Pool> pool, std::chrono::milliseconds lease, std::string replica,
               PruneCutoffs prune_cutoffs, Crossings on_crossed);
  struct PendingSettle {
    int64_t id = 0;
    std::vector<Hold> holds;
    std::optional<int64_t> actual;
  };
  void heartbeat_loop();
  Status extend_leases();
  // Drops the settled marks older than any retry can be (a week).
  Status forget_settled();
  void retry_pending();
  // Hands crossings (if any) to on_crossed_.
  void announce(const std::vector<Hold>& holds,
                const std::vector<std::pair<size_t, Usage>>& crossed) const;
  Result<std::vector<std::pair<size_t, Usage>>> settle_once(int64_t id,
                                                            const std::vector<Hold>& holds,
                                                            std::optional<int64_t> actual);
  // Moves the holds of `hold`'s budget and key from earlier periods into its (new) period row.
  Status carry_holds(pg::Connection& c, const Hold& hold);

  std::shared_ptr<pg::Pool> pool_;
  std::chrono::milliseconds lease_;
  std::string replica_;         // random per process start: a restarted replica renews nothing old
  PruneCutoffs prune_cutoffs_;  // called on the heartbeat's thread only
  Crossings on_crossed_;
  std::mutex mutex_;
  std::condition_variable stop_changed_;
  bool stopping_ = false;  // guarded by mutex_
  // Reservations of this replica not yet settled: only their leases are renewed.
  std::set<int64_t> live_;             // guarded by mutex_
  std::deque<PendingSettle> pending_;  // guarded by mutex_: settlements that failed
  std::thread heartbeat_;              // runs heartbeat_loop()
};

}  // namespace plinth::ledger
