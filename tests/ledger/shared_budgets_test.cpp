// Budgets shared by replicas through one PostgreSQL database: several Budgets, each with its own
// pool (a replica each), reserve against the same rows; a replica that dies leaves holds that are
// released once its lease expires.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "pg/test_database.h"
#include "pg_budget_rows.h"
#include "plinth/ledger/budgets.h"
#include "plinth/pg/pool.h"

namespace plinth::ledger {
namespace {

constexpr int64_t kNoon = 1'764'072'000;  // 2025-11-25T12:00:00Z, in seconds

BudgetSubject alice() { return {"111122223333", "arn:aws:iam::111122223333:user/alice", "team-a"}; }

std::vector<BudgetSpec> account_limit(int64_t limit) {
  return {BudgetSpec{"daily", BudgetScope::kAccount, "*", BudgetPeriod::kDay, limit, {}}};
}

std::shared_ptr<pg::Pool> connect(const pg::testing::TestDatabase& db, int size) {
  auto pool = pg::Pool::open({db.url(), size, std::chrono::milliseconds(20'000)});
  EXPECT_TRUE(pool) << pool.error().message;
  return pool ? *pool : nullptr;
}

int64_t scalar(pg::Pool& pool, const std::string& sql) {
  auto conn = pool.acquire();
  EXPECT_TRUE(conn);
  auto rows = (*conn)->exec(sql);
  EXPECT_TRUE(rows) << rows.error().message;
  return rows && !rows->empty() ? rows->int64(0, 0) : -1;
}

TEST(SharedBudgets, ThreeReplicasOfFiftyCallsEachNeverSpendPastTheHardLimit) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  constexpr int kReplicas = 3;
  constexpr int kCallsEach = 50;
  constexpr int64_t kLimit = 10'000;  // micro-USD
  ManualClock clock(kNoon);
  std::vector<std::shared_ptr<pg::Pool>> pools;
  std::vector<std::unique_ptr<Budgets>> replicas;
  for (int r = 0; r < kReplicas; ++r) {
    pools.push_back(connect(db, 8));
    ASSERT_TRUE(pools.back());
    replicas.push_back(std::make_unique<Budgets>(account_limit(kLimit), clock));
    auto shared = replicas.back()->share_through(pools.back());
    ASSERT_TRUE(shared) << shared.error().message;
  }
  // Each call holds 700 and costs between 1 and 700: a count check alone would miss an overshoot
  // of less than one call, so the spend is compared with the limit to the micro-dollar.
  std::atomic<int64_t> admitted_cost{0};
  std::atomic<int> admitted{0}, refused{0};
  std::vector<std::thread> calls;
  for (int r = 0; r < kReplicas; ++r) {
    for (int c = 0; c < kCallsEach; ++c) {
      calls.emplace_back([&, r, c] {
        auto reservation = replicas[r]->reserve(alice(), 700);
        if (!reservation) {
          EXPECT_EQ(reservation.error().code, ErrorCode::kThrottled) << reservation.error().message;
          ++refused;
          return;
        }
        int64_t cost = 1 + (r * kCallsEach + c) * 37 % 700;
        ++admitted;
        admitted_cost += cost;
        reservation->settle(cost);
      });
    }
  }
  for (auto& call : calls) call.join();
  EXPECT_EQ(admitted + refused, kReplicas * kCallsEach);
  EXPECT_GT(admitted.load(), kLimit / 700 - 1);
  EXPECT_LE(admitted_cost.load(), kLimit);
  int64_t spent = scalar(*pools[0], "SELECT spent FROM budget_usage");
  EXPECT_EQ(spent, admitted_cost.load());
  EXPECT_EQ(scalar(*pools[0], "SELECT reserved FROM budget_usage"), 0);
  EXPECT_EQ(scalar(*pools[0], "SELECT count(*) FROM budget_holds"), 0);
  // Every replica reads the same state.
  for (const auto& replica : replicas) {
    auto states = replica->snapshot();
    ASSERT_EQ(states.size(), 1u);
    EXPECT_EQ(states[0].spent_micro_usd, spent);
  }
}

TEST(SharedBudgets, AReplicasSpendRefusesTheOthersAtOnce) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  ManualClock clock(kNoon);
  auto pool_a = connect(db, 2), pool_b = connect(db, 2);
  ASSERT_TRUE(pool_a && pool_b);
  Budgets a(account_limit(100), clock), b(account_limit(100), clock);
  ASSERT_TRUE(a.share_through(pool_a));
  ASSERT_TRUE(b.share_through(pool_b));
  auto held = a.reserve(alice(), 60);
  ASSERT_TRUE(held);
  auto refused = b.reserve(alice(), 50);  // 60 held on a + 50 > 100
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("reserved 0.00006 USD"), std::string::npos)
      << refused.error().message;
  held->settle(100);
  refused = b.reserve(alice(), 0);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("is exhausted"), std::string::npos);
}

TEST(SharedBudgets, HoldsOfAReplicaThatDiedAreReleasedWhenItsLeaseExpires) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  ManualClock clock(kNoon);
  // The dying replica is a child process: it reserves 80 of 100 and exits without releasing
  // anything (no destructor runs), as after kill -9.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto pool = pg::Pool::open({db.url(), 2, std::chrono::milliseconds(5000)});
    if (!pool) _exit(2);
    // _exit runs no destructor: the reservation and the Budgets are never released.
    auto dying = std::make_unique<Budgets>(account_limit(100), clock);
    if (!dying->share_through(*pool, {std::chrono::milliseconds(600)})) _exit(3);
    auto held = dying->reserve(alice(), 80);
    if (!held) _exit(4);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  auto pool = connect(db, 2);
  ASSERT_TRUE(pool);
  Budgets survivor(account_limit(100), clock);
  ASSERT_TRUE(survivor.share_through(pool, {std::chrono::milliseconds(600)}));
  EXPECT_FALSE(survivor.reserve(alice(), 30));  // the dead replica's 80 are still held
  // The survivor's heartbeat releases them once the lease (600 ms) has run out.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  Result<BudgetReservation> later = survivor.reserve(alice(), 30);
  while (!later && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    later = survivor.reserve(alice(), 30);
  }
  ASSERT_TRUE(later) << later.error().message;
  EXPECT_EQ(scalar(*pool, "SELECT reserved FROM budget_usage"), 30);
  EXPECT_EQ(scalar(*pool, "SELECT count(*) FROM budget_holds"), 1);
}

TEST(SharedBudgets, ALiveReplicasHoldsOutlastTheLease) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  ManualClock clock(kNoon);
  auto pool = connect(db, 2);
  ASSERT_TRUE(pool);
  Budgets slow_call(account_limit(100), clock), other(account_limit(100), clock);
  ASSERT_TRUE(slow_call.share_through(pool, {std::chrono::milliseconds(300)}));
  ASSERT_TRUE(other.share_through(pool, {std::chrono::milliseconds(300)}));
  auto held = slow_call.reserve(alice(), 80);
  ASSERT_TRUE(held);
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // four leases: heartbeats renew
  EXPECT_FALSE(other.reserve(alice(), 30));
  held->settle(80);
  EXPECT_EQ(scalar(*pool, "SELECT spent FROM budget_usage"), 80);
  EXPECT_EQ(scalar(*pool, "SELECT reserved FROM budget_usage"), 0);
}

TEST(SharedBudgets, ASettlementThatFailedIsBookedOnceTheDatabaseAnswersAgain) {
  // ...and the soft limit it crosses is announced then.
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  ManualClock clock(kNoon);
  // One connection, given up on after 100 ms: holding it makes the settlement fail.
  auto pool = pg::Pool::open({db.url(), 1, std::chrono::milliseconds(100)});
  ASSERT_TRUE(pool) << pool.error().message;
  auto reader = connect(db, 1);
  ASSERT_TRUE(reader);
  Budgets budgets({BudgetSpec{"daily", BudgetScope::kAccount, "*", BudgetPeriod::kDay, 100, 30}},
                  clock);
  std::atomic<int> crossings{0};
  budgets.on_soft_limit([&](const BudgetState& state) {
    EXPECT_EQ(state.spent_micro_usd, 40);
    ++crossings;
  });
  ASSERT_TRUE(budgets.share_through(*pool, {std::chrono::milliseconds(300)}));
  auto held = budgets.reserve(alice(), 50);
  ASSERT_TRUE(held);
  {
    auto blocker = (*pool)->acquire();
    ASSERT_TRUE(blocker);
    held->settle(40);  // cannot reach the database now
    EXPECT_EQ(scalar(*reader, "SELECT spent FROM budget_usage"), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(600));  // two leases: still held
    EXPECT_EQ(scalar(*reader, "SELECT count(*) FROM budget_holds"), 1);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (scalar(*reader, "SELECT spent FROM budget_usage") != 40 &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(scalar(*reader, "SELECT spent FROM budget_usage"), 40);
  EXPECT_EQ(scalar(*reader, "SELECT reserved FROM budget_usage"), 0);
  EXPECT_EQ(scalar(*reader, "SELECT count(*) FROM budget_holds"), 0);
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (crossings.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(crossings.load(), 1);
}

TEST(SharedBudgets, SettlingAReservationAgainBooksNothing) {
  // What a settlement's retry does when its first try committed but the reply was lost.
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  auto pool = connect(db, 2);
  ASSERT_TRUE(pool);
  int crossings = 0;
  auto rows = PgBudgetRows::open(
      pool, std::chrono::milliseconds(10'000), {},
      [&](const auto&, const auto& crossed) { crossings += static_cast<int>(crossed.size()); });
  ASSERT_TRUE(rows) << rows.error().message;
  const std::vector<PgBudgetRows::Hold> holds = {
      {"daily", "111122223333", 1'764'028'800'000, 100, 30}};
  auto reserved = (*rows)->reserve(holds, 50);
  ASSERT_TRUE(reserved) << reserved.error().message;
  ASSERT_TRUE(std::holds_alternative<int64_t>(*reserved));
  const int64_t id = std::get<int64_t>(*reserved);
  auto first = (*rows)->settle(id, holds, 40);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(crossings, 1);  // crossed the soft limit of 30
  auto again = (*rows)->settle(id, holds, 40);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(crossings, 1);  // nothing booked, nothing announced
  EXPECT_EQ(scalar(*pool, "SELECT spent FROM budget_usage"), 40);
  EXPECT_EQ(scalar(*pool, "SELECT reserved FROM budget_usage"), 0);
  // Another reservation is booked as usual.
  auto next = (*rows)->reserve(holds, 10);
  ASSERT_TRUE(next && std::holds_alternative<int64_t>(*next));
  ASSERT_TRUE((*rows)->settle(std::get<int64_t>(*next), holds, 10));
  EXPECT_EQ(scalar(*pool, "SELECT spent FROM budget_usage"), 50);
}

// Polls `sql` until it returns `want` (the heartbeat runs every lease / 3); the last value.
int64_t await_scalar(pg::Pool& pool, const std::string& sql, int64_t want) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  int64_t got = scalar(pool, sql);
  while (got != want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    got = scalar(pool, sql);
  }
  return got;
}

TEST(SharedBudgets, TheHeartbeatPrunesEmptyRowsOfPeriodsThatEndedAFullPeriodAgo) {
  pg::testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  ManualClock clock(kNoon);
  auto pool = connect(db, 2);
  ASSERT_TRUE(pool);
  Budgets budgets(account_limit(100), clock);
  ASSERT_TRUE(budgets.share_through(pool, {std::chrono::milliseconds(300)}));
  const BudgetSubject bob{"444455556666", "arn:aws:iam::444455556666:user/bob", "team-b"};
  const std::string day0 = "SELECT count(*) FROM budget_usage WHERE period_start_ms = " +
                           std::to_string(period_start_ms(BudgetPeriod::kDay, kNoon * 1000));
  auto spent = budgets.reserve(alice(), 40);
  ASSERT_TRUE(spent);
  spent->settle(40);
  auto held = budgets.reserve(bob, 30);  // still in flight two days later
  ASSERT_TRUE(held);

  clock.advance(std::chrono::hours(24));  // day 0 is the previous period: kept
  auto today = budgets.reserve(alice(), 10);
  ASSERT_TRUE(today);
  today->settle(10);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // several heartbeats
  EXPECT_EQ(scalar(*pool, day0), 2);

  clock.advance(std::chrono::hours(24));  // day 0 ended a full day ago
  // Alice's day-0 row holds nothing: pruned. Bob's still holds his reservation: kept.
  EXPECT_EQ(await_scalar(*pool, day0, 1), 1);
  EXPECT_EQ(scalar(*pool, day0 + " AND reserved = 30"), 1);
  EXPECT_EQ(scalar(*pool, "SELECT count(*) FROM budget_usage"), 2);  // + alice's day 1
  held->settle(20);  // booked on day 2; the day-0 row is empty now and goes too
  EXPECT_EQ(await_scalar(*pool, day0, 0), 0);
  EXPECT_EQ(scalar(*pool, "SELECT count(*) FROM budget_holds"), 0);
  EXPECT_EQ(scalar(*pool, "SELECT sum(spent) FROM budget_usage"), 30);  // days 1 and 2
}

}  // namespace
}  // namespace plinth::ledger
