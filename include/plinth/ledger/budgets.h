// Spending budgets: per account, principal or application tag, per UTC day or month, with
// reservations taken before a model call and settled with its actual cost.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/result.h"
#include "plinth/ledger/ledger.h"

namespace plinth::pg {
class Pool;
}

namespace plinth::ledger {

class PgBudgetRows;

enum class BudgetScope { kAccount, kPrincipal, kTag };
enum class BudgetPeriod { kDay, kMonth };

struct BudgetSpec {
  std::string id;
  BudgetScope scope = BudgetScope::kAccount;
  // "*": every account / principal / non-empty application tag separately; for scope tag a fixed
  // match is an application tag or a profile tag written "key=value".
  std::string match = "*";
  BudgetPeriod period = BudgetPeriod::kDay;
  std::optional<int64_t> limit_micro_usd;       // hard
  std::optional<int64_t> soft_limit_micro_usd;  // warning only

  // From a validated [[budgets]] entry.
  static BudgetSpec from_config(const BudgetConfig& config);
};

// Who a call is charged to.
struct BudgetSubject {
  std::string account_id{};
  std::string principal_arn{};
  std::string application_tag{};  // empty: no tag budget applies
  // The tags of the application inference profile the call goes through: a tag budget with a
  // fixed match "key=value" also counts a call whose profile has that tag.
  Labels profile_tags{};
};

// One budget key's state in the current period.
struct BudgetState {
  std::string id;
  BudgetScope scope = BudgetScope::kAccount;
  std::string match;
  std::string key;  // the account / principal / tag this row counts
  BudgetPeriod period = BudgetPeriod::kDay;
  int64_t period_start_ms = 0;
  std::optional<int64_t> limit_micro_usd;
  std::optional<int64_t> soft_limit_micro_usd;
  int64_t spent_micro_usd = 0;
  int64_t reserved_micro_usd = 0;

  // spent over the hard limit (else the soft limit); 0 when the limit is 0 and nothing is spent.
  double used_fraction() const;
  bool exhausted() const { return limit_micro_usd && spent_micro_usd >= *limit_micro_usd; }
  bool soft_exceeded() const {
    return soft_limit_micro_usd && spent_micro_usd >= *soft_limit_micro_usd;
  }
  std::string_view status() const;  // "ok" | "soft_exceeded" | "exhausted"
};

// The start (Unix ms) of the UTC day or month that contains time_ms.
int64_t period_start_ms(BudgetPeriod period, int64_t time_ms);

class Budgets;

// Money held against every matching budget until the call ends. settle() books the actual
// cost; destroying an unsettled reservation releases it without spending anything.
class BudgetReservation {
 public:
  BudgetReservation() = default;
  BudgetReservation(BudgetReservation&& other) noexcept;
  BudgetReservation& operator=(BudgetReservation&& other) noexcept;
  ~BudgetReservation();

  void settle(int64_t actual_micro_usd);
  int64_t estimate_micro_usd() const { return estimate_; }

 private:
  friend class Budgets;
  struct Hold {
    size_t budget = 0;
    std::string key;
    int64_t period_start_ms = 0;  // the period the estimate is held (and the cost booked) in
  };
  Budgets* budgets_ = nullptr;
  std::vector<Hold> holds_;
  int64_t estimate_ = 0;
  int64_t shared_id_ = 0;  // the reservation's rows in PostgreSQL; 0 for the in-memory book
};

// How replicas sharing one PostgreSQL database share budgets.
struct SharedBudgetOptions {
  // A replica's reservations are released this long after its last heartbeat (it died); the
  // heartbeat runs every lease / 3.
  std::chrono::milliseconds lease{30'000};
};

// Thread-safe. In memory (one process): one mutex guards every budget, so a reservation against
// several budgets is all-or-nothing. Shared (share_through): the spend and reservations are rows
// in PostgreSQL, taken with one conditional UPDATE per budget in one transaction, so replicas
// together never spend past a hard limit.
class Budgets {
 public:
  Budgets(std::vector<BudgetSpec> specs, const Clock& clock);
  ~Budgets();  // after every reservation taken from it

  // Keeps spend and reservations in PostgreSQL from now on (call before restore and before any
  // reservation): migrates the tables and starts this replica's lease heartbeat.
  Status share_through(std::shared_ptr<pg::Pool> pool, SharedBudgetOptions options = {});
  bool shared() const { return shared_ != nullptr; }

  // Seeds each budget's current-period spend from the ledger (call once at start).
  Status restore(Ledger& ledger);
  // Reserves estimate against every budget matching subject; kThrottled naming the budget and
  // its limit when a hard limit would be exceeded (or is already reached).
  Result<BudgetReservation> reserve(const BudgetSubject& subject, int64_t estimate_micro_usd);

  // Every key seen in the current period (fixed-match budgets always appear), by id then key.
  std::vector<BudgetState> snapshot() const;
  // Called (outside the lock) the first time a key's spend reaches its soft limit in a period.
  void on_soft_limit(std::function<void(const BudgetState&)> listener);
  bool empty() const { return specs_.empty(); }

 private:
  friend class BudgetReservation;
  struct Entry {
    int64_t period_start_ms = 0;
    int64_t spent = 0;
    int64_t reserved = 0;
    bool soft_fired = false;
  };
  struct Book;  // per budget: its entries by key

  int64_t now_ms() const;
  void release(const BudgetReservation& reservation, std::optional<int64_t> actual);
  void release_shared(const BudgetReservation& reservation, std::optional<int64_t> actual);
  Result<BudgetReservation> reserve_shared(const BudgetSubject& subject, int64_t estimate);
  std::vector<BudgetState> snapshot_shared() const;
  Status restore_shared(const std::vector<SpendRow>& rows);
  void announce(const std::vector<BudgetState>& crossed);
  BudgetState state_of(size_t budget, const std::string& key, const Entry& entry) const;

  std::vector<BudgetSpec> specs_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Book>> books_;               // guarded by mutex_; one per spec
  std::function<void(const BudgetState&)> soft_listener_;  // guarded by mutex_
  std::unique_ptr<PgBudgetRows> shared_;                   // set once, before use
};

// {"budgets":[{"id","scope","match","key","period","period_start","limit_usd","soft_limit_usd",
//  "spent_usd","reserved_usd","used_fraction","status"}]} — the GET /v1/budgets body.
std::string budgets_json(const std::vector<BudgetState>& states);

}  // namespace plinth::ledger
