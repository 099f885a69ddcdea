// Budgets on both books (in memory; rows in a PostgreSQL database): reservation arithmetic, day
// and month rollover on a manual clock, soft-limit events, concurrency, and spend rebuilt from a
// real ledger after a restart.
#include "plinth/ledger/budgets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <deque>
#include <thread>

#include "ledger_backend.h"

namespace plinth::ledger {
namespace {

constexpr int64_t kMidnight = 1'764'028'800;  // 2025-11-25T00:00:00Z, in seconds
constexpr int64_t kDaySeconds = 86'400;

BudgetSpec spec(std::string id, BudgetScope scope, std::string match, BudgetPeriod period,
                std::optional<int64_t> hard, std::optional<int64_t> soft = std::nullopt) {
  return BudgetSpec{std::move(id), scope, std::move(match), period, hard, soft};
}

BudgetSubject alice(std::string tag = "team-a") {
  return {"111122223333", "arn:aws:iam::111122223333:user/alice", std::move(tag)};
}

// Tests call find(budgets.snapshot(), ...): the snapshot is a temporary, so it is kept alive here
// for the rest of the run (a pointer into it used to dangle; TSan reported heap-use-after-free).
const BudgetState* find(std::vector<BudgetState> states, std::string_view id,
                        std::string_view key) {
  static std::deque<std::vector<BudgetState>> kept;
  const std::vector<BudgetState>& held = kept.emplace_back(std::move(states));
  for (const BudgetState& s : held) {
    if (s.id == id && s.key == key) return &s;
  }
  return nullptr;
}

class BudgetsTest : public ::testing::TestWithParam<std::string> {
 protected:
  BudgetsTest() : backend_(GetParam()) {}
  ~BudgetsTest() override {
    budgets_.clear();  // before the backend's pool
  }

  // Budgets over this backend: in memory for sqlite, shared through the database for postgresql.
  Budgets& open(std::vector<BudgetSpec> specs, const Clock& clock) {
    budgets_.push_back(std::make_unique<Budgets>(std::move(specs), clock));
    if (backend_.postgres()) {
      auto pool = backend_.connect();
      EXPECT_TRUE(pool) << pool.error().message;
      if (pool) {
        auto shared = budgets_.back()->share_through(*pool);
        EXPECT_TRUE(shared) << shared.error().message;
      }
    }
    return *budgets_.back();
  }

  testing::LedgerBackend backend_;
  std::vector<std::unique_ptr<Budgets>> budgets_;
};

TEST(BudgetPeriods, StartAtUtcMidnightAndFirstOfMonth) {
  int64_t noon = (kMidnight + kDaySeconds / 2) * 1000;
  EXPECT_EQ(period_start_ms(BudgetPeriod::kDay, noon), kMidnight * 1000);
  EXPECT_EQ(period_start_ms(BudgetPeriod::kMonth, noon), 1'761'955'200'000);  // 2025-11-01
  EXPECT_EQ(period_start_ms(BudgetPeriod::kMonth, 1'761'955'200'000), 1'761'955'200'000);
  EXPECT_EQ(period_start_ms(BudgetPeriod::kMonth, 1'761'955'199'999), 1'759'276'800'000);
}

TEST_P(BudgetsTest, ReservationHoldsTheEstimateAndSettlementBooksTheActualCost) {
  ManualClock clock(kMidnight + 3600);
  Budgets& budgets =
      open({spec("daily", BudgetScope::kTag, "team-a", BudgetPeriod::kDay, 1000)}, clock);
  auto first = budgets.reserve(alice(), 300);
  ASSERT_TRUE(first) << first.error().message;
  auto second = budgets.reserve(alice(), 300);
  ASSERT_TRUE(second);
  const BudgetState* state = find(budgets.snapshot(), "daily", "team-a");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->reserved_micro_usd, 600);
  EXPECT_EQ(state->spent_micro_usd, 0);
  first->settle(120);
  state = find(budgets.snapshot(), "daily", "team-a");
  EXPECT_EQ(state->reserved_micro_usd, 300);
  EXPECT_EQ(state->spent_micro_usd, 120);
  // 120 spent + 300 held + 600 asked > 1000: refused, naming the budget and its limit.
  auto third = budgets.reserve(alice(), 600);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kThrottled);
  EXPECT_NE(third.error().message.find("daily"), std::string::npos);
  EXPECT_NE(third.error().message.find("0.001 USD"), std::string::npos);
  EXPECT_TRUE(budgets.reserve(alice(), 580));          // exactly the limit is allowed
  { BudgetReservation dropped = std::move(*second); }  // unsettled: released, nothing spent
  state = find(budgets.snapshot(), "daily", "team-a");
  EXPECT_EQ(state->spent_micro_usd, 120);
  EXPECT_EQ(state->reserved_micro_usd, 0);
}

TEST_P(BudgetsTest, RefusesEveryCallOnceTheHardLimitIsReached) {
  ManualClock clock(kMidnight);
  Budgets& budgets =
      open({spec("daily", BudgetScope::kAccount, "*", BudgetPeriod::kDay, 100)}, clock);
  budgets.reserve(alice(), 0)->settle(150);  // a call may cost more than its estimate
  auto refused = budgets.reserve(alice(), 0);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kThrottled);
  const BudgetState* state = find(budgets.snapshot(), "daily", "111122223333");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->status(), "exhausted");
  EXPECT_DOUBLE_EQ(state->used_fraction(), 1.5);
}

TEST_P(BudgetsTest, RefusalReservesNothingOnTheOtherBudgets) {
  ManualClock clock(kMidnight);
  Budgets& budgets = open({spec("roomy", BudgetScope::kAccount, "*", BudgetPeriod::kMonth, 10'000),
                           spec("tight", BudgetScope::kTag, "team-a", BudgetPeriod::kDay, 50)},
                          clock);
  ASSERT_FALSE(budgets.reserve(alice(), 80));
  EXPECT_EQ(find(budgets.snapshot(), "roomy", "111122223333"), nullptr);  // nothing held there
  auto other_tag = budgets.reserve(alice("team-b"), 80);  // "tight" does not match team-b
  ASSERT_TRUE(other_tag);
  EXPECT_EQ(find(budgets.snapshot(), "roomy", "111122223333")->reserved_micro_usd, 80);
}

TEST_P(BudgetsTest, WildcardCountsEachPrincipalSeparatelyAndSkipsUntaggedCalls) {
  ManualClock clock(kMidnight);
  Budgets& budgets = open({spec("per-user", BudgetScope::kPrincipal, "*", BudgetPeriod::kDay, 100),
                           spec("per-tag", BudgetScope::kTag, "*", BudgetPeriod::kDay, 1)},
                          clock);
  BudgetSubject bob{"111122223333", "arn:aws:iam::111122223333:user/bob", ""};
  budgets.reserve(alice(""), 0)->settle(100);
  EXPECT_FALSE(budgets.reserve(alice(""), 0));
  EXPECT_TRUE(budgets.reserve(bob, 100));
  EXPECT_EQ(find(budgets.snapshot(), "per-tag", ""), nullptr);
}

TEST_P(BudgetsTest, DailySpendResetsAtUtcMidnightAndMonthlyOnTheFirst) {
  ManualClock clock(1'764'460'800 - 60);  // 2025-11-29T23:59:00Z
  Budgets& budgets =
      open({spec("daily", BudgetScope::kAccount, "111122223333", BudgetPeriod::kDay, 100),
            spec("monthly", BudgetScope::kAccount, "*", BudgetPeriod::kMonth, 1000)},
           clock);
  budgets.reserve(alice(), 10)->settle(100);
  EXPECT_FALSE(budgets.reserve(alice(), 1));
  clock.advance(std::chrono::seconds(120));  // 2025-11-30T00:01:00Z
  auto state = find(budgets.snapshot(), "daily", "111122223333");
  EXPECT_EQ(state->spent_micro_usd, 0);
  EXPECT_EQ(state->period_start_ms, 1'764'460'800'000);
  EXPECT_EQ(find(budgets.snapshot(), "monthly", "111122223333")->spent_micro_usd, 100);
  auto across = budgets.reserve(alice(), 40);
  ASSERT_TRUE(across);
  clock.advance(std::chrono::seconds(kDaySeconds));  // 2025-12-01T00:01:00Z
  across->settle(30);                                // booked in the period the call ends in
  EXPECT_EQ(find(budgets.snapshot(), "daily", "111122223333")->spent_micro_usd, 30);
  EXPECT_EQ(find(budgets.snapshot(), "daily", "111122223333")->reserved_micro_usd, 0);
  EXPECT_EQ(find(budgets.snapshot(), "monthly", "111122223333")->spent_micro_usd, 30);
}

TEST_P(BudgetsTest, ACallRunningAcrossMidnightHoldsItsMoneyInTheNewDay) {
  ManualClock clock(1'764'460'800 - 60);  // 2025-11-29T23:59:00Z
  Budgets& budgets =
      open({spec("daily", BudgetScope::kAccount, "*", BudgetPeriod::kDay, 100)}, clock);
  auto running = budgets.reserve(alice(), 80);
  ASSERT_TRUE(running);
  clock.advance(std::chrono::seconds(120));  // 2025-11-30T00:01:00Z
  // Its cost will be booked today: 80 held + 30 > 100, so the new day must not admit this yet.
  EXPECT_FALSE(budgets.reserve(alice(), 30));
  auto fits = budgets.reserve(alice(), 20);
  ASSERT_TRUE(fits);
  running->settle(80);
  fits->settle(20);
  const BudgetState* state = find(budgets.snapshot(), "daily", "111122223333");
  ASSERT_NE(state, nullptr);
  EXPECT_EQ(state->spent_micro_usd, 100);
  EXPECT_EQ(state->reserved_micro_usd, 0);
  EXPECT_EQ(state->period_start_ms, 1'764'460'800'000);
}

TEST_P(BudgetsTest, SoftLimitFiresOncePerPeriodAndNeverRefuses) {
  ManualClock clock(kMidnight);
  Budgets& budgets = open(
      {spec("soft", BudgetScope::kTag, "team-a", BudgetPeriod::kDay, std::nullopt, 100)}, clock);
  std::vector<BudgetState> events;
  budgets.on_soft_limit([&](const BudgetState& s) { events.push_back(s); });
  budgets.reserve(alice(), 0)->settle(60);
  EXPECT_TRUE(events.empty());
  budgets.reserve(alice(), 0)->settle(60);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "soft");
  EXPECT_EQ(events[0].spent_micro_usd, 120);
  auto more = budgets.reserve(alice(), 1'000'000);  // soft-only: never refuses
  ASSERT_TRUE(more);
  more->settle(500);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_EQ(find(budgets.snapshot(), "soft", "team-a")->status(), "soft_exceeded");
  clock.advance(std::chrono::seconds(kDaySeconds));
  budgets.reserve(alice(), 0)->settle(100);
  EXPECT_EQ(events.size(), 2u);  // the next day crosses afresh
}

TEST_P(BudgetsTest, ConcurrentReservationsNeverOverbook) {
  ManualClock clock(kMidnight);
  Budgets& budgets = open({spec("shared", BudgetScope::kAccount, "*", BudgetPeriod::kDay, 1000),
                           spec("team", BudgetScope::kTag, "*", BudgetPeriod::kDay, 1000)},
                          clock);
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        auto reservation = budgets.reserve(alice(), 10);
        if (!reservation) continue;
        ++admitted;
        reservation->settle(10);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(admitted.load(), 100);
  for (const BudgetState& s : budgets.snapshot()) {
    EXPECT_EQ(s.spent_micro_usd, 1000) << s.id;
    EXPECT_EQ(s.reserved_micro_usd, 0) << s.id;
  }
}

TEST_P(BudgetsTest, SpendIsRebuiltFromTheLedgerAfterARestart) {
  auto ledger = backend_.open();
  ASSERT_TRUE(ledger) << ledger.error().message;
  auto add = [&](int64_t seconds, std::string tag, int64_t cost) {
    UsageRecord r;
    r.time_ms = seconds * 1000;
    r.account_id = "111122223333";
    r.principal_arn = "arn:aws:iam::111122223333:user/alice";
    r.application_tag = std::move(tag);
    r.cost_micro_usd = cost;
    (*ledger)->record(std::move(r));
  };
  add(kMidnight - 40 * kDaySeconds, "team-a", 5000);  // last month: in neither period
  add(kMidnight - kDaySeconds, "team-a", 300);        // yesterday: this month only
  add(kMidnight + 60, "team-a", 200);
  add(kMidnight + 120, "team-b", 50);
  ASSERT_TRUE((*ledger)->flush());
  ManualClock clock(kMidnight + 3600);
  Budgets& budgets =
      open({spec("daily", BudgetScope::kTag, "team-a", BudgetPeriod::kDay, 1000, 100),
            spec("monthly", BudgetScope::kAccount, "*", BudgetPeriod::kMonth, 1000)},
           clock);
  int fired = 0;
  budgets.on_soft_limit([&](const BudgetState&) { ++fired; });
  ASSERT_TRUE(budgets.restore(**ledger));
  auto states = budgets.snapshot();
  ASSERT_NE(find(states, "daily", "team-a"), nullptr);
  EXPECT_EQ(find(states, "daily", "team-a")->spent_micro_usd, 200);
  EXPECT_EQ(find(states, "monthly", "111122223333")->spent_micro_usd, 550);
  budgets.reserve(alice(), 0)->settle(1);
  EXPECT_EQ(fired, 0);  // crossed before the restart: not announced twice
  EXPECT_FALSE(budgets.reserve(alice(), 451));
}

TEST_P(BudgetsTest, ListsEveryFieldTheConsoleReads) {
  ManualClock clock(kMidnight + 60);
  Budgets& budgets =
      open({spec("daily", BudgetScope::kTag, "team-a", BudgetPeriod::kDay, 5'000'000, 4'000'000)},
           clock);
  budgets.reserve(alice(), 0)->settle(4'500'000);
  auto held = budgets.reserve(alice(), 250'000);
  auto body = boost::json::parse(budgets_json(budgets.snapshot())).as_object();
  const auto& row = body.at("budgets").as_array().at(0).as_object();
  EXPECT_EQ(row.at("id").as_string(), "daily");
  EXPECT_EQ(row.at("scope").as_string(), "tag");
  EXPECT_EQ(row.at("match").as_string(), "team-a");
  EXPECT_EQ(row.at("key").as_string(), "team-a");
  EXPECT_EQ(row.at("period").as_string(), "day");
  EXPECT_EQ(row.at("period_start").as_string(), "2025-11-25T00:00:00Z");
  EXPECT_DOUBLE_EQ(row.at("limit_usd").as_double(), 5.0);
  EXPECT_DOUBLE_EQ(row.at("soft_limit_usd").as_double(), 4.0);
  EXPECT_DOUBLE_EQ(row.at("spent_usd").as_double(), 4.5);
  EXPECT_DOUBLE_EQ(row.at("reserved_usd").as_double(), 0.25);
  EXPECT_DOUBLE_EQ(row.at("used_fraction").as_double(), 0.9);
  EXPECT_EQ(row.at("status").as_string(), "soft_exceeded");
}

TEST_P(BudgetsTest, KeysWithInvalidUtf8StillGiveValidJson) {
  // A tag stored before tags were validated at the edge must not break GET /v1/budgets.
  ManualClock clock(kMidnight + 60);
  Budgets& budgets =
      open({spec("per-tag", BudgetScope::kTag, "*", BudgetPeriod::kDay, 5'000'000)}, clock);
  budgets.reserve(alice("bad\xff\xc3"), 0)->settle(10);
  boost::system::error_code ec;
  auto body = boost::json::parse(budgets_json(budgets.snapshot()), ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(body.at("budgets").at(0).at("key").as_string(), "bad\uFFFD\uFFFD");
}

INSTANTIATE_TEST_SUITE_P(Backends, BudgetsTest, testing::kLedgerBackends,
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace plinth::ledger
