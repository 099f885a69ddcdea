// The default chain's links and their order, with IMDSv2 and the ECS container endpoint played by
// real HTTP servers on loopback; refresh before expiry; one refresh at a time; nothing secret
// logged.
#include <fmt/chrono.h>
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>

#include "plinth/aws/credentials.h"
#include "plinth/core/log.h"
#include "plinth/http/server.h"

namespace plinth::aws {
namespace {

namespace fs = std::filesystem;
constexpr int64_t kNow = 1'764'000'000;

std::string iso(int64_t unix_seconds) {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(unix_seconds)));
}

// A metadata service (IMDSv2 and the ECS container endpoint) on loopback.
class MetadataServer {
 public:
  MetadataServer() {
    auto started = http::Server::start(
        {}, [this](const http::Request& r, http::Exchange& x) { x.respond(handle(r)); });
    if (!started) throw std::runtime_error(started.error().message);
    server_ = std::move(*started);
  }
  ~MetadataServer() { server_->stop(); }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }
  uint16_t port() const { return server_->port(); }
  void stop() { server_->stop(); }

  std::atomic<int> credential_gets{0};
  std::atomic<int> requests{0};
  std::atomic<int> fail_status{0};  // answer credential GETs with this status
  std::atomic<int> slow_ms{0};      // delay on credential GETs
  std::atomic<int64_t> expires_at{kNow + 3600};
  std::mutex mutex;
  std::vector<std::string> seen;  // "METHOD target" in order

 private:
  http::Response handle(const http::Request& r) {
    ++requests;
    {
      std::lock_guard lock(mutex);
      seen.push_back(r.method + " " + r.target);
    }
    auto header = [&](const char* name) {
      const std::string* v = r.header(name);
      return v == nullptr ? std::string() : *v;
    };
    if (r.method == "PUT" && r.target == "/latest/api/token") {
      if (header("x-aws-ec2-metadata-token-ttl-seconds") != "21600") return {400, {}, "ttl"};
      return {200, {}, "imds-session-token"};
    }
    if (r.target.starts_with("/latest/meta-data/iam/security-credentials/")) {
      if (header("x-aws-ec2-metadata-token") != "imds-session-token") return {401, {}, ""};
      if (r.target == "/latest/meta-data/iam/security-credentials/") return {200, {}, "ec2-role\n"};
      if (r.target != "/latest/meta-data/iam/security-credentials/ec2-role") return {404, {}, ""};
      return credentials();
    }
    if (r.target == "/creds") {
      if (header("authorization") != "container-token-123") return {403, {}, ""};
      return credentials();
    }
    return {404, {}, ""};
  }
  http::Response credentials() {
    int n = ++credential_gets;
    if (slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(slow_ms.load()));
    if (fail_status != 0) return {fail_status.load(), {}, "{}"};
    return {200,
            {{"content-type", "application/json"}},
            fmt::format(R"({{"Code":"Success","AccessKeyId":"ASIAMETA{}","SecretAccessKey":)"
                        R"("meta-secret-{}","Token":"meta-token-{}","Expiration":"{}"}})",
                        n, n, n, iso(expires_at))};
  }
  std::unique_ptr<http::Server> server_;
};

class CredentialChainTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("plinth-aws-chain-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    env_["HOME"] = dir_.string();
    env_["AWS_CONFIG_FILE"] = (dir_ / "config").string();
    env_["AWS_SHARED_CREDENTIALS_FILE"] = (dir_ / "credentials").string();
    env_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds_.url();
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
  }
  ChainOptions options() {
    ChainOptions o;
    o.environment = [this](std::string_view name) -> std::optional<std::string> {
      auto it = env_.find(std::string(name));
      if (it == env_.end()) return std::nullopt;
      return it->second;
    };
    o.clock = clock_;
    return o;
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
  MetadataServer imds_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
};

TEST_F(CredentialChainTest, EnvironmentComesBeforeFilesAndMetadata) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  env_["AWS_SESSION_TOKEN"] = "env-token";
  write("credentials", "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=f\n");
  auto c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->session_token, "env-token");
  EXPECT_EQ(c->source, "environment");
  EXPECT_EQ(imds_.requests, 0);
}

TEST_F(CredentialChainTest, PartialEnvironmentIsSkippedForTheSharedFiles) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";  // no secret
  write("credentials", "[default]\naws_access_key_id=AKIAFILE\naws_secret_access_key=f\n");
  auto c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIAFILE");
  EXPECT_EQ(c->source, "profile default");
}

TEST_F(CredentialChainTest, AwsProfileSelectsAConfigFileProfileAndCredentialsFileOverrides) {
  env_["AWS_PROFILE"] = "dev";
  write("config",
        "[profile dev]\naws_access_key_id=AKIACONFIG\naws_secret_access_key=c\n"
        "aws_session_token=config-token\n");
  auto c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "AKIACONFIG");
  EXPECT_EQ(c->session_token, "config-token");
  write("credentials", "[dev]\naws_access_key_id=AKIACREDS\naws_secret_access_key=k\n");
  c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->access_key_id, "AKIACREDS");
}

TEST_F(CredentialChainTest, AnExplicitProfileIsUsedAloneAndMustExist) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "env-secret";
  write("credentials", "[ops]\naws_access_key_id=AKIAOPS\naws_secret_access_key=o\n");
  auto o = options();
  o.profile = "ops";
  auto c = default_credential_chain(o)->fetch();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->access_key_id, "AKIAOPS");
  o.profile = "missing";
  c = default_credential_chain(o)->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(c.error().message.find("no profile missing"), std::string::npos);
}

TEST_F(CredentialChainTest, RoleProfilesWithoutASourceOrInACycleAreErrors) {
  env_["AWS_PROFILE"] = "a";
  write("config",
        "[profile a]\nrole_arn=arn:aws:iam::1:role/a\nsource_profile=b\n"
        "[profile b]\nrole_arn=arn:aws:iam::1:role/b\nsource_profile=a\n"
        "[profile lone]\nrole_arn=arn:aws:iam::1:role/c\n");
  auto c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("cycle"), std::string::npos) << c.error().message;
  env_["AWS_PROFILE"] = "lone";
  c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("needs source_profile"), std::string::npos);
  EXPECT_EQ(imds_.requests, 0);  // a configured link that fails stops the chain
}

TEST_F(CredentialChainTest, ImdsV2TakesASessionTokenThenTheRoleThenItsCredentials) {
  auto c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAMETA1");
  EXPECT_EQ(c->session_token, "meta-token-1");
  EXPECT_EQ(c->source, "instance metadata");
  EXPECT_EQ(c->expiration,
            std::chrono::system_clock::time_point(std::chrono::seconds(kNow + 3600)));
  std::vector<std::string> expected = {"PUT /latest/api/token",
                                       "GET /latest/meta-data/iam/security-credentials/",
                                       "GET /latest/meta-data/iam/security-credentials/ec2-role"};
  EXPECT_EQ(imds_.seen, expected);
}

TEST_F(CredentialChainTest, DisabledOrUnreachableMetadataEndsTheChainWithNoCredentials) {
  env_["AWS_EC2_METADATA_DISABLED"] = "true";
  auto c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(imds_.requests, 0);
  env_.erase("AWS_EC2_METADATA_DISABLED");
  imds_.stop();
  c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kUnauthenticated);
  EXPECT_NE(c.error().message.find("no instance metadata service"), std::string::npos);
}

TEST_F(CredentialChainTest, AMetadataErrorIsReportedNotSkipped) {
  imds_.fail_status = 500;
  auto c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
}

TEST_F(CredentialChainTest, ContainerCredentialsComeBeforeImdsWithTheTokenFromItsFile) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = imds_.url() + "/creds";
  write("token", "container-token-123\n");
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = (dir_ / "token").string();
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ignored-when-the-file-is-set";
  auto c = default_credential_chain(options())->fetch();
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->source, "container");
  EXPECT_EQ(imds_.seen, std::vector<std::string>{"GET /creds"});
  write("token", "wrong-token");
  c = container_credentials(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kPermissionDenied);
}

TEST_F(CredentialChainTest, ContainerCredentialsOverPlainHttpOnlyToLoopbackOrEcsHosts) {
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://198.51.100.7/creds";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "container-token-123";
  auto c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kInvalidArgument);
  env_["AWS_CONTAINER_CREDENTIALS_FULL_URI"] =
      "http://127.0.0.1:" + std::to_string(imds_.port()) + "/creds";
  env_["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "bad\r\nx-injected: 1";
  c = default_credential_chain(options())->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_NE(c.error().message.find("line break"), std::string::npos);
}

TEST_F(CredentialChainTest, CachedUntilFiveMinutesBeforeExpiryThenRefreshed) {
  auto chain = default_credential_chain(options());
  ASSERT_EQ(chain->fetch()->access_key_id, "ASIAMETA1");
  clock_->set_unix_seconds(kNow + 3600 - 301);
  EXPECT_EQ(chain->fetch()->access_key_id, "ASIAMETA1");
  EXPECT_EQ(imds_.credential_gets, 1);
  imds_.expires_at = kNow + 7200;
  clock_->set_unix_seconds(kNow + 3600 - 299);
  EXPECT_EQ(chain->fetch()->access_key_id, "ASIAMETA2");
  EXPECT_EQ(chain->fetch()->access_key_id, "ASIAMETA2");
  EXPECT_EQ(imds_.credential_gets, 2);
}

TEST_F(CredentialChainTest, AFailedRefreshKeepsValidCredentialsUntilTheyExpire) {
  auto chain = default_credential_chain(options());
  ASSERT_TRUE(chain->fetch().has_value());
  imds_.fail_status = 503;
  clock_->set_unix_seconds(kNow + 3600 - 100);
  auto c = chain->fetch();
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->access_key_id, "ASIAMETA1");
  clock_->set_unix_seconds(kNow + 3600);
  c = chain->fetch();
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, ErrorCode::kUnavailable);
}

TEST_F(CredentialChainTest, ConcurrentCallersShareOneRefresh) {
  imds_.slow_ms = 200;
  auto chain = default_credential_chain(options());
  std::vector<std::thread> threads;
  std::vector<std::string> keys(8);
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = chain->fetch();
      keys[i] = c ? c->access_key_id : c.error().message;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(imds_.credential_gets, 1);
  for (const auto& key : keys) EXPECT_EQ(key, "ASIAMETA1");
}

TEST_F(CredentialChainTest, LogsNameTheAccessKeyButNeverTheSecretOrToken) {
  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>("capture", sink);
  logger->set_level(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  auto chain = default_credential_chain(options());
  ASSERT_TRUE(chain->fetch().has_value());
  imds_.fail_status = 500;
  clock_->set_unix_seconds(kNow + 3600 - 100);
  ASSERT_TRUE(chain->fetch().has_value());  // failed refresh, logged as a warning
  spdlog::set_default_logger(previous);
  std::string text = captured.str();
  EXPECT_NE(text.find("ASIAMETA1"), std::string::npos) << text;
  EXPECT_NE(text.find("refresh failed"), std::string::npos) << text;
  EXPECT_EQ(text.find("meta-secret"), std::string::npos) << text;
  EXPECT_EQ(text.find("meta-token"), std::string::npos) << text;
  EXPECT_EQ(text.find("imds-session-token"), std::string::npos) << text;
}

}  // namespace
}  // namespace plinth::aws
