// Application inference profiles on both backends (a real SQLite file, a fresh PostgreSQL
// database): create, lookups, the per-account bound, idempotency tokens, tags and their bound,
// delete cascading to tags, and a reopen.
#include "plinth/store/inference_profiles.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "pg/test_database.h"
#include "plinth/pg/pool.h"

namespace plinth::store {
namespace {
namespace fs = std::filesystem;

class InferenceProfilesTest : public ::testing::TestWithParam<std::string> {
 protected:
  InferenceProfilesTest() {
    dir_ = fs::temp_directory_path() / ("plinth-profiles-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    if (GetParam() == "postgresql") pg_.emplace();
    reopen();
  }
  ~InferenceProfilesTest() override {
    profiles_.reset();
    db_.reset();
    pool_.reset();
    fs::remove_all(dir_);
  }
  // A new store object on the same data (a restart, or on PostgreSQL another replica's pool).
  void reopen() {
    profiles_.reset();
    db_.reset();
    pool_.reset();
    if (pg_) {
      ASSERT_TRUE(pg_->ok()) << pg_->error();
      auto pool = pg::Pool::open({pg_->url(), 2});
      ASSERT_TRUE(pool) << pool.error().message;
      pool_ = *pool;
      auto profiles = open_postgres_inference_profiles(pool_);
      ASSERT_TRUE(profiles) << profiles.error().message;
      profiles_ = std::move(*profiles);
      return;
    }
    auto db = Database::open(dir_ / "plinth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto profiles = open_sqlite_inference_profiles(*db_);
    ASSERT_TRUE(profiles) << profiles.error().message;
    profiles_ = std::move(*profiles);
  }
  // Tag rows left in the backend's table, read past the store.
  int64_t stored_tags() {
    constexpr const char* kSql = "SELECT COUNT(*) FROM inference_profile_tags";
    if (pool_) {
      auto conn = pool_->acquire();
      if (!conn) return -1;
      auto rows = (*conn)->exec(kSql);
      return rows ? rows->int64(0, 0) : -1;
    }
    auto guard = db_->lock();
    auto left = db_->prepare(kSql);
    if (!left || !left->step()) return -1;
    return left->column_int(0);
  }

  static InferenceProfileRecord profile(std::string id, std::string name,
                                        std::string account = "111122223333") {
    return InferenceProfileRecord{std::move(account),
                                  std::move(id),
                                  std::move(name),
                                  "for tests",
                                  "plinth-small",
                                  "plinth-small",
                                  "",
                                  1000,
                                  1000,
                                  {{"team", "alpha"}, {"app", "billing"}}};
  }

  fs::path dir_;
  std::optional<pg::testing::TestDatabase> pg_;
  std::shared_ptr<pg::Pool> pool_;
  std::unique_ptr<Database> db_;
  std::unique_ptr<InferenceProfileStore> profiles_;
};

TEST_P(InferenceProfilesTest, CreatedProfileIsFoundByIdAndNameWithItsTagsAfterReopen) {
  ASSERT_TRUE(profiles_->create(profile("abc123def456", "billing-app"), 10));
  reopen();
  auto by_id = profiles_->get("111122223333", "abc123def456");
  ASSERT_TRUE(by_id) << by_id.error().message;
  EXPECT_EQ(by_id->name, "billing-app");
  EXPECT_EQ(by_id->model_id, "plinth-small");
  ASSERT_EQ(by_id->tags.size(), 2u);
  EXPECT_EQ(by_id->tags[0], (ProfileTag{"app", "billing"}));  // sorted by key
  auto by_name = profiles_->get_by_name("111122223333", "billing-app");
  ASSERT_TRUE(by_name);
  EXPECT_EQ(by_name->id, "abc123def456");
  // Another account does not see it.
  EXPECT_EQ(profiles_->get("999999999999", "abc123def456").error().code, ErrorCode::kNotFound);
}

TEST_P(InferenceProfilesTest, DuplicateNameIsRefused) {
  ASSERT_TRUE(profiles_->create(profile("aaaaaaaaaaaa", "same"), 10));
  auto again = profiles_->create(profile("bbbbbbbbbbbb", "same"), 10);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, ErrorCode::kAlreadyExists);
  // The same name in another account is fine.
  EXPECT_TRUE(profiles_->create(profile("bbbbbbbbbbbb", "same", "999999999999"), 10));
}

TEST_P(InferenceProfilesTest, ProfilesPerAccountBoundIsReached) {
  ASSERT_TRUE(profiles_->create(profile("p00000000001", "one"), 2));
  ASSERT_TRUE(profiles_->create(profile("p00000000002", "two"), 2));
  auto third = profiles_->create(profile("p00000000003", "three"), 2);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(profiles_->get("111122223333", "p00000000003").error().code, ErrorCode::kNotFound);
}

TEST_P(InferenceProfilesTest, ClientRequestTokenFindsTheEarlierProfile) {
  InferenceProfileRecord p = profile("tok000000001", "tokened");
  p.client_request_token = "token-1";
  ASSERT_TRUE(profiles_->create(p, 10));
  auto found = profiles_->find_by_token("111122223333", "token-1");
  ASSERT_TRUE(found && *found);
  EXPECT_EQ((*found)->id, "tok000000001");
  auto none = profiles_->find_by_token("111122223333", "token-2");
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST_P(InferenceProfilesTest, ListPagesInIdOrder) {
  for (std::string id : {"c00000000000", "a00000000000", "b00000000000"}) {
    ASSERT_TRUE(profiles_->create(profile(id, "name-" + id), 10));
  }
  auto first = profiles_->list("111122223333", "", 2);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, "a00000000000");
  EXPECT_EQ((*first)[1].id, "b00000000000");
  EXPECT_EQ((*first)[1].tags.size(), 2u);
  auto rest = profiles_->list("111122223333", (*first)[1].id, 2);
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ((*rest)[0].id, "c00000000000");
}

TEST_P(InferenceProfilesTest, TagsMergeUntagAndStopAtTheBound) {
  ASSERT_TRUE(profiles_->create(profile("t00000000000", "tags"), 10));
  ASSERT_TRUE(
      profiles_->tag("111122223333", "t00000000000", {{"team", "beta"}, {"env", "prod"}}, 3, 2000));
  auto tagged = profiles_->get("111122223333", "t00000000000");
  ASSERT_TRUE(tagged);
  EXPECT_EQ(tagged->tags,
            (std::vector<ProfileTag>{{"app", "billing"}, {"env", "prod"}, {"team", "beta"}}));
  EXPECT_EQ(tagged->updated_ms, 2000);
  // A fourth key would exceed a bound of 3: nothing is written.
  auto over =
      profiles_->tag("111122223333", "t00000000000", {{"cost", "x"}, {"env", "dev"}}, 3, 3000);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::kPayloadTooLarge);
  EXPECT_EQ(profiles_->get("111122223333", "t00000000000")->tags[1].value, "prod");
  ASSERT_TRUE(profiles_->untag("111122223333", "t00000000000", {"env", "unknown"}, 4000));
  EXPECT_EQ(profiles_->get("111122223333", "t00000000000")->tags.size(), 2u);
  EXPECT_EQ(profiles_->tag("111122223333", "nope00000000", {{"a", "b"}}, 3, 1).error().code,
            ErrorCode::kNotFound);
}

TEST_P(InferenceProfilesTest, DeleteRemovesTheProfileAndItsTags) {
  ASSERT_TRUE(profiles_->create(profile("d00000000000", "gone"), 10));
  ASSERT_TRUE(profiles_->remove("111122223333", "d00000000000"));
  EXPECT_EQ(profiles_->get("111122223333", "d00000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(profiles_->remove("111122223333", "d00000000000").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(stored_tags(), 0);
  // The name is free again.
  EXPECT_TRUE(profiles_->create(profile("e00000000000", "gone"), 10));
}

INSTANTIATE_TEST_SUITE_P(Backends, InferenceProfilesTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace plinth::store
