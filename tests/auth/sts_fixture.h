// The StsTest fixture: IAM, STS and the credential resolver over a real SQLite store in a temp
// dir, with a manual clock and seeded randomness (shared by the STS and API key tests).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "plinth/auth/iam.h"
#include "plinth/auth/sts.h"

namespace plinth::auth {
namespace test {
namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr const char* kAccount = "123456789012";
constexpr int64_t kNow = 1'764'000'000;

class StsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("plinth-sts-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    auto store = store::open_sqlite_store({dir_ / "plinth.db", random_->bytes(32), random_});
    ASSERT_TRUE(store.has_value()) << store.error().message;
    store_ = std::move(*store);
    codec_ = std::make_shared<SessionTokenCodec>(random_->bytes(32), random_);
    iam_ = std::make_unique<IamService>(store_->iam(), kAccount, random_, clock_);
    sts_ = std::make_unique<StsService>(store_->iam(), kAccount, codec_, clock_, random_);
    resolver_ =
        std::make_shared<StoreCredentialResolver>(root_, kAccount, store_->iam(), codec_, clock_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  Principal resolve_user(const std::string& name) {
    auto key = iam_->create_access_key(name);
    EXPECT_TRUE(key.has_value());
    return resolver_->resolve(key->access_key_id, std::nullopt)->principal;
  }

  RequestContext ctx() const { return RequestContext{"us-east-1", true, clock_->now(), ""}; }

  fs::path dir_;
  std::shared_ptr<Random> random_ = Random::seeded(11);
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  RootCredentials root_{"AKIAROOTROOTROOT0000", "rootsecretrootsecretrootsecretrootsecret"};
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<SessionTokenCodec> codec_;
  std::unique_ptr<IamService> iam_;
  std::unique_ptr<StsService> sts_;
  std::shared_ptr<StoreCredentialResolver> resolver_;
};

}  // namespace test
}  // namespace plinth::auth
