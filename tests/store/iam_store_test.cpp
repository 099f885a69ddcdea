// IamStore on both backends (one parameterized suite): SQLite on a temp file and PostgreSQL in a
// fresh database on the test cluster.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <sstream>

#include "pg/test_database.h"
#include "plinth/core/encoding.h"
#include "plinth/pg/connection.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"

namespace plinth::store {
namespace {
namespace fs = std::filesystem;

class IamStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("plinth-iam-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    random_ = Random::seeded(7);
    key_ = random_->bytes(kSealKeyBytes);
    if (postgres()) {
      pg_.emplace();
      ASSERT_TRUE(pg_->ok()) << pg_->error();
    }
    auto store = open(key_);
    ASSERT_TRUE(store) << store.error().message;
    store_ = std::move(*store);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  bool postgres() const { return GetParam() == "postgresql"; }
  // Another Store object on the same data: a second replica, or a reopen after restart.
  Result<std::unique_ptr<Store>> open(const std::string& key) {
    if (postgres()) {
      return open_postgres_store({{pg_->url(), 4, std::chrono::milliseconds(5000)}, key, random_});
    }
    return open_sqlite_store({dir_ / "plinth.db", key, random_});
  }
  // Every byte the backend keeps: the SQLite files, or the PostgreSQL rows as text.
  std::string everything_stored() {
    std::string out;
    if (postgres()) {
      auto conn = pg::Connection::open(pg_->url());
      for (const char* table : {"iam_users", "iam_access_keys", "iam_service_credentials"}) {
        auto rows = (*conn)->exec(std::string("SELECT t::text FROM ") + table + " t");
        for (int i = 0; rows && i < rows->size(); ++i) out += rows->text(i, 0);
      }
      return out;
    }
    for (const auto& entry : fs::directory_iterator(dir_)) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream s;
      s << in.rdbuf();
      out += s.str();
    }
    return out;
  }

  static inline int counter_ = 0;
  fs::path dir_;
  std::optional<pg::testing::TestDatabase> pg_;
  std::shared_ptr<Random> random_;
  std::string key_;
  std::unique_ptr<Store> store_;
};

TEST_P(IamStoreTest, UsersRoundTripAndDuplicatesAreRejected) {
  IamStore& iam = store_->iam();
  UserRecord alice{"alice", "AIDAEXAMPLE1", "arn:aws:iam::000000000000:user/alice", 100};
  ASSERT_TRUE(iam.create_user(alice).has_value());
  auto dup = iam.create_user(alice);
  ASSERT_FALSE(dup.has_value());
  EXPECT_EQ(dup.error().code, ErrorCode::kAlreadyExists);
  auto loaded = iam.get_user("alice");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->user_id, "AIDAEXAMPLE1");
  EXPECT_EQ(loaded->arn, alice.arn);
  EXPECT_EQ(loaded->created_at, 100);
  EXPECT_EQ(iam.list_users()->size(), 1u);
  EXPECT_EQ(iam.get_user("bob").error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(iam.delete_user("alice").has_value());
  EXPECT_EQ(iam.delete_user("alice").error().code, ErrorCode::kNotFound);
}

TEST_P(IamStoreTest, NamesCompareWithoutCase) {
  IamStore& iam = store_->iam();
  ASSERT_TRUE(iam.create_user({"Alice", "AIDA1", "arn:aws:iam::0:user/Alice", 1}));
  EXPECT_EQ(iam.create_user({"ALICE", "AIDA2", "arn:aws:iam::0:user/ALICE", 1}).error().code,
            ErrorCode::kAlreadyExists);
  EXPECT_EQ(iam.get_user("alice")->name, "Alice");
  ASSERT_TRUE(iam.put_user_policy("aLiCe", {"p", "{}"}));  // the owner is found without case
  ASSERT_TRUE(iam.create_role({"App", "AROA1", "arn:aws:iam::0:role/App", "{}", "", 3600, 1}));
  EXPECT_TRUE(iam.get_role("app"));
}

TEST_P(IamStoreTest, AccessKeySecretsAreSealedAtRestAndOpenWithTheMasterKey) {
  IamStore& iam = store_->iam();
  ASSERT_TRUE(iam.create_user({"alice", "AIDA1", "arn:aws:iam::0:user/alice", 1}).has_value());
  const std::string secret = "SuperSecretAccessKeyValue0123456789ABCDE";
  ASSERT_TRUE(iam.create_access_key({"AKIAEXAMPLE0001", "alice", secret, "Active", 5}).has_value());
  auto key = iam.get_access_key("AKIAEXAMPLE0001");
  ASSERT_TRUE(key.has_value()) << key.error().message;
  EXPECT_EQ(key->secret_access_key, secret);
  EXPECT_EQ(key->user_name, "alice");
  auto listed = iam.list_access_keys("alice");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().secret_access_key.empty());
  EXPECT_EQ(iam.create_access_key({"AKIA2", "nobody", secret, "Active", 5}).error().code,
            ErrorCode::kNotFound);

  // Nothing stored holds the secret in plaintext, hex or base64.
  store_.reset();
  std::string everything = everything_stored();
  EXPECT_NE(everything.find("AKIAEXAMPLE0001"), std::string::npos);  // the id is not secret
  EXPECT_EQ(everything.find(secret), std::string::npos);
  EXPECT_EQ(everything.find(hex_encode(secret)), std::string::npos);
  EXPECT_EQ(everything.find(base64_encode(secret)), std::string::npos);

  // Another master key cannot open it.
  auto other = open(std::string(32, 'k'));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ((*other)->iam().get_access_key("AKIAEXAMPLE0001").error().code,
            ErrorCode::kCorruptData);
  // The right one still can, after reopening.
  auto reopened = open(key_);
  EXPECT_EQ((*reopened)->iam().get_access_key("AKIAEXAMPLE0001")->secret_access_key, secret);
  ASSERT_TRUE((*reopened)->iam().delete_access_key("alice", "AKIAEXAMPLE0001"));
  EXPECT_EQ((*reopened)->iam().delete_access_key("alice", "AKIAEXAMPLE0001").error().code,
            ErrorCode::kNotFound);
}

TEST_P(IamStoreTest, RolesAndInlinePoliciesRoundTripAndCascade) {
  IamStore& iam = store_->iam();
  RoleRecord role{"app", "AROA1", "arn:aws:iam::0:role/app", R"({"Statement":[]})", "d", 7200, 9};
  ASSERT_TRUE(iam.create_role(role).has_value());
  EXPECT_EQ(iam.create_role(role).error().code, ErrorCode::kAlreadyExists);
  auto loaded = iam.get_role("app");
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->assume_role_policy, role.assume_role_policy);
  EXPECT_EQ(loaded->max_session_duration, 7200);
  ASSERT_TRUE(iam.put_role_policy("app", {"p1", "{\"a\":1}"}).has_value());
  ASSERT_TRUE(iam.put_role_policy("app", {"p1", "{\"a\":2}"}).has_value());  // replaces
  ASSERT_TRUE(iam.put_role_policy("app", {"p2", "{}"}).has_value());
  EXPECT_EQ(iam.get_role_policy("app", "p1")->document, "{\"a\":2}");
  EXPECT_EQ(iam.list_role_policies("app")->size(), 2u);
  EXPECT_EQ(iam.put_role_policy("nope", {"p", "{}"}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(iam.delete_role_policy("app", "p2").has_value());
  EXPECT_EQ(iam.delete_role_policy("app", "p2").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(iam.list_roles()->size(), 1u);
  ASSERT_TRUE(iam.delete_role("app").has_value());
  EXPECT_EQ(iam.get_role_policy("app", "p1").error().code, ErrorCode::kNotFound);

  ASSERT_TRUE(iam.create_user({"u", "AIDA2", "arn:aws:iam::0:user/u", 1}).has_value());
  ASSERT_TRUE(iam.put_user_policy("u", {"up", "{}"}).has_value());
  EXPECT_EQ(iam.list_user_policies("u")->size(), 1u);
  ASSERT_TRUE(iam.delete_user("u").has_value());
  ASSERT_TRUE(iam.create_user({"u", "AIDA3", "arn:aws:iam::0:user/u", 1}).has_value());
  EXPECT_TRUE(iam.list_user_policies("u")->empty());
}

TEST_P(IamStoreTest, ServiceCredentialsKeepSealedSecretsAndFollowTheirUser) {
  IamStore& iam = store_->iam();
  ASSERT_TRUE(iam.create_user({"alice", "AIDA1", "arn:aws:iam::0:user/alice", 1}));
  ServiceCredentialRecord c{"ACCA1",
                            "alice",
                            "bedrock.amazonaws.com",
                            "BedrockAPIKey-a-at-0",
                            "sekrit-value-0123456789",
                            "Active",
                            10,
                            0};
  ASSERT_TRUE(iam.create_service_credential(c));
  EXPECT_EQ(iam.create_service_credential(c).error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(iam.get_service_credential("BedrockAPIKey-a-at-0")->secret, c.secret);
  ASSERT_TRUE(iam.set_service_credential_status("alice", "ACCA1", "Inactive"));
  ASSERT_TRUE(iam.set_service_credential_secret("alice", "ACCA1", "rotated-secret-987654321"));
  auto rotated = iam.get_service_credential("BedrockAPIKey-a-at-0");
  EXPECT_EQ(rotated->secret, "rotated-secret-987654321");
  EXPECT_EQ(rotated->status, "Inactive");
  auto listed = iam.list_service_credentials("alice", "");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().secret.empty());
  EXPECT_TRUE(iam.list_service_credentials("alice", "other.amazonaws.com")->empty());
  EXPECT_EQ(iam.set_service_credential_status("alice", "ACCA9", "Active").error().code,
            ErrorCode::kNotFound);
  EXPECT_EQ(everything_stored().find("rotated-secret-987654321"), std::string::npos);
  ASSERT_TRUE(iam.delete_user("alice"));
  EXPECT_EQ(iam.get_service_credential("BedrockAPIKey-a-at-0").error().code, ErrorCode::kNotFound);
}

TEST_P(IamStoreTest, OidcProvidersRoundTripTheirLists) {
  IamStore& iam = store_->iam();
  OidcProviderRecord p{"arn:aws:iam::0:oidc-provider/issuer.example",
                       "https://issuer.example",
                       {"aud-1", "aud-2"},
                       {"abcdef"},
                       5};
  ASSERT_TRUE(iam.create_oidc_provider(p));
  EXPECT_EQ(iam.create_oidc_provider(p).error().code, ErrorCode::kAlreadyExists);
  auto loaded = iam.get_oidc_provider(p.arn);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->client_ids, p.client_ids);
  EXPECT_EQ(loaded->thumbprints, p.thumbprints);
  EXPECT_EQ(iam.list_oidc_providers()->size(), 1u);
  ASSERT_TRUE(iam.delete_oidc_provider(p.arn));
  EXPECT_EQ(iam.delete_oidc_provider(p.arn).error().code, ErrorCode::kNotFound);
}

TEST_P(IamStoreTest, WriteGenerationGrowsWithEveryWrite) {
  IamStore& iam = store_->iam();
  uint64_t before = iam.write_generation();
  ASSERT_TRUE(iam.create_user({"u", "AIDA1", "arn:aws:iam::0:user/u", 1}));
  uint64_t after_create = iam.write_generation();
  EXPECT_GT(after_create, before);
  ASSERT_TRUE(iam.put_user_policy("u", {"p", "{}"}));
  EXPECT_GT(iam.write_generation(), after_create);
}

// Replicas: a write through one Store object is seen by another one's write_generation() at once
// (the credential resolver drops its cached identities then). SQLite has one process, so this
// holds for PostgreSQL only; SQLite's two objects on one file would need the TTL.
TEST_P(IamStoreTest, AnotherReplicaSeesTheGenerationMoveAtOnce) {
  if (!postgres()) {
    EXPECT_EQ(GetParam(), "sqlite");  // one process per SQLite file: nothing to share
    return;
  }
  auto replica = open(key_);
  ASSERT_TRUE(replica);
  uint64_t seen = (*replica)->iam().write_generation();
  ASSERT_TRUE(store_->iam().create_user({"u", "AIDA1", "arn:aws:iam::0:user/u", 1}));
  EXPECT_GT((*replica)->iam().write_generation(), seen);
  EXPECT_TRUE((*replica)->iam().get_user("u"));
}

TEST_P(IamStoreTest, ReplicasStartingTogetherMigrateOnce) {
  std::vector<std::thread> starters;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      if (!open(key_)) failures++;
    });
  }
  for (auto& t : starters) t.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_TRUE(store_->iam().create_user({"u", "AIDA1", "arn:aws:iam::0:user/u", 1}));
}

INSTANTIATE_TEST_SUITE_P(Backends, IamStoreTest, ::testing::Values("sqlite", "postgresql"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace plinth::store
