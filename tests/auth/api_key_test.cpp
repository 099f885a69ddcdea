// Bedrock API keys: short-term (presigned request) and long-term (service-specific credential)
// keys verified through the Authenticator and the store-backed resolver.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "plinth/auth/bedrock_api_key.h"
#include "plinth/auth/policy.h"
#include "plinth/core/encoding.h"
#include "sts_fixture.h"

namespace plinth::auth {
namespace {
using namespace test;

// What @aws/bedrock-token-generator builds: POST https://bedrock.amazonaws.com/?Action=…,
// presigned for service "bedrock", then "bedrock-api-key-" + base64(url without scheme).
std::string short_term_key(const SigningCredentials& creds, std::string_view region,
                           std::chrono::system_clock::time_point time,
                           std::chrono::seconds expires = std::chrono::hours(12)) {
  SignableRequest req{
      "POST", "/", "Action=CallWithBearerToken", {{"host", "bedrock.amazonaws.com"}}, ""};
  SignerOptions options;
  options.region = std::string(region);
  options.service = "bedrock";
  options.time = time;
  options.expires = expires;
  auto presigned = presign_request(req, creds, options);
  return std::string(kShortTermApiKeyPrefix) +
         base64_encode("bedrock.amazonaws.com/?" + presigned.request.raw_query + "&Version=1");
}

class ApiKeyTest : public StsTest {
 protected:
  Authenticator authenticator() { return Authenticator(resolver_, clock_, resolver_); }
  SigningCredentials user_key(const std::string& name) {
    EXPECT_TRUE(iam_->create_user(name).has_value());
    auto key = iam_->create_access_key(name);
    return {key->access_key_id, key->secret_access_key, ""};
  }
};

TEST_F(ApiKeyTest, ShortTermKeyActsAsItsSignerUntilItExpires) {
  auto creds = user_key("alice");
  std::string key = short_term_key(creds, "us-east-1", clock_->now(), seconds(3600));
  auto principal = authenticator().authenticate_bearer(key, "us-east-1");
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->arn, "arn:aws:iam::123456789012:user/alice");
  EXPECT_EQ(principal->expires_at, clock_->now() + seconds(3600));
  clock_->set_unix_seconds(kNow + 3601);
  EXPECT_EQ(authenticator().authenticate_bearer(key, "us-east-1").error().code,
            ErrorCode::kExpiredToken);
}

TEST_F(ApiKeyTest, ShortTermKeyIsRefusedInAnotherRegionOrBeyondTwelveHours) {
  auto creds = user_key("alice");
  auto other_region = short_term_key(creds, "eu-west-1", clock_->now());
  EXPECT_EQ(authenticator().authenticate_bearer(other_region, "us-east-1").error().code,
            ErrorCode::kUnauthenticated);
  auto too_long = short_term_key(creds, "us-east-1", clock_->now(), seconds(43201));
  EXPECT_EQ(authenticator().authenticate_bearer(too_long, "us-east-1").error().code,
            ErrorCode::kUnauthenticated);
}

TEST_F(ApiKeyTest, ShortTermKeyWithAWrongSecretOrTamperedQueryIsRefused) {
  auto creds = user_key("alice");
  SigningCredentials wrong = creds;
  wrong.secret_access_key = "not-the-secret";
  EXPECT_EQ(authenticator()
                .authenticate_bearer(short_term_key(wrong, "us-east-1", clock_->now()), "us-east-1")
                .error()
                .code,
            ErrorCode::kInvalidSignature);
  for (std::string_view bad :
       {"bedrock-api-key-", "bedrock-api-key-!!!", "bedrock-api-key-aGVsbG8=",
        // the right host but another action
        "bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29tLz9BY3Rpb249T3RoZXImVmVyc2lvbj0x"}) {
    EXPECT_EQ(authenticator().authenticate_bearer(bad, "us-east-1").error().code,
              ErrorCode::kUnauthenticated)
        << bad;
  }
  EXPECT_EQ(authenticator()
                .authenticate_bearer(std::string(kMaxBearerTokenBytes + 1, 'a'), "us-east-1")
                .error()
                .code,
            ErrorCode::kUnauthenticated);
}

TEST_F(ApiKeyTest, ShortTermKeyNeverOutlivesTheSessionThatSignedIt) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  Principal alice = resolve_user("alice");
  auto session = sts_->get_session_token(alice, 900);
  ASSERT_TRUE(session.has_value());
  auto key =
      short_term_key({session->access_key_id, session->secret_access_key, session->session_token},
                     "us-east-1", clock_->now());
  auto principal = authenticator().authenticate_bearer(key, "us-east-1");
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->expires_at, session->expiration);
  clock_->set_unix_seconds(kNow + 901);
  EXPECT_EQ(authenticator().authenticate_bearer(key, "us-east-1").error().code,
            ErrorCode::kExpiredToken);
}

TEST_F(ApiKeyTest, LongTermKeyLifecycle) {
  ASSERT_TRUE(iam_->create_user("bob").has_value());
  ASSERT_TRUE(iam_->put_user_policy(
      "bob", "p", R"({"Statement":{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}})"));
  EXPECT_EQ(
      iam_->create_service_specific_credential("bob", "codecommit.amazonaws.com", {}).error().code,
      ErrorCode::kInvalidArgument);
  auto created = iam_->create_service_specific_credential("bob", "bedrock.amazonaws.com", 1);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  const std::string key = created->secret;
  EXPECT_TRUE(key.starts_with("ABSK"));
  auto principal = authenticator().authenticate_bearer(key, "us-east-1");
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->arn, "arn:aws:iam::123456789012:user/bob");
  EXPECT_EQ(authorize(*principal, "bedrock:InvokeModel", "*", ctx()), Decision::kAllow);

  // Stored sealed: the secret part is in no database file.
  auto secret_part = decode_long_term_api_key(key)->secret;
  for (const char* file : {"plinth.db", "plinth.db-wal"}) {
    std::ifstream in(dir_ / file, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(secret_part), std::string::npos) << file;
  }

  // The listing never carries the secret.
  auto listed = iam_->list_service_specific_credentials("bob", "");
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->front().secret.empty());

  // Inactive, then active again.
  ASSERT_TRUE(iam_->update_service_specific_credential("bob", created->credential_id, "Inactive"));
  EXPECT_EQ(authenticator().authenticate_bearer(key, "").error().code, ErrorCode::kUnauthenticated);
  ASSERT_TRUE(iam_->update_service_specific_credential("bob", created->credential_id, "Active"));
  EXPECT_TRUE(authenticator().authenticate_bearer(key, "").has_value());

  // Reset: the old key stops working, the new one works.
  auto reset = iam_->reset_service_specific_credential("bob", created->credential_id);
  ASSERT_TRUE(reset.has_value());
  EXPECT_NE(reset->secret, key);
  EXPECT_FALSE(authenticator().authenticate_bearer(key, "").has_value());
  EXPECT_TRUE(authenticator().authenticate_bearer(reset->secret, "").has_value());

  // A forged secret for a real alias is refused.
  auto decoded = decode_long_term_api_key(reset->secret);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_FALSE(authenticator()
                   .authenticate_bearer(encode_long_term_api_key(decoded->alias, "guess"), "")
                   .has_value());

  // Expiry after CredentialAgeDays.
  clock_->set_unix_seconds(kNow + 86400);
  EXPECT_EQ(authenticator().authenticate_bearer(reset->secret, "").error().code,
            ErrorCode::kExpiredToken);

  // At most two per user and service; deletion frees a slot.
  ASSERT_TRUE(iam_->create_service_specific_credential("bob", "bedrock.amazonaws.com", {}));
  EXPECT_EQ(
      iam_->create_service_specific_credential("bob", "bedrock.amazonaws.com", {}).error().code,
      ErrorCode::kThrottled);
  ASSERT_TRUE(iam_->delete_service_specific_credential("bob", created->credential_id));
  EXPECT_EQ(iam_->delete_service_specific_credential("bob", created->credential_id).error().code,
            ErrorCode::kNotFound);
  EXPECT_FALSE(authenticator().authenticate_bearer(reset->secret, "").has_value());
  EXPECT_TRUE(iam_->create_service_specific_credential("bob", "bedrock.amazonaws.com", {}));
}

}  // namespace
}  // namespace plinth::auth
