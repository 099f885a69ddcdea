// The documents credential endpoints answer with: STS XML, ECS/IMDS JSON, ISO 8601 times.
#include <gtest/gtest.h>

#include "plinth/aws/sts_client.h"

namespace plinth::aws {
namespace {

constexpr const char* kAssumeRoleXml =
    R"(<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>)"
    R"(<AssumedRoleUser><Arn>arn:aws:sts::1:assumed-role/r/s</Arn></AssumedRoleUser>)"
    R"(<Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId><SecretAccessKey>se&amp;cret</SecretAccessKey>)"
    R"(<SessionToken>tok&lt;en</SessionToken><Expiration>2026-12-05T06:00:00Z</Expiration>)"
    R"(</Credentials></AssumeRoleResult></AssumeRoleResponse>)";

TEST(StsDocuments, ParsesCredentialsAndDecodesEntities) {
  auto c = parse_sts_credentials_xml(kAssumeRoleXml, 200);
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->access_key_id, "ASIAEXAMPLE");
  EXPECT_EQ(c->secret_access_key, "se&cret");
  EXPECT_EQ(c->session_token, "tok<en");
  EXPECT_EQ(c->expiration, parse_iso8601("2026-12-05T06:00:00Z"));
}

TEST(StsDocuments, MapsErrorResponsesToCodesWithTheStsMessage) {
  auto denied = parse_sts_credentials_xml(
      "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed"
      "</Message></Error></ErrorResponse>",
      403);
  ASSERT_FALSE(denied.has_value());
  EXPECT_EQ(denied.error().code, ErrorCode::kPermissionDenied);
  EXPECT_EQ(denied.error().message, "AccessDenied: not allowed");
  auto identity = parse_sts_credentials_xml(
      "<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>", 400);
  EXPECT_EQ(identity.error().code, ErrorCode::kUnauthenticated);
  EXPECT_EQ(parse_sts_credentials_xml("oops", 503).error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(parse_sts_credentials_xml("<x/>", 200).error().code, ErrorCode::kIo);
  EXPECT_FALSE(parse_sts_credentials_xml(
                   "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey>"
                   "<SessionToken>T</SessionToken><Expiration>tomorrow</Expiration></Credentials>",
                   200)
                   .has_value());
}

TEST(StsDocuments, RefusesAnswersLargerThanTheBound) {
  std::string big(kMaxCredentialResponseBytes + 1, ' ');
  EXPECT_FALSE(parse_sts_credentials_xml(big, 200).has_value());
  EXPECT_FALSE(parse_credentials_json(big).has_value());
}

TEST(CredentialsJson, ParsesTheEcsAndImdsShape) {
  auto c = parse_credentials_json(
      R"({"Code":"Success","AccessKeyId":"ASIA1","SecretAccessKey":"s","Token":"t",)"
      R"("Expiration":"2026-12-05T06:00:00.000+01:00","RoleArn":"arn"})");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->session_token, "t");
  EXPECT_EQ(c->expiration, parse_iso8601("2026-12-05T05:00:00Z"));
  EXPECT_FALSE(parse_credentials_json(R"({"Code":"Failure","AccessKeyId":"A"})").has_value());
  EXPECT_FALSE(parse_credentials_json(R"({"AccessKeyId":"A"})").has_value());
  EXPECT_FALSE(parse_credentials_json("[1,2]").has_value());
  EXPECT_FALSE(parse_credentials_json(R"({"a":[[[[[[[[[[1]]]]]]]]]]})").has_value());
}

TEST(Iso8601, ParsesUtcOffsetsAndFractions) {
  auto t = parse_iso8601("1970-01-02T00:00:01Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->time_since_epoch(), std::chrono::seconds(86401));
  EXPECT_EQ(parse_iso8601("1970-01-02T01:00:01+01:00"), t);
  EXPECT_EQ(parse_iso8601("1970-01-02T00:00:01.123456Z"), t);
  for (const char* bad : {"1970-01-02 00:00:01Z", "1970-13-02T00:00:01Z", "1970-02-30T00:00:01Z",
                          "1970-01-02T00:00:01", "1970-01-02T00:00:01.Z", "x970-01-02T00:00:01Z",
                          "1970-01-02T24:00:01Z",
                          // Outside what system_clock's 64-bit nanoseconds hold (found by the
                          // aws_credentials fuzzer), and signs that from_chars would accept.
                          "0226-12-05T06:00:00.123Z", "9999-12-31T23:59:59Z",
                          "-226-12-05T06:00:00Z", "2026-12-05T-1:00:00Z", "2026-12-05T06:+0:00Z"}) {
    EXPECT_FALSE(parse_iso8601(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace plinth::aws
