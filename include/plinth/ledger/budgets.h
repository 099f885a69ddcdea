// Spending budgets: per account, principal or application tag, per UTC day or month, with
// reservations taken before a model call and settled with its actual cost.
#pragma once

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

namespace plinth::ledger {

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
  std::string account_id;
  std::string principal_arn;
  std::string application_tag;  // empty: no tag budget applies
  // The tags of the application inference profile the call goes through: a tag budget with a
  // fixed match "key=value" also counts a call whose profile has that tag.
  Labels profile_tags;
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
  };
  Budgets* budgets_ = nullptr;
  std::vector<Hold> holds_;
  int64_t estimate_ = 0;
};

// Thread-safe. One mutex guards every budget, so a reservation against several budgets is
// all-or-nothing.
class Budgets {
 public:
  Budgets(std::vector<BudgetSpec> specs, const Clock& clock);
  ~Budgets();  // after every reservation taken from it

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
  void release(const std::vector<BudgetReservation::Hold>& holds, int64_t estimate,
               std::optional<int64_t> actual);
  BudgetState state_of(size_t budget, const std::string& key, const Entry& entry) const;

  std::vector<BudgetSpec> specs_;
  const Clock& clock_;
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<Book>> books_;               // guarded by mutex_; one per spec
  std::function<void(const BudgetState&)> soft_listener_;  // guarded by mutex_
};

// {"budgets":[{"id","scope","match","key","period","period_start","limit_usd","soft_limit_usd",
//  "spent_usd","reserved_usd","used_fraction","status"}]} — the GET /v1/budgets body.
std::string budgets_json(const std::vector<BudgetState>& states);

}  // namespace plinth::ledger
