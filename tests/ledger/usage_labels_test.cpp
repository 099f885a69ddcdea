// Inference profiles and labels in the SQLite ledger: grouping by profile, by a profile tag and
// by a requestMetadata key; the labels read back; a profile-tag budget rebuilt after a restart.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "ledger_backend.h"
#include "plinth/core/clock.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"

namespace plinth::ledger {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kMidnight = 1'764'028'800'000;  // 2025-11-25T00:00:00Z
const std::string kProfileA =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/aaaaaaaaaaaa";
const std::string kProfileB =
    "arn:aws:bedrock:us-east-1:111122223333:application-inference-profile/bbbbbbbbbbbb";

class UsageLabelsTest : public ::testing::TestWithParam<std::string> {
 protected:
  UsageLabelsTest() : backend_(GetParam()) {
    auto ledger = backend_.open();
    EXPECT_TRUE(ledger) << ledger.error().message;
    if (ledger) ledger_ = std::move(*ledger);
  }
  ~UsageLabelsTest() override { ledger_.reset(); }

  void add(int64_t time_ms, std::string profile, Labels tags, Labels metadata, int64_t cost) {
    UsageRecord r;
    r.time_ms = time_ms;
    r.account_id = "111122223333";
    r.principal_arn = "arn:aws:iam::111122223333:user/alice";
    r.operation = "Converse";
    r.model_used = "plinth-small";
    r.input_tokens = 10;
    r.output_tokens = 5;
    r.cost_micro_usd = cost;
    r.status = "200";
    r.request_id = "req-" + std::to_string(++count_);
    r.inference_profile = std::move(profile);
    r.profile_tags = std::move(tags);
    r.request_metadata = std::move(metadata);
    ledger_->record(std::move(r));
  }

  UsageReport query(std::string_view group_by) {
    auto grouping = parse_grouping(group_by);
    EXPECT_TRUE(grouping) << grouping.error().message;
    UsageQuery q;
    q.group_by = grouping->by;
    q.label_key = grouping->label_key;
    auto report = ledger_->query(q);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : UsageReport{};
  }

  testing::LedgerBackend backend_;
  int count_ = 0;
  std::unique_ptr<Ledger> ledger_;
};

TEST_P(UsageLabelsTest, GroupsByProfileProfileTagAndMetadataKey) {
  add(kMidnight + 1, kProfileA, {{"team", "alpha"}}, {{"user", "u1"}}, 100);
  // Two hours later (whole hours between read the roll-up for other groupings).
  add(kMidnight + 7'200'000, kProfileA, {{"team", "alpha"}}, {{"user", "u2"}}, 10);
  add(kMidnight + 7'200'001, kProfileB, {{"team", "beta"}}, {{"user", "u1"}}, 1);
  add(kMidnight + 7'200'002, "", {}, {}, 1000);

  UsageReport by_profile = query("profile");
  ASSERT_EQ(by_profile.groups.size(), 3u);
  EXPECT_EQ(by_profile.groups[0].key, "");
  EXPECT_EQ(by_profile.groups[1].key, kProfileA);
  EXPECT_EQ(by_profile.groups[1].totals.requests, 2);
  EXPECT_EQ(by_profile.groups[1].totals.cost_micro_usd, 110);
  EXPECT_EQ(by_profile.groups[2].totals.cost_micro_usd, 1);
  EXPECT_EQ(by_profile.total.requests, 4);

  UsageReport by_team = query("tag:team");
  ASSERT_EQ(by_team.groups.size(), 3u);
  EXPECT_EQ(by_team.groups[1].key, "alpha");
  EXPECT_EQ(by_team.groups[1].totals.cost_micro_usd, 110);
  EXPECT_EQ(by_team.groups[2].key, "beta");

  UsageReport by_user = query("metadata:user");
  ASSERT_EQ(by_user.groups.size(), 3u);
  EXPECT_EQ(by_user.groups[1].key, "u1");
  EXPECT_EQ(by_user.groups[1].totals.requests, 2);
  EXPECT_EQ(by_user.groups[1].totals.cost_micro_usd, 101);
  EXPECT_EQ(by_user.groups[2].key, "u2");

  // A key no call has groups everything under "".
  UsageReport unknown = query("metadata:nobody");
  ASSERT_EQ(unknown.groups.size(), 1u);
  EXPECT_EQ(unknown.groups[0].totals.requests, 4);
}

TEST_P(UsageLabelsTest, LabelKeyWithQuotesIsBoundNotSpliced) {
  add(kMidnight, kProfileA, {{"a'b\"c", "x"}}, {}, 1);
  UsageReport report = query("tag:a'b\"c");
  ASSERT_EQ(report.groups.size(), 1u);
  EXPECT_EQ(report.groups[0].key, "x");
}

TEST_P(UsageLabelsTest, RecentCallsCarryTheProfileAndLabels) {
  add(kMidnight, kProfileA, {{"team", "alpha"}, {"env", "prod"}}, {{"user", "u1"}}, 1);
  auto recent = ledger_->recent(1);
  ASSERT_TRUE(recent);
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].inference_profile, kProfileA);
  EXPECT_EQ((*recent)[0].profile_tags.size(), 2u);
  EXPECT_EQ((*recent)[0].request_metadata, (Labels{{"user", "u1"}}));
  std::string json = usage_calls_json(*recent);
  EXPECT_NE(json.find(R"("request_metadata":{"user":"u1"})"), std::string::npos) << json;
}

TEST_P(UsageLabelsTest, SeriesRefusesLabelGroupings) {
  SeriesQuery q;
  q.by = GroupBy::kProfile;
  q.from_ms = kMidnight;
  q.to_ms = kMidnight + 3'600'000;
  auto series = ledger_->series(q);
  ASSERT_FALSE(series);
  EXPECT_EQ(series.error().code, ErrorCode::kInvalidArgument);
}

TEST(UsageGrouping, ParsesLabelGroupingsAndBoundsTheKey) {
  EXPECT_EQ(parse_grouping("metadata:user")->by, GroupBy::kMetadata);
  EXPECT_EQ(parse_grouping("metadata:user")->label_key, "user");
  EXPECT_EQ(parse_grouping("tag:team")->by, GroupBy::kProfileTag);
  EXPECT_EQ(parse_grouping("profile")->by, GroupBy::kProfile);
  EXPECT_FALSE(parse_grouping("tag:"));
  EXPECT_TRUE(parse_grouping("tag:" + std::string(kMaxLabelKeyBytes, 'k')));
  EXPECT_FALSE(parse_grouping("tag:" + std::string(kMaxLabelKeyBytes + 1, 'k')));
  EXPECT_FALSE(parse_grouping("colour"));
}

TEST_P(UsageLabelsTest, ProfileTagBudgetMatchesKeyEqualsValueAndIsRebuilt) {
  BudgetSpec spec{"alpha", BudgetScope::kTag, "team=alpha", BudgetPeriod::kDay, 1000, {}};
  ManualClock clock(kMidnight / 1000);
  Budgets budgets({spec}, clock);
  BudgetSubject through_profile{"111122223333",
                                "arn:aws:iam::111122223333:user/alice",
                                "",
                                {{"env", "prod"}, {"team", "alpha"}}};
  BudgetSubject other{
      "111122223333", "arn:aws:iam::111122223333:user/alice", "", {{"team", "alphabet"}}};
  EXPECT_TRUE(budgets.reserve(other, 5000));  // no such tag: the budget does not apply
  auto held = budgets.reserve(through_profile, 600);
  ASSERT_TRUE(held);
  held->settle(600);
  auto refused = budgets.reserve(through_profile, 600);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kThrottled);
  EXPECT_NE(refused.error().message.find("team=alpha"), std::string::npos);

  // After a restart the spend comes back from the ledger rows' profile tags.
  add(kMidnight + 1, kProfileA, {{"team", "alpha"}}, {}, 700);
  add(kMidnight + 2, kProfileB, {{"team", "beta"}}, {}, 900);
  Budgets restarted({spec}, clock);
  ASSERT_TRUE(restarted.restore(*ledger_));
  auto states = restarted.snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].spent_micro_usd, 700);
  EXPECT_FALSE(restarted.reserve(through_profile, 400));
}

INSTANTIATE_TEST_SUITE_P(Backends, UsageLabelsTest, testing::kLedgerBackends,
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace plinth::ledger
