// Budgets shared by replicas: reserve, settle, snapshot and restore on rows in PostgreSQL.
#include <fmt/format.h>

#include <map>
#include <utility>

#include "budget_rules.h"
#include "pg_budget_rows.h"
#include "plinth/core/log.h"
#include "plinth/ledger/budgets.h"
#include "utf8_repair.h"

namespace plinth::ledger {
namespace {

// PostgreSQL TEXT refuses invalid UTF-8 (a tag stored before tags were validated at the edge):
// such a key is counted under its repaired spelling, as GET /v1/budgets shows it anyway.
PgBudgetRows::Hold row_of(const BudgetSpec& spec, const std::string& key, int64_t period_start) {
  return {spec.id, repaired_utf8(key), period_start, spec.limit_micro_usd,
          spec.soft_limit_micro_usd};
}

BudgetState state_from(const BudgetSpec& spec, std::string key, int64_t period_start,
                       PgBudgetRows::Usage usage) {
  return BudgetState{spec.id,     spec.scope,    spec.match,           std::move(key),
                     spec.period, period_start,  spec.limit_micro_usd, spec.soft_limit_micro_usd,
                     usage.spent, usage.reserved};
}

}  // namespace

Status Budgets::share_through(std::shared_ptr<pg::Pool> pool, SharedBudgetOptions options) {
  // Kept: the current period and the one before it (a call that started there settles into the
  // current one, and GET /v1/budgets may still be asked about it); older empty rows go.
  auto cutoffs = [this] {
    int64_t now = now_ms();
    std::vector<PgBudgetRows::PruneBefore> out;
    for (const BudgetSpec& spec : specs_) {
      int64_t previous = period_start_ms(spec.period, period_start_ms(spec.period, now) - 1);
      out.push_back({spec.id, previous});
    }
    return out;
  };
  // Soft limits a settlement crossed, whether booked at once or late by the heartbeat.
  auto crossed = [this](const std::vector<PgBudgetRows::Hold>& holds,
                        const std::vector<std::pair<size_t, PgBudgetRows::Usage>>& crossings) {
    std::vector<BudgetState> states;
    for (const auto& [index, usage] : crossings) {
      const PgBudgetRows::Hold& hold = holds[index];
      for (const BudgetSpec& spec : specs_) {
        if (spec.id == hold.budget_id)
          states.push_back(state_from(spec, hold.key, hold.period_start_ms, usage));
      }
    }
    announce(states);
  };
  auto rows = PgBudgetRows::open(std::move(pool), options.lease, cutoffs, crossed);
  if (!rows) return std::unexpected(rows.error());
  shared_ = std::move(*rows);
  return ok();
}

Result<BudgetReservation> Budgets::reserve_shared(const BudgetSubject& subject, int64_t estimate) {
  BudgetReservation reservation;
  std::vector<PgBudgetRows::Hold> rows;
  int64_t now = now_ms();
  for (size_t b = 0; b < specs_.size(); ++b) {
    auto key = budget_key(specs_[b], subject);
    if (!key) continue;
    int64_t start = period_start_ms(specs_[b].period, now);
    rows.push_back(row_of(specs_[b], *key, start));
    reservation.holds_.push_back({b, std::move(*key), start});
  }
  if (rows.empty()) return reservation;  // no budget applies: nothing to hold or book
  // A database that cannot be reached refuses the call (kUnavailable): a hard limit that cannot
  // be checked is not assumed to have room.
  auto outcome = shared_->reserve(std::move(rows), estimate);
  if (!outcome) return std::unexpected(outcome.error());
  if (const auto* refused = std::get_if<PgBudgetRows::Refusal>(&*outcome)) {
    const BudgetReservation::Hold& hold = reservation.holds_[refused->hold];
    return std::unexpected(refusal(specs_[hold.budget], hold.key, refused->usage.spent,
                                   refused->usage.reserved, estimate));
  }
  reservation.shared_id_ = std::get<int64_t>(*outcome);
  reservation.budgets_ = this;
  reservation.estimate_ = estimate;
  return reservation;
}

void Budgets::release_shared(const BudgetReservation& reservation, std::optional<int64_t> actual) {
  // The cost is booked in the period the call ends in, as in memory.
  int64_t now = now_ms();
  std::vector<PgBudgetRows::Hold> rows;
  for (const auto& hold : reservation.holds_) {
    const BudgetSpec& spec = specs_[hold.budget];
    rows.push_back(row_of(spec, hold.key, period_start_ms(spec.period, now)));
  }
  if (auto settled = shared_->settle(reservation.shared_id_, rows, actual); !settled) {
    // The heartbeat settles it again until the database answers (the hold is kept meanwhile).
    log::error("budgets: cannot settle reservation {} ({} micro-USD): {}", reservation.shared_id_,
               actual.value_or(0), settled.error().message);
  }
}

std::vector<BudgetState> Budgets::snapshot_shared() const {
  std::vector<BudgetState> states;
  int64_t now = now_ms();
  for (const BudgetSpec& spec : specs_) {
    int64_t start = period_start_ms(spec.period, now);
    const std::string fixed = spec.match == "*" ? "" : spec.match;
    auto rows = shared_->rows(spec.id, start, fixed);
    if (!rows) {
      log::warn("budgets: cannot read budget {}: {}", spec.id, rows.error().message);
      continue;
    }
    bool fixed_seen = fixed.empty();
    for (PgBudgetRows::Row& row : *rows) {
      fixed_seen |= row.key == fixed;
      states.push_back(state_from(spec, std::move(row.key), start, row.usage));
    }
    // A fixed-match budget always appears, as in memory, even before its first call.
    if (!fixed_seen) states.push_back(state_from(spec, fixed, start, {}));
  }
  return states;
}

Status Budgets::restore_shared(const std::vector<SpendRow>& rows) {
  int64_t now = now_ms();
  std::map<std::pair<size_t, std::string>, int64_t> spent;  // (budget, key) → this period
  for (size_t b = 0; b < specs_.size(); ++b) {
    const BudgetSpec& spec = specs_[b];
    int64_t start = period_start_ms(spec.period, now);
    for (const SpendRow& row : rows) {
      if (row.day_start_ms < start) continue;
      auto key = budget_key(spec, BudgetSubject{row.account_id, row.principal_arn,
                                                row.application_tag, row.profile_tags});
      if (key) spent[{b, std::move(*key)}] += row.cost_micro_usd;
    }
  }
  // Rows that exist are current (every replica books into them): only missing ones are seeded.
  for (const auto& [budget_and_key, amount] : spent) {
    const BudgetSpec& spec = specs_[budget_and_key.first];
    auto seeded = shared_->seed(
        row_of(spec, budget_and_key.second, period_start_ms(spec.period, now)), amount);
    if (!seeded) return seeded;
  }
  return ok();
}

}  // namespace plinth::ledger
