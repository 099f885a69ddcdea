// STS and IAM services over a real SQLite store: session tokens (round trip, tamper, expiry,
// wrong key), AssumeRole trust checks, bearer tokens, root credentials, end-to-end SigV4.
#include "plinth/auth/sts.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"
#include "plinth/core/encoding.h"
#include "plinth/store/sealed_box.h"
#include "sts_fixture.h"

namespace plinth::auth {
namespace {
using namespace test;
using std::chrono::seconds;
namespace fs = std::filesystem;

TEST_F(StsTest, SessionTokenRoundTripsAndResolvesToTheCaller) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  ASSERT_TRUE(iam_->put_user_policy(
      "alice", "p", R"({"Statement":{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}})"));
  Principal alice = resolve_user("alice");
  auto creds = sts_->get_session_token(alice, std::nullopt);
  ASSERT_TRUE(creds.has_value()) << creds.error().message;
  EXPECT_TRUE(creds->access_key_id.starts_with("ASIA"));
  EXPECT_EQ(creds->expiration, clock_->now() + seconds(43200));
  auto resolved = resolver_->resolve(creds->access_key_id, creds->session_token);
  ASSERT_TRUE(resolved.has_value()) << resolved.error().message;
  EXPECT_EQ(resolved->secret_access_key, creds->secret_access_key);
  EXPECT_EQ(resolved->principal.kind, Principal::Kind::kFederatedSession);
  EXPECT_EQ(resolved->principal.arn, "arn:aws:iam::123456789012:user/alice");
  ASSERT_EQ(resolved->principal.identity_policies.size(), 1u);  // re-read from the store
  EXPECT_EQ(authorize(resolved->principal, "bedrock:Converse", "*", ctx()), Decision::kAllow);
  // Sessions cannot mint sessions.
  EXPECT_EQ(sts_->get_session_token(resolved->principal, std::nullopt).error().code,
            ErrorCode::kPermissionDenied);
}

TEST_F(StsTest, SessionTokenTamperWrongKeyIdWrongServerKeyAndExpiryAreRejected) {
  Principal root = resolver_->root_principal();
  auto creds = sts_->get_session_token(root, 900);
  ASSERT_TRUE(creds.has_value());
  std::string token = creds->session_token;
  for (size_t i = 0; i < token.size(); ++i) {
    std::string changed = token;
    changed[i] = changed[i] == 'A' ? 'B' : 'A';
    auto r = resolver_->resolve(creds->access_key_id, changed);
    EXPECT_FALSE(r.has_value()) << i;
  }
  EXPECT_EQ(resolver_->resolve("ASIAOTHERKEY00000000", token).error().code,
            ErrorCode::kUnknownAccessKey);
  SessionTokenCodec other_server(random_->bytes(32), random_);
  EXPECT_EQ(other_server.decode_session(token, creds->access_key_id, clock_->now()).error().code,
            ErrorCode::kUnknownAccessKey);
  // Another replica with the same key accepts it.
  SessionTokenCodec replica(*store::load_or_create_key_file(dir_ / "session.key", *random_),
                            random_);
  SessionTokenCodec replica2(*store::load_or_create_key_file(dir_ / "session.key", *random_),
                             random_);
  Principal p = root;
  p.access_key_id = "ASIAX";
  p.expires_at = clock_->now() + seconds(900);
  EXPECT_TRUE(replica2.decode_session(replica.encode_session(p, "s"), "ASIAX", clock_->now()));

  clock_->set_unix_seconds(kNow + 899);
  EXPECT_TRUE(resolver_->resolve(creds->access_key_id, token).has_value());
  clock_->set_unix_seconds(kNow + 900);
  EXPECT_EQ(resolver_->resolve(creds->access_key_id, token).error().code, ErrorCode::kExpiredToken);
}

TEST_F(StsTest, GetSessionTokenDurationBounds) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  Principal alice = resolve_user("alice");
  EXPECT_EQ(sts_->get_session_token(alice, 899).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(sts_->get_session_token(alice, 129601).error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(sts_->get_session_token(alice, 129600).has_value());
  EXPECT_EQ(sts_->get_session_token(resolver_->root_principal(), 7200).error().code,
            ErrorCode::kInvalidArgument);
}

constexpr const char* kTrustAlice =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]})";

TEST_F(StsTest, AssumeRoleHonoursTheTrustPolicyAndCarriesTheSessionPolicy) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  ASSERT_TRUE(iam_->create_user("bob").has_value());
  ASSERT_TRUE(iam_->create_role("app", kTrustAlice, "", 7200).has_value());
  ASSERT_TRUE(iam_->put_role_policy(
      "app", "models", R"({"Statement":{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}})"));
  Principal alice = resolve_user("alice");
  Principal bob = resolve_user("bob");
  std::string role_arn = "arn:aws:iam::123456789012:role/app";

  auto refused = sts_->assume_role(bob, {role_arn, "s1", std::nullopt, std::nullopt}, ctx());
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(sts_->assume_role(alice, {"arn:aws:iam::123456789012:role/none", "s1", {}, {}}, ctx())
                .error()
                .code,
            ErrorCode::kPermissionDenied);
  EXPECT_EQ(sts_->assume_role(alice, {role_arn, "x", {}, {}}, ctx()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(sts_->assume_role(alice, {role_arn, "s1", 7201, {}}, ctx()).error().code,
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(sts_->assume_role(alice, {role_arn, "s1", {}, std::string("{bad")}, ctx()).error().code,
            ErrorCode::kInvalidArgument);

  std::string narrow =
      R"({"Statement":{"Effect":"Allow","Action":"bedrock:Converse","Resource":"*"}})";
  auto assumed = sts_->assume_role(alice, {role_arn, "s1", 7200, narrow}, ctx());
  ASSERT_TRUE(assumed.has_value()) << assumed.error().message;
  EXPECT_EQ(assumed->assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/app/s1");
  EXPECT_TRUE(assumed->assumed_role_id.starts_with("AROA"));
  EXPECT_TRUE(assumed->assumed_role_id.ends_with(":s1"));
  EXPECT_EQ(assumed->credentials.expiration, clock_->now() + seconds(7200));
  auto session =
      resolver_->resolve(assumed->credentials.access_key_id, assumed->credentials.session_token);
  ASSERT_TRUE(session.has_value());
  const Principal& p = session->principal;
  EXPECT_EQ(p.kind, Principal::Kind::kAssumedRole);
  EXPECT_EQ(p.role_arn, role_arn);
  EXPECT_EQ(authorize(p, "bedrock:Converse", "*", ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(p, "bedrock:InvokeModel", "*", ctx()), Decision::kImplicitDeny);

  // Deleting the role revokes its sessions at once.
  ASSERT_TRUE(iam_->delete_role_policy("app", "models"));
  ASSERT_TRUE(iam_->delete_role("app"));
  EXPECT_EQ(
      resolver_->resolve(assumed->credentials.access_key_id, assumed->credentials.session_token)
          .error()
          .code,
      ErrorCode::kUnknownAccessKey);
}

TEST_F(StsTest, BearerTokensAreShortLivedSelfVerifyingAndNotSessionTokens) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  Principal alice = resolve_user("alice");
  EXPECT_EQ(sts_->mint_bearer_token(alice, 12 * 3600 + 1).error().code,
            ErrorCode::kInvalidArgument);
  auto token = sts_->mint_bearer_token(alice, 1800);
  ASSERT_TRUE(token.has_value());
  EXPECT_TRUE(token->token.starts_with("plinth-bt-"));
  auto verified = resolver_->verify_bearer(token->token);
  ASSERT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(verified->arn, alice.arn);
  std::string forged = token->token;
  forged[forged.size() / 2] = forged[forged.size() / 2] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(resolver_->verify_bearer(forged).has_value());
  auto session = sts_->get_session_token(alice, 900);
  EXPECT_FALSE(resolver_->verify_bearer("plinth-bt-" + session->session_token).has_value());
  clock_->set_unix_seconds(kNow + 1800);
  EXPECT_EQ(resolver_->verify_bearer(token->token).error().code, ErrorCode::kExpiredToken);
  // Never outlives the session that minted it.
  clock_->set_unix_seconds(kNow);
  Principal short_session = alice;
  short_session.expires_at = clock_->now() + seconds(600);
  EXPECT_EQ(sts_->mint_bearer_token(short_session, 3600)->expiration, short_session.expires_at);
}

TEST_F(StsTest, EndToEndSignedRequestWithTemporaryCredentials) {
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  Principal alice = resolve_user("alice");
  auto creds = sts_->get_session_token(alice, 900);
  Authenticator auth(resolver_, clock_, resolver_);
  SignableRequest req{"POST", "/model/x/converse", "", {{"host", "localhost"}}, "{}"};
  SignerOptions options;
  options.region = "us-east-1";
  options.service = "bedrock";
  options.time = clock_->now();
  auto signed_req = sign_request(
      req, {creds->access_key_id, creds->secret_access_key, creds->session_token}, options);
  auto principal = auth.authenticate(signed_req.request, "bedrock");
  ASSERT_TRUE(principal.has_value()) << principal.error().message;
  EXPECT_EQ(principal->arn, alice.arn);
  auto wrong_secret =
      sign_request(req, {creds->access_key_id, "nope", creds->session_token}, options);
  EXPECT_EQ(auth.authenticate(wrong_secret.request, "bedrock").error().code,
            ErrorCode::kInvalidSignature);
}

TEST_F(StsTest, IamServiceValidatesNamesPoliciesAndDeleteConflicts) {
  EXPECT_EQ(iam_->create_user("bad name").error().code, ErrorCode::kInvalidArgument);
  ASSERT_TRUE(iam_->create_user("alice").has_value());
  EXPECT_EQ(iam_->create_user("alice").error().code, ErrorCode::kAlreadyExists);
  auto malformed = iam_->put_user_policy("alice", "p", "{not json");
  ASSERT_FALSE(malformed.has_value());
  EXPECT_TRUE(malformed.error().message.starts_with(kMalformedPolicyPrefix));
  EXPECT_EQ(iam_->create_role("r", "[]").error().code, ErrorCode::kInvalidArgument);
  auto key = iam_->create_access_key("alice");
  ASSERT_TRUE(key.has_value());
  ASSERT_TRUE(iam_->create_access_key("alice").has_value());
  EXPECT_EQ(iam_->create_access_key("alice").error().code, ErrorCode::kThrottled);
  EXPECT_EQ(iam_->delete_user("alice").error().code, ErrorCode::kConflict);
  EXPECT_EQ(iam_->create_access_key("ghost").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(iam_->get_role_policy("ghost", "p").error().code, ErrorCode::kNotFound);
}

TEST(RootCredentials, GeneratedOnceWithMode0600OrTakenFromTheEnvironment) {
  fs::path dir = fs::temp_directory_path() / ("plinth-root-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  ::unsetenv("PLINTH_ROOT_ACCESS_KEY_ID");
  ::unsetenv("PLINTH_ROOT_SECRET_ACCESS_KEY");
  auto random = Random::seeded(5);
  auto first = ensure_root_credentials(dir, *random);
  ASSERT_TRUE(first.has_value()) << first.error().message;
  EXPECT_TRUE(first->access_key_id.starts_with("AKIA"));
  EXPECT_EQ(first->secret_access_key.size(), 40u);
  struct stat st {};
  ASSERT_EQ(::stat((dir / "root-credentials.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto second = ensure_root_credentials(dir, *random);
  EXPECT_EQ(second->access_key_id, first->access_key_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);
  ::setenv("PLINTH_ROOT_ACCESS_KEY_ID", "AKIAENV", 1);
  ::setenv("PLINTH_ROOT_SECRET_ACCESS_KEY", "envsecret", 1);
  auto from_env = ensure_root_credentials(dir, *random);
  EXPECT_EQ(from_env->access_key_id, "AKIAENV");
  ::unsetenv("PLINTH_ROOT_ACCESS_KEY_ID");
  ::unsetenv("PLINTH_ROOT_SECRET_ACCESS_KEY");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace plinth::auth

namespace plinth::auth {
namespace {
using namespace test;

TEST_F(StsTest, TaskRoleCredentialsAreOneHourSessionsOfTheNamedRole) {
  EXPECT_EQ(sts_->task_role_credentials("app").error().code, ErrorCode::kNotFound);
  // No trust policy applies: the server's operator named the role.
  ASSERT_TRUE(iam_->create_role("app", R"({"Statement":[]})").has_value());
  auto issued = sts_->task_role_credentials("app");
  ASSERT_TRUE(issued.has_value()) << issued.error().message;
  EXPECT_EQ(issued->credentials.expiration, clock_->now() + std::chrono::hours(1));
  EXPECT_EQ(issued->assumed_role_arn,
            "arn:aws:sts::123456789012:assumed-role/app/" + std::string(kTaskRoleSessionName));
  auto resolved =
      resolver_->resolve(issued->credentials.access_key_id, issued->credentials.session_token);
  ASSERT_TRUE(resolved.has_value());
  EXPECT_EQ(resolved->principal.role_arn, "arn:aws:iam::123456789012:role/app");
}

}  // namespace
}  // namespace plinth::auth
