// SigV4 verification: real SDK captures (HTTP/1.1 and HTTP/2), tamper detection, clock skew,
// presigned expiry and the error codes the api layer maps.
#include "plinth/auth/authenticator.h"

#include <gtest/gtest.h>

#include "http_fixture.h"

namespace plinth::auth {
namespace {
namespace fs = std::filesystem;
using testing::HttpFile;
using testing::load_http;

const fs::path kCaptures = fs::path(PLINTH_TEST_DATA_DIR) / "sdk-requests";
constexpr std::string_view kKeyId = "AKIDEXAMPLE";
constexpr std::string_view kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

// The captures' session tokens are opaque AWS-style strings: accept exactly the expected one.
class FixedCredentials final : public CredentialResolver {
 public:
  explicit FixedCredentials(std::optional<std::string> token) : token_(std::move(token)) {}
  Result<ResolvedCredential> resolve(std::string_view id,
                                     const std::optional<std::string>& token) const override {
    if (id != kKeyId || token != token_) return fail(ErrorCode::kUnknownAccessKey, "unknown");
    Principal p;
    p.kind = Principal::Kind::kUser;
    p.arn = "arn:aws:iam::123456789012:user/example";
    return ResolvedCredential{std::string(kSecret), p};
  }

 private:
  std::optional<std::string> token_;
};

std::optional<std::string> header(const HttpFile& f, std::string_view name) {
  for (const auto& [k, v] : f.headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

int64_t unix_of(std::string_view amz_date) {
  return std::chrono::duration_cast<std::chrono::seconds>(
             parse_amz_date(amz_date)->time_since_epoch())
      .count();
}

std::vector<fs::path> captures() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(kCaptures)) {
    if (e.path().extension() == ".http") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

Authenticator authenticator_for(const HttpFile& f) {
  auto clock = std::make_shared<ManualClock>(unix_of(*header(f, "x-amz-date")));
  return Authenticator(std::make_shared<FixedCredentials>(header(f, "x-amz-security-token")),
                       clock);
}

TEST(AmzDate, YearsBeyondTheClocksRangeAreMalformed) {
  // Found by sigv4_fuzz: year 2815 overflowed system_clock's nanoseconds.
  EXPECT_FALSE(parse_amz_date("28150830T123600Z"));
  EXPECT_FALSE(parse_amz_date("00010101T000000Z"));
  EXPECT_TRUE(parse_amz_date("20150830T123600Z"));
  EXPECT_TRUE(parse_amz_date("21991231T235959Z"));
}

TEST(SdkCaptures, EveryCaptureVerifiesAtItsRecordedTime) {
  ASSERT_GE(captures().size(), 10u);
  for (const fs::path& file : captures()) {
    HttpFile f = load_http(file);
    auto principal = authenticator_for(f).authenticate(f.signable(), "");
    EXPECT_TRUE(principal.has_value()) << file.filename() << ": " << principal.error().message;
  }
}

TEST(SdkCaptures, Http2CapturesSignAuthorityAndServiceScopeIsChecked) {
  HttpFile f = load_http(kCaptures / "bedrock-converse.http");
  ASSERT_TRUE(header(f, ":authority").has_value());
  auto auth = authenticator_for(f);
  EXPECT_TRUE(auth.authenticate(f.signable(), "bedrock").has_value());
  auto wrong = auth.authenticate(f.signable(), "sts");
  ASSERT_FALSE(wrong.has_value());
  EXPECT_EQ(wrong.error().code, ErrorCode::kInvalidSignature);
}

// Changing any byte of the method, path, query, signed header values or body must break it.
TEST(SdkCaptures, AnyChangedByteOfTheSignedPartsIsRejected) {
  auto flip = [](char c) { return c == 'x' ? 'y' : 'x'; };
  for (const fs::path& file : captures()) {
    const HttpFile original = load_http(file);
    auto auth = authenticator_for(original);
    std::string authorization = *header(original, "authorization");
    auto parts = parse_authorization_header(authorization);
    ASSERT_TRUE(parts.has_value());
    auto expect_rejected = [&](const HttpFile& changed, const std::string& what) {
      auto result = auth.authenticate(changed.signable(), "");
      EXPECT_FALSE(result.has_value()) << file.filename() << " accepted after changing " << what;
    };
    for (size_t i = 0; i < original.body.size(); ++i) {
      HttpFile changed = original;
      changed.body[i] = flip(changed.body[i]);
      expect_rejected(changed, "body byte " + std::to_string(i));
    }
    for (size_t i = 0; i < original.path.size(); ++i) {
      HttpFile changed = original;
      changed.path[i] = flip(changed.path[i]);
      expect_rejected(changed, "path byte " + std::to_string(i));
    }
    for (size_t i = 0; i < original.method.size(); ++i) {
      HttpFile changed = original;
      changed.method[i] = flip(changed.method[i]);
      expect_rejected(changed, "method byte " + std::to_string(i));
    }
    for (size_t h = 0; h < original.headers.size(); ++h) {
      const auto& name = original.headers[h].first;
      bool is_signed = std::find(parts->signed_headers.begin(), parts->signed_headers.end(),
                                 name) != parts->signed_headers.end();
      if (!is_signed && name != "authorization") continue;
      for (size_t i = 0; i < original.headers[h].second.size(); ++i) {
        HttpFile changed = original;
        changed.headers[h].second[i] = flip(changed.headers[h].second[i]);
        expect_rejected(changed, name + " byte " + std::to_string(i));
      }
    }
    HttpFile with_query = original;
    with_query.query = "extra=1";
    expect_rejected(with_query, "the query");
  }
}

HttpFile signed_request_at(int64_t unix_seconds, bool unsigned_payload = false) {
  HttpFile f;
  f.method = "POST";
  f.path = "/model/m%3A1/converse";
  f.headers = {{"host", "localhost:4000"}, {"content-type", "application/json"}};
  f.body = R"({"messages":[]})";
  SignerOptions options;
  options.region = "us-east-1";
  options.service = "bedrock";
  options.time = std::chrono::system_clock::time_point(std::chrono::seconds(unix_seconds));
  options.unsigned_payload = unsigned_payload;
  options.sign_body = true;
  SignedRequest s =
      sign_request(f.signable(), {std::string(kKeyId), std::string(kSecret), ""}, options);
  f.headers = s.request.headers;
  return f;
}

class Skew : public ::testing::Test {
 protected:
  static constexpr int64_t kSigned = 1'764'000'000;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kSigned);
  Authenticator auth_{std::make_shared<FixedCredentials>(std::nullopt), clock_};
};

TEST_F(Skew, AcceptsRequestsWithinFifteenMinutesEitherWay) {
  HttpFile f = signed_request_at(kSigned);
  for (int64_t offset : {-899, -60, 0, 60, 899}) {
    clock_->set_unix_seconds(kSigned + offset);
    EXPECT_TRUE(auth_.authenticate(f.signable(), "bedrock").has_value()) << offset;
  }
}

TEST_F(Skew, RejectsRequestOlderThanFifteenMinutesAsSignatureExpired) {
  HttpFile f = signed_request_at(kSigned);
  for (int64_t offset : {901, 3600, -901}) {
    clock_->set_unix_seconds(kSigned + offset);
    auto result = auth_.authenticate(f.signable(), "bedrock");
    ASSERT_FALSE(result.has_value()) << offset;
    EXPECT_EQ(result.error().code, ErrorCode::kInvalidSignature);
    EXPECT_TRUE(result.error().message.starts_with("Signature expired")) << result.error().message;
  }
}

TEST_F(Skew, UnsignedPayloadCoversEverythingButTheBody) {
  HttpFile f = signed_request_at(kSigned, /*unsigned_payload=*/true);
  EXPECT_TRUE(auth_.authenticate(f.signable(), "bedrock").has_value());
  f.body = "something else";
  EXPECT_TRUE(auth_.authenticate(f.signable(), "bedrock").has_value());
}

TEST_F(Skew, ContentHashThatDoesNotMatchTheBodyIsRejected) {
  HttpFile f = signed_request_at(kSigned);
  f.body += " ";
  auto result = auth_.authenticate(f.signable(), "bedrock");
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidSignature);
}

TEST_F(Skew, MissingAuthorizationIsUnauthenticatedAndMalformedIsInvalidArgument) {
  HttpFile f = signed_request_at(kSigned);
  HttpFile bare = f;
  bare.headers.erase(std::remove_if(bare.headers.begin(), bare.headers.end(),
                                    [](const auto& h) { return h.first == "authorization"; }),
                     bare.headers.end());
  EXPECT_EQ(auth_.authenticate(bare.signable(), "").error().code, ErrorCode::kUnauthenticated);
  for (const char* bad : {"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20251124/us-east-1/bedrock",
                          "Basic abc", "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=00"}) {
    HttpFile malformed = bare;
    malformed.headers.emplace_back("authorization", bad);
    EXPECT_EQ(auth_.authenticate(malformed.signable(), "").error().code,
              ErrorCode::kInvalidArgument)
        << bad;
  }
}

TEST_F(Skew, UnknownAccessKeyIsReportedAsSuch) {
  HttpFile f = signed_request_at(kSigned);
  for (auto& [name, value] : f.headers) {
    if (name == "authorization") value.replace(value.find("AKIDEXAMPLE"), 11, "AKIDOTHERKEY");
  }
  EXPECT_EQ(auth_.authenticate(f.signable(), "").error().code, ErrorCode::kUnknownAccessKey);
}

TEST_F(Skew, PresignedRequestsVerifyUntilTheyExpire) {
  HttpFile f;
  f.method = "GET";
  f.path = "/v1/models";
  f.headers = {{"host", "localhost:4000"}};
  SignerOptions options;
  options.region = "us-east-1";
  options.service = "bedrock";
  options.time = clock_->now();
  options.expires = std::chrono::seconds(300);
  SignedRequest s =
      presign_request(f.signable(), {std::string(kKeyId), std::string(kSecret), ""}, options);
  EXPECT_TRUE(auth_.authenticate(s.request, "bedrock").has_value());
  clock_->set_unix_seconds(kSigned + 299);
  EXPECT_TRUE(auth_.authenticate(s.request, "bedrock").has_value());
  clock_->set_unix_seconds(kSigned + 301);
  EXPECT_EQ(auth_.authenticate(s.request, "bedrock").error().code, ErrorCode::kExpiredToken);
  clock_->set_unix_seconds(kSigned);
  SignableRequest tampered = s.request;
  tampered.raw_query.replace(tampered.raw_query.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=900");
  EXPECT_EQ(auth_.authenticate(tampered, "bedrock").error().code, ErrorCode::kInvalidSignature);
}

}  // namespace
}  // namespace plinth::auth
