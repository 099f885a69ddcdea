// The aws-c-auth SigV4 suite: canonical request, string to sign and signature for every case,
// header and query signing, and verification of the signed requests.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "http_fixture.h"
#include "plinth/auth/authenticator.h"
#include "plinth/auth/sigv4.h"

namespace plinth::auth {
namespace {
namespace fs = std::filesystem;
namespace json = boost::json;
using testing::load_http;
using testing::read_file;

const fs::path kSuite = fs::path(PLINTH_TEST_DATA_DIR) / "sigv4";

struct SuiteCase {
  std::string name;
  json::object context;
  SigningCredentials creds;
  SignerOptions options;
};

SuiteCase load_case(const std::string& name) {
  SuiteCase c;
  c.name = name;
  c.context = json::parse(read_file(kSuite / name / "context.json")).as_object();
  const json::object& creds = c.context.at("credentials").as_object();
  c.creds.access_key_id = std::string(creds.at("access_key_id").as_string());
  c.creds.secret_access_key = std::string(creds.at("secret_access_key").as_string());
  if (const json::value* token = creds.if_contains("token")) {
    c.creds.session_token = std::string(token->as_string());
  }
  c.options.region = std::string(c.context.at("region").as_string());
  c.options.service = std::string(c.context.at("service").as_string());
  std::string ts(c.context.at("timestamp").as_string());  // 2015-08-30T12:36:00Z
  std::string compact = ts.substr(0, 4) + ts.substr(5, 2) + ts.substr(8, 2) + "T" +
                        ts.substr(11, 2) + ts.substr(14, 2) + ts.substr(17, 2) + "Z";
  c.options.time = *parse_amz_date(compact);
  c.options.canonical.normalize_path = c.context.at("normalize").as_bool();
  c.options.sign_body = c.context.at("sign_body").as_bool();
  const json::value* omit = c.context.if_contains("omit_session_token");
  c.options.omit_session_token = omit != nullptr && omit->as_bool();
  c.options.expires = std::chrono::seconds(c.context.at("expiration_in_seconds").as_int64());
  return c;
}

std::vector<std::string> case_names() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(kSuite)) {
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

// Accepts exactly the suite's credentials (and its session token, when the case has one).
class SuiteCredentials final : public CredentialResolver {
 public:
  explicit SuiteCredentials(SigningCredentials creds) : creds_(std::move(creds)) {}
  Result<ResolvedCredential> resolve(std::string_view id,
                                     const std::optional<std::string>& token) const override {
    if (id != creds_.access_key_id) return fail(ErrorCode::kUnknownAccessKey, "unknown key");
    if (token.value_or("") != creds_.session_token) {
      return fail(ErrorCode::kUnknownAccessKey, "unknown token");
    }
    Principal p;
    p.arn = "arn:aws:iam::123456789012:user/suite";
    return ResolvedCredential{creds_.secret_access_key, p};
  }

 private:
  SigningCredentials creds_;
};

class SigV4Suite : public ::testing::TestWithParam<std::string> {};

TEST_P(SigV4Suite, HeaderSigningMatchesExpectedCanonicalRequestStringToSignAndSignature) {
  SuiteCase c = load_case(GetParam());
  testing::HttpFile request = load_http(kSuite / c.name / "request.txt");
  SignedRequest signed_request = sign_request(request.signable(), c.creds, c.options);
  EXPECT_EQ(signed_request.canonical_request,
            read_file(kSuite / c.name / "header-canonical-request.txt"));
  EXPECT_EQ(signed_request.string_to_sign,
            read_file(kSuite / c.name / "header-string-to-sign.txt"));
  EXPECT_EQ(signed_request.signature, read_file(kSuite / c.name / "header-signature.txt"));
}

TEST_P(SigV4Suite, QuerySigningMatchesExpectedCanonicalRequestStringToSignAndSignature) {
  SuiteCase c = load_case(GetParam());
  testing::HttpFile request = load_http(kSuite / c.name / "request.txt");
  SignedRequest signed_request = presign_request(request.signable(), c.creds, c.options);
  EXPECT_EQ(signed_request.canonical_request,
            read_file(kSuite / c.name / "query-canonical-request.txt"));
  EXPECT_EQ(signed_request.string_to_sign, read_file(kSuite / c.name / "query-string-to-sign.txt"));
  EXPECT_EQ(signed_request.signature, read_file(kSuite / c.name / "query-signature.txt"));
}

TEST_P(SigV4Suite, VerifierAcceptsTheSignedRequests) {
  SuiteCase c = load_case(GetParam());
  auto clock = std::make_shared<ManualClock>(
      std::chrono::duration_cast<std::chrono::seconds>(c.options.time.time_since_epoch()).count());
  Authenticator authenticator(std::make_shared<SuiteCredentials>(c.creds), clock, nullptr,
                              c.options.canonical);

  testing::HttpFile header_signed = load_http(kSuite / c.name / "header-signed-request.txt");
  auto principal = authenticator.authenticate(header_signed.signable(), c.options.service);
  EXPECT_TRUE(principal.has_value()) << principal.error().message;

  // A token added after signing is not in the presigned canonical query: nothing to verify.
  if (c.options.omit_session_token && !c.creds.session_token.empty()) return;
  testing::HttpFile query_signed = load_http(kSuite / c.name / "query-signed-request.txt");
  principal = authenticator.authenticate(query_signed.signable(), c.options.service);
  EXPECT_TRUE(principal.has_value()) << principal.error().message;
}

INSTANTIATE_TEST_SUITE_P(AwsCAuth, SigV4Suite, ::testing::ValuesIn(case_names()),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace plinth::auth
