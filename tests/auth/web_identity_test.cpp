// JWT verification (RS256, ES256; none, HS256, wrong key, tampered refused), JWKS bounds, and
// AssumeRoleWithWebIdentity over a real SQLite store with a recorded set of tokens made by jose.
#include "plinth/auth/web_identity.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "plinth/auth/policy.h"
#include "sts_fixture.h"

namespace plinth::auth {
namespace {
using namespace test;
namespace json = boost::json;

json::object vectors() {
  std::ifstream in(fs::path(PLINTH_TEST_DATA_DIR) / "jwt" / "vectors.json");
  std::stringstream buffer;
  buffer << in.rdbuf();
  return json::parse(buffer.str()).as_object();
}

std::string token(const char* name) {
  return std::string(vectors()["tokens"].as_object()[name].as_string());
}

std::string jwks_text() { return json::serialize(vectors()["jwks"]); }

TEST(Jwt, Rs256AndEs256VerifyAgainstTheKeySet) {
  auto keys = JsonWebKeySet::parse(jwks_text());
  ASSERT_TRUE(keys.has_value()) << keys.error().message;
  EXPECT_EQ(keys->size(), 2u);
  for (const char* name : {"rs256", "es256"}) {
    auto claims = verify_jwt(token(name), *keys);
    ASSERT_TRUE(claims.has_value()) << name << ": " << claims.error().message;
    EXPECT_EQ(claims->iss, "https://issuer.example");
    EXPECT_EQ(claims->sub, "repo:acme/app:ref:refs/heads/main");
    ASSERT_EQ(claims->aud.size(), 1u);
    EXPECT_EQ(claims->aud[0], "sts.amazonaws.com");
    EXPECT_EQ(*claims->exp - *claims->iat, 3600);
  }
}

TEST(Jwt, NoneHs256WrongKeyAndTamperedTokensAreRefused) {
  auto keys = JsonWebKeySet::parse(jwks_text());
  ASSERT_TRUE(keys.has_value());
  EXPECT_EQ(verify_jwt(token("none"), *keys).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(verify_jwt(token("hs256"), *keys).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(verify_jwt(token("wrong_key"), *keys).error().code, ErrorCode::kInvalidSignature);
  EXPECT_EQ(verify_jwt(token("tampered"), *keys).error().code, ErrorCode::kInvalidSignature);
  EXPECT_FALSE(verify_jwt("a.b", *keys).has_value());
  EXPECT_FALSE(verify_jwt(std::string(kMaxJwtBytes + 1, 'a'), *keys).has_value());
}

TEST(Jwt, KeySetBoundsAreEnforced) {
  EXPECT_FALSE(JsonWebKeySet::parse(std::string(kMaxJwksBytes + 1, ' ')).has_value());
  EXPECT_FALSE(JsonWebKeySet::parse(R"({"nokeys":[]})").has_value());
  std::string many = R"({"keys":[)";
  for (size_t i = 0; i <= kMaxJwksKeys; ++i) many += std::string(i ? "," : "") + "{}";
  EXPECT_FALSE(JsonWebKeySet::parse(many + "]}").has_value());
  // A 512-bit RSA key is not accepted (too weak), nor an EC key on another curve.
  auto weak = JsonWebKeySet::parse(
      R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})");
  ASSERT_TRUE(weak.has_value());
  EXPECT_EQ(weak->size(), 0u);
}

class FixedDocuments final : public DocumentFetcher {
 public:
  explicit FixedDocuments(std::string jwks) : jwks_(std::move(jwks)) {}
  Result<std::string> fetch(const std::string& url) const override {
    ++fetches;
    if (url == "https://issuer.example/jwks") return jwks_;
    return fail(ErrorCode::kIo, "no such document");
  }
  mutable int fetches = 0;

 private:
  std::string jwks_;
};

class WebIdentityTest : public StsTest {
 protected:
  void SetUp() override {
    StsTest::SetUp();
    clock_->set_unix_seconds(vectors()["iat"].as_int64() + 10);
    documents_ = std::make_shared<FixedDocuments>(jwks_text());
    OidcProviderConfig provider{
        "https://issuer.example", {"sts.amazonaws.com"}, "https://issuer.example/jwks", {}};
    service_ = std::make_unique<WebIdentityService>(store_->iam(), kAccount, std::vector{provider},
                                                    documents_, *sts_, clock_);
    std::string trust = R"({"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity",
      "Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/issuer.example"},
      "Condition":{"StringEquals":{"issuer.example:aud":"sts.amazonaws.com"},
                   "StringLike":{"issuer.example:sub":"repo:acme/app:*"}}}]})";
    ASSERT_TRUE(iam_->create_role("ci", trust).has_value());
  }
  Result<AssumeRoleWithWebIdentityResult> assume(const std::string& jwt,
                                                 const std::string& role = "ci") {
    return service_->assume_role_with_web_identity(
        {"arn:aws:iam::123456789012:role/" + role, "ci-run", jwt, std::nullopt, std::nullopt});
  }
  std::shared_ptr<FixedDocuments> documents_;
  std::unique_ptr<WebIdentityService> service_;
};

TEST_F(WebIdentityTest, ValidTokenGetsTheRoleAndTheKeysAreCached) {
  for (const char* name : {"rs256", "es256"}) {
    auto result = assume(token(name));
    ASSERT_TRUE(result.has_value()) << name << ": " << result.error().message;
    EXPECT_EQ(result->subject, "repo:acme/app:ref:refs/heads/main");
    EXPECT_EQ(result->audience, "sts.amazonaws.com");
    EXPECT_EQ(result->provider, "issuer.example");
    EXPECT_EQ(result->role.assumed_role_arn, "arn:aws:sts::123456789012:assumed-role/ci/ci-run");
    auto resolved = resolver_->resolve(result->role.credentials.access_key_id,
                                       result->role.credentials.session_token);
    ASSERT_TRUE(resolved.has_value());
    EXPECT_EQ(resolved->principal.role_arn, "arn:aws:iam::123456789012:role/ci");
  }
  EXPECT_EQ(documents_->fetches, 1);
}

TEST_F(WebIdentityTest, BadTokensGetTheCodesAwsUses) {
  EXPECT_EQ(assume(token("none")).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(assume(token("hs256")).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(assume(token("wrong_key")).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(assume(token("tampered")).error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(assume(token("other_audience")).error().code, ErrorCode::kUnauthenticated);
  clock_->set_unix_seconds(vectors()["iat"].as_int64() + 3600 + kWebIdentityClockSkew.count());
  EXPECT_EQ(assume(token("rs256")).error().code, ErrorCode::kExpiredToken);
  clock_->set_unix_seconds(vectors()["iat"].as_int64() - kWebIdentityClockSkew.count() - 1);
  EXPECT_EQ(assume(token("rs256")).error().code, ErrorCode::kUnauthenticated);  // iat ahead
}

TEST_F(WebIdentityTest, TrustPolicyConditionsAndUnknownRolesAreAccessDenied) {
  std::string other_sub =
      R"({"Statement":[{"Effect":"Allow","Action":"sts:AssumeRoleWithWebIdentity",
      "Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/issuer.example"},
      "Condition":{"StringEquals":{"issuer.example:sub":"repo:other/app:ref:refs/heads/main"}}}]})";
  ASSERT_TRUE(iam_->create_role("other", other_sub).has_value());
  EXPECT_EQ(assume(token("rs256"), "other").error().code, ErrorCode::kPermissionDenied);
  std::string other_provider = R"({"Statement":[{"Effect":"Allow",
      "Action":"sts:AssumeRoleWithWebIdentity",
      "Principal":{"Federated":"arn:aws:iam::123456789012:oidc-provider/elsewhere.example"}}]})";
  ASSERT_TRUE(iam_->create_role("elsewhere", other_provider).has_value());
  EXPECT_EQ(assume(token("rs256"), "elsewhere").error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(assume(token("rs256"), "ghost").error().code, ErrorCode::kPermissionDenied);
}

TEST_F(WebIdentityTest, IamRegisteredProvidersAreFoundAndValidated) {
  EXPECT_FALSE(iam_->create_open_id_connect_provider("http://evil.example", {"a"}, {}));
  EXPECT_FALSE(iam_->create_open_id_connect_provider("https://x.example", {"a"}, {"nothex"}));
  EXPECT_FALSE(iam_->create_open_id_connect_provider("https://x.example",
                                                     std::vector<std::string>(101, "client"), {}));
  EXPECT_FALSE(iam_->create_open_id_connect_provider(
      "https://x.example", {"a"}, std::vector<std::string>(6, std::string(40, 'a'))));
  EXPECT_TRUE(iam_->create_open_id_connect_provider(
      "https://x.example", std::vector<std::string>(100, "client"),
      std::vector<std::string>(5, std::string(40, 'a'))));
  auto created = iam_->create_open_id_connect_provider("http://127.0.0.1:9/idp", {"client-1"}, {});
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(created->arn, "arn:aws:iam::123456789012:oidc-provider/127.0.0.1:9/idp");
  EXPECT_EQ(iam_->create_open_id_connect_provider("http://127.0.0.1:9/idp", {}, {}).error().code,
            ErrorCode::kAlreadyExists);
  auto listed = iam_->list_open_id_connect_providers();  // ordered by ARN
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ(listed->front().client_ids, std::vector<std::string>{"client-1"});
  ASSERT_TRUE(iam_->delete_open_id_connect_provider(created->arn));
  EXPECT_EQ(iam_->get_open_id_connect_provider(created->arn).error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace plinth::auth
