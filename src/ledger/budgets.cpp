// Budgets: reservation and settlement against per-period spend, rebuilt from the ledger.
#include "plinth/ledger/budgets.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <map>

#include "budget_rules.h"
#include "pg_budget_rows.h"
#include "plinth/core/log.h"
#include "plinth/ledger/ledger.h"
#include "utf8_repair.h"

namespace plinth::ledger {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;

constexpr int64_t kDayMs = 86'400'000;

int64_t usd_to_micro(double usd) { return std::llround(usd * 1e6); }
double micro_to_usd(int64_t micro) { return static_cast<double>(micro) / 1e6; }

std::string_view scope_name(BudgetScope scope) {
  switch (scope) {
    case BudgetScope::kAccount:
      return "account";
    case BudgetScope::kPrincipal:
      return "principal";
    case BudgetScope::kTag:
      return "tag";
  }
  return "account";
}

std::string_view period_name(BudgetPeriod period) {
  return period == BudgetPeriod::kDay ? "day" : "month";
}

std::string iso_utc(int64_t ms) {
  auto days =
      std::chrono::floor<std::chrono::days>(std::chrono::sys_time<milliseconds>(milliseconds(ms)));
  std::chrono::year_month_day ymd(days);
  int64_t second_of_day = (ms - days.time_since_epoch().count() * kDayMs) / 1000;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                     second_of_day / 3600, second_of_day / 60 % 60, second_of_day % 60);
}

// The key a budget counts this subject under, or nullopt when the budget does not apply.
std::optional<std::string> key_for(const BudgetSpec& spec, const BudgetSubject& subject) {
  const std::string& value = spec.scope == BudgetScope::kAccount     ? subject.account_id
                             : spec.scope == BudgetScope::kPrincipal ? subject.principal_arn
                                                                     : subject.application_tag;
  if (spec.scope == BudgetScope::kTag && spec.match != "*") {
    for (const Label& tag : subject.profile_tags) {
      if (spec.match.size() == tag.key.size() + 1 + tag.value.size() &&
          spec.match.starts_with(tag.key) && spec.match[tag.key.size()] == '=' &&
          spec.match.ends_with(tag.value)) {
        return spec.match;
      }
    }
  }
  if (value.empty()) return std::nullopt;
  if (spec.match == "*" || spec.match == value) return value;
  return std::nullopt;
}

// Dollars with up to six decimals and no trailing zeros: "10", "0.000137", "1234.5".
std::string usd_text(int64_t micro) {
  std::string text = fmt::format("{}{}.{:06}", micro < 0 ? "-" : "", std::abs(micro) / 1'000'000,
                                 std::abs(micro) % 1'000'000);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

Error refusal(const BudgetSpec& spec, const std::string& key, int64_t spent, int64_t reserved,
              int64_t estimate) {
  int64_t limit = spec.limit_micro_usd.value_or(0);
  return Error(
      ErrorCode::kThrottled,
      fmt::format("Budget {} ({} {}) of {} USD per {} {}: spent {} USD, reserved "
                  "{} USD, this request may cost up to {} USD.",
                  spec.id, scope_name(spec.scope), key, usd_text(limit), period_name(spec.period),
                  spent >= limit ? "is exhausted" : "would be exceeded", usd_text(spent),
                  usd_text(reserved), usd_text(estimate)));
}

std::optional<std::string> budget_key(const BudgetSpec& spec, const BudgetSubject& subject) {
  return key_for(spec, subject);
}

struct Budgets::Book {
  std::map<std::string, Entry> entries;  // by key
  size_t prune_above = 4096;             // forget idle keys when entries outgrow this

  // Moves every entry into the current period and forgets the keys of a "*" budget with nothing
  // spent or held, so that the table does not grow with every principal or tag ever seen.
  void prune(const BudgetSpec& spec, int64_t period_start) {
    std::erase_if(entries, [&](auto& item) {
      Entry& entry = at(item.first, period_start);
      return spec.match == "*" && entry.spent == 0 && entry.reserved == 0;
    });
    prune_above = std::max<size_t>(4096, entries.size() * 2);
  }

  // The key's entry, moved into the current period (spend resets; reservations carry over,
  // since their calls will be booked when they end, in this period or later).
  Entry& at(const std::string& key, int64_t period_start) {
    Entry& entry = entries[key];
    if (entry.period_start_ms < period_start) {
      entry.period_start_ms = period_start;
      entry.spent = 0;
      entry.soft_fired = false;
    }
    return entry;
  }
};

BudgetSpec BudgetSpec::from_config(const BudgetConfig& config) {
  BudgetSpec spec;
  spec.id = config.id;
  spec.scope = config.scope == "principal" ? BudgetScope::kPrincipal
               : config.scope == "tag"     ? BudgetScope::kTag
                                           : BudgetScope::kAccount;
  spec.match = config.match;
  spec.period = config.period == "month" ? BudgetPeriod::kMonth : BudgetPeriod::kDay;
  if (config.limit_usd) spec.limit_micro_usd = usd_to_micro(*config.limit_usd);
  if (config.soft_limit_usd) spec.soft_limit_micro_usd = usd_to_micro(*config.soft_limit_usd);
  return spec;
}

double BudgetState::used_fraction() const {
  std::optional<int64_t> limit = limit_micro_usd ? limit_micro_usd : soft_limit_micro_usd;
  if (!limit) return 0;
  if (*limit <= 0) return spent_micro_usd > 0 || limit_micro_usd ? 1.0 : 0.0;
  return static_cast<double>(spent_micro_usd) / static_cast<double>(*limit);
}

std::string_view BudgetState::status() const {
  if (exhausted()) return "exhausted";
  if (soft_exceeded()) return "soft_exceeded";
  return "ok";
}

int64_t period_start_ms(BudgetPeriod period, int64_t time_ms) {
  auto days = std::chrono::floor<std::chrono::days>(
      std::chrono::sys_time<milliseconds>(milliseconds(time_ms)));
  if (period == BudgetPeriod::kMonth) {
    std::chrono::year_month_day ymd(days);
    days = std::chrono::sys_days(ymd.year() / ymd.month() / std::chrono::day(1));
  }
  return days.time_since_epoch().count() * kDayMs;
}

BudgetReservation::BudgetReservation(BudgetReservation&& other) noexcept
    : budgets_(std::exchange(other.budgets_, nullptr)),
      holds_(std::move(other.holds_)),
      estimate_(other.estimate_),
      shared_id_(other.shared_id_) {}

BudgetReservation& BudgetReservation::operator=(BudgetReservation&& other) noexcept {
  if (this != &other) {
    if (budgets_) budgets_->release(*this, std::nullopt);
    budgets_ = std::exchange(other.budgets_, nullptr);
    holds_ = std::move(other.holds_);
    estimate_ = other.estimate_;
    shared_id_ = other.shared_id_;
  }
  return *this;
}

BudgetReservation::~BudgetReservation() {
  if (budgets_) budgets_->release(*this, std::nullopt);
}

void BudgetReservation::settle(int64_t actual_micro_usd) {
  if (!budgets_) return;
  std::exchange(budgets_, nullptr)->release(*this, actual_micro_usd);
}

Budgets::Budgets(std::vector<BudgetSpec> specs, const Clock& clock)
    : specs_(std::move(specs)), clock_(clock) {
  int64_t now = now_ms();
  for (const BudgetSpec& spec : specs_) {
    books_.push_back(std::make_unique<Book>());
    if (spec.match != "*") books_.back()->at(spec.match, period_start_ms(spec.period, now));
  }
}

Budgets::~Budgets() = default;

int64_t Budgets::now_ms() const {
  return std::chrono::duration_cast<milliseconds>(clock_.now().time_since_epoch()).count();
}

Status Budgets::restore(Ledger& ledger) {
  if (specs_.empty()) return ok();
  int64_t now = now_ms();
  auto rows = ledger.spend_since(period_start_ms(BudgetPeriod::kMonth, now));
  if (!rows) return std::unexpected(rows.error());
  if (shared_) return restore_shared(*rows);
  std::lock_guard lock(mutex_);
  for (size_t b = 0; b < specs_.size(); ++b) {
    const BudgetSpec& spec = specs_[b];
    int64_t start = period_start_ms(spec.period, now);
    for (const SpendRow& row : *rows) {
      if (row.day_start_ms < start) continue;
      auto key = key_for(spec, BudgetSubject{row.account_id, row.principal_arn, row.application_tag,
                                             row.profile_tags});
      if (!key) continue;
      Entry& entry = books_[b]->at(*key, start);
      entry.spent += row.cost_micro_usd;
    }
    // A soft limit crossed before the restart was announced then; do not announce it again.
    for (auto& [key, entry] : books_[b]->entries) {
      entry.soft_fired = spec.soft_limit_micro_usd && entry.spent >= *spec.soft_limit_micro_usd;
    }
  }
  return ok();
}

Result<BudgetReservation> Budgets::reserve(const BudgetSubject& subject,
                                           int64_t estimate_micro_usd) {
  BudgetReservation reservation;
  if (specs_.empty()) return reservation;
  int64_t estimate = std::max<int64_t>(estimate_micro_usd, 0);
  if (shared_) return reserve_shared(subject, estimate);
  int64_t now = now_ms();
  std::lock_guard lock(mutex_);
  for (size_t b = 0; b < specs_.size(); ++b) {
    const BudgetSpec& spec = specs_[b];
    auto key = key_for(spec, subject);
    if (!key) continue;
    Book& book = *books_[b];
    int64_t period_start = period_start_ms(spec.period, now);
    if (book.entries.size() > book.prune_above) book.prune(spec, period_start);
    Entry& entry = book.at(*key, period_start);
    if (spec.limit_micro_usd) {
      int64_t limit = *spec.limit_micro_usd;
      if (entry.spent >= limit || entry.spent + entry.reserved + estimate > limit) {
        return std::unexpected(refusal(spec, *key, entry.spent, entry.reserved, estimate));
      }
    }
    reservation.holds_.push_back({b, std::move(*key), period_start});
  }
  for (const auto& hold : reservation.holds_) {
    books_[hold.budget]->entries[hold.key].reserved += estimate;
  }
  reservation.budgets_ = this;
  reservation.estimate_ = estimate;
  return reservation;
}

void Budgets::release(const BudgetReservation& reservation, std::optional<int64_t> actual) {
  if (shared_) return release_shared(reservation, actual);
  const int64_t estimate = reservation.estimate_;
  std::vector<BudgetState> crossed;
  {
    int64_t now = now_ms();
    std::lock_guard lock(mutex_);
    for (const auto& hold : reservation.holds_) {
      const BudgetSpec& spec = specs_[hold.budget];
      Entry& entry = books_[hold.budget]->at(hold.key, period_start_ms(spec.period, now));
      entry.reserved = std::max<int64_t>(entry.reserved - estimate, 0);
      if (!actual) continue;
      entry.spent += std::max<int64_t>(*actual, 0);
      if (spec.soft_limit_micro_usd && !entry.soft_fired &&
          entry.spent >= *spec.soft_limit_micro_usd) {
        entry.soft_fired = true;
        crossed.push_back(state_of(hold.budget, hold.key, entry));
      }
    }
  }
  announce(crossed);
}

void Budgets::announce(const std::vector<BudgetState>& crossed) {
  if (crossed.empty()) return;
  std::function<void(const BudgetState&)> listener;
  {
    std::lock_guard lock(mutex_);
    listener = soft_listener_;
  }
  for (const BudgetState& state : crossed) {
    log::warn("budget {} ({} {}): soft limit of {} USD per {} crossed, {} USD spent", state.id,
              scope_name(state.scope), state.key, usd_text(*state.soft_limit_micro_usd),
              period_name(state.period), usd_text(state.spent_micro_usd));
    if (listener) listener(state);
  }
}

BudgetState Budgets::state_of(size_t budget, const std::string& key, const Entry& entry) const {
  const BudgetSpec& spec = specs_[budget];
  return BudgetState{spec.id,
                     spec.scope,
                     spec.match,
                     key,
                     spec.period,
                     entry.period_start_ms,
                     spec.limit_micro_usd,
                     spec.soft_limit_micro_usd,
                     entry.spent,
                     entry.reserved};
}

std::vector<BudgetState> Budgets::snapshot() const {
  if (shared_) return snapshot_shared();
  std::vector<BudgetState> states;
  int64_t now = now_ms();
  std::lock_guard lock(mutex_);
  for (size_t b = 0; b < specs_.size(); ++b) {
    books_[b]->prune(specs_[b], period_start_ms(specs_[b].period, now));
    for (const auto& [key, entry] : books_[b]->entries) states.push_back(state_of(b, key, entry));
  }
  return states;
}

void Budgets::on_soft_limit(std::function<void(const BudgetState&)> listener) {
  std::lock_guard lock(mutex_);
  soft_listener_ = std::move(listener);
}

std::string budgets_json(const std::vector<BudgetState>& states) {
  json::array budgets;
  for (const BudgetState& s : states) {
    json::object row{{"id", s.id},
                     {"scope", scope_name(s.scope)},
                     {"match", repaired_utf8(s.match)},
                     {"key", repaired_utf8(s.key)},
                     {"period", period_name(s.period)},
                     {"period_start", iso_utc(s.period_start_ms)},
                     {"limit_usd", nullptr},
                     {"soft_limit_usd", nullptr},
                     {"spent_usd", micro_to_usd(s.spent_micro_usd)},
                     {"reserved_usd", micro_to_usd(s.reserved_micro_usd)},
                     {"used_fraction", s.used_fraction()},
                     {"status", s.status()}};
    if (s.limit_micro_usd) row["limit_usd"] = micro_to_usd(*s.limit_micro_usd);
    if (s.soft_limit_micro_usd) row["soft_limit_usd"] = micro_to_usd(*s.soft_limit_micro_usd);
    budgets.push_back(std::move(row));
  }
  return json::serialize(json::object{{"budgets", std::move(budgets)}});
}

}  // namespace plinth::ledger
