// Policy evaluation truth tables: effects, wildcards, NotAction/NotResource, each condition
// operator, session-policy narrowing, root, and trust policies.
#include "plinth/auth/policy.h"

#include <gtest/gtest.h>

namespace plinth::auth {
namespace {

using std::chrono::system_clock;

constexpr const char* kModel = "arn:aws:bedrock:us-east-1::foundation-model/small-1";

Principal user(std::vector<std::string> policies) {
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.account_id = "123456789012";
  p.arn = "arn:aws:iam::123456789012:user/alice";
  p.identity_policies = std::move(policies);
  return p;
}

RequestContext ctx(std::string region = "us-east-1", bool secure = true) {
  RequestContext c;
  c.region = std::move(region);
  c.secure_transport = secure;
  c.now = system_clock::time_point(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00Z
  return c;
}

std::string statement(std::string body) {
  return R"({"Version":"2012-10-17","Statement":[)" + body + "]}";
}

TEST(Wildcard, StarAndQuestionMark) {
  EXPECT_TRUE(wildcard_match("bedrock:*", "bedrock:InvokeModel"));
  EXPECT_TRUE(wildcard_match("bedrock:Invoke*", "bedrock:InvokeModelWithResponseStream"));
  EXPECT_TRUE(wildcard_match("bedrock:?onverse", "bedrock:Converse"));
  EXPECT_FALSE(wildcard_match("bedrock:?onverse", "bedrock:onverse"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(wildcard_match("a*b*c", "aXXbYY"));
  EXPECT_FALSE(wildcard_match("BEDROCK:*", "bedrock:x"));
  EXPECT_TRUE(wildcard_match("BEDROCK:*", "bedrock:x", /*case_insensitive=*/true));
}

TEST(Policy, DefaultIsImplicitDenyAndAllowMatchesActionAndResource) {
  auto allow = statement(R"({"Effect":"Allow","Action":"bedrock:InvokeModel","Resource":")" +
                         std::string(kModel) + R"("})");
  EXPECT_EQ(authorize(user({}), "bedrock:InvokeModel", kModel, ctx()), Decision::kImplicitDeny);
  EXPECT_EQ(authorize(user({allow}), "bedrock:InvokeModel", kModel, ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(user({allow}), "bedrock:invokemodel", kModel, ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(user({allow}), "bedrock:Converse", kModel, ctx()), Decision::kImplicitDeny);
  EXPECT_EQ(authorize(user({allow}), "bedrock:InvokeModel", "arn:other", ctx()),
            Decision::kImplicitDeny);
}

TEST(Policy, ExplicitDenyWinsOverAllowAcrossStatementsAndDocuments) {
  auto allow_all = statement(R"({"Effect":"Allow","Action":"*","Resource":"*"})");
  auto deny_invoke = statement(R"({"Effect":"Deny","Action":"bedrock:Invoke*","Resource":"*"})");
  EXPECT_EQ(authorize(user({allow_all, deny_invoke}), "bedrock:InvokeModel", kModel, ctx()),
            Decision::kExplicitDeny);
  EXPECT_EQ(authorize(user({allow_all, deny_invoke}), "bedrock:Converse", kModel, ctx()),
            Decision::kAllow);
  auto both = statement(R"({"Effect":"Deny","Action":"*","Resource":"*"},
                           {"Effect":"Allow","Action":"*","Resource":"*"})");
  EXPECT_EQ(authorize(user({both}), "iam:CreateUser", "*", ctx()), Decision::kExplicitDeny);
}

TEST(Policy, NotActionAndNotResource) {
  auto not_action = statement(R"({"Effect":"Allow","NotAction":["iam:*","sts:*"],"Resource":"*"})");
  EXPECT_EQ(authorize(user({not_action}), "bedrock:Converse", kModel, ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(user({not_action}), "iam:CreateUser", "*", ctx()), Decision::kImplicitDeny);
  auto not_resource = statement(
      R"({"Effect":"Allow","Action":"bedrock:*","NotResource":"arn:aws:bedrock:*:*:foundation-model/large-*"})");
  EXPECT_EQ(authorize(user({not_resource}), "bedrock:Converse", kModel, ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(user({not_resource}), "bedrock:Converse",
                      "arn:aws:bedrock:us-east-1::foundation-model/large-1", ctx()),
            Decision::kImplicitDeny);
  auto deny_not_resource = statement(
      R"({"Effect":"Allow","Action":"*","Resource":"*"},
         {"Effect":"Deny","Action":"bedrock:*","NotResource":")" +
      std::string(kModel) + R"("})");
  EXPECT_EQ(authorize(user({deny_not_resource}), "bedrock:Converse", "arn:x", ctx()),
            Decision::kExplicitDeny);
  EXPECT_EQ(authorize(user({deny_not_resource}), "bedrock:Converse", kModel, ctx()),
            Decision::kAllow);
}

Decision with_condition(const std::string& condition, const RequestContext& c,
                        const Principal* who = nullptr) {
  auto doc =
      statement(R"({"Effect":"Allow","Action":"*","Resource":"*","Condition":)" + condition + "}");
  Principal p = who ? *who : user({});
  p.identity_policies = {doc};
  return authorize(p, "bedrock:Converse", kModel, c);
}

TEST(PolicyConditions, StringEqualsAndStringNotEquals) {
  std::string eq = R"({"StringEquals":{"aws:RequestedRegion":["eu-west-1","us-east-1"]}})";
  EXPECT_EQ(with_condition(eq, ctx("us-east-1")), Decision::kAllow);
  EXPECT_EQ(with_condition(eq, ctx("ap-south-1")), Decision::kImplicitDeny);
  std::string ne = R"({"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}})";
  EXPECT_EQ(with_condition(ne, ctx("us-east-1")), Decision::kImplicitDeny);
  EXPECT_EQ(with_condition(ne, ctx("eu-west-1")), Decision::kAllow);
}

TEST(PolicyConditions, StringLikeAndStringNotLikeOnPrincipalArn) {
  std::string like = R"({"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/al*"}})";
  EXPECT_EQ(with_condition(like, ctx()), Decision::kAllow);
  Principal bob = user({});
  bob.arn = "arn:aws:iam::123456789012:user/bob";
  EXPECT_EQ(with_condition(like, ctx(), &bob), Decision::kImplicitDeny);
  std::string not_like = R"({"StringNotLike":{"aws:PrincipalArn":"*:user/al*"}})";
  EXPECT_EQ(with_condition(not_like, ctx()), Decision::kImplicitDeny);
  EXPECT_EQ(with_condition(not_like, ctx(), &bob), Decision::kAllow);
  // For role sessions the key is the role's ARN.
  Principal session = user({});
  session.kind = Principal::Kind::kAssumedRole;
  session.arn = "arn:aws:sts::123456789012:assumed-role/app/s1";
  session.role_arn = "arn:aws:iam::123456789012:role/app";
  std::string role_eq =
      R"({"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::123456789012:role/app"}})";
  EXPECT_EQ(with_condition(role_eq, ctx(), &session), Decision::kAllow);
}

TEST(PolicyConditions, DateLessThanAndDateGreaterThanOnCurrentTime) {
  EXPECT_EQ(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"2026-06-01T00:00:00Z"}})", ctx()),
            Decision::kAllow);
  EXPECT_EQ(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"2025-12-31T23:59:59Z"}})", ctx()),
            Decision::kImplicitDeny);
  EXPECT_EQ(with_condition(R"({"DateGreaterThan":{"aws:CurrentTime":"2025-12-31"}})", ctx()),
            Decision::kAllow);
  EXPECT_EQ(
      with_condition(R"({"DateGreaterThan":{"aws:CurrentTime":"2026-01-01T00:00:01Z"}})", ctx()),
      Decision::kImplicitDeny);
}

TEST(PolicyConditions, DatesBeyondTheClocksRangeMatchNothing) {
  // Found by policy_fuzz: the year 4059 overflowed system_clock's nanoseconds (undefined
  // behaviour, and a garbage comparison).
  EXPECT_EQ(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"4059-01-01T00:00:00Z"}})", ctx()),
            Decision::kImplicitDeny);
  EXPECT_EQ(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"999999999999"}})", ctx()),
            Decision::kImplicitDeny);
  EXPECT_EQ(with_condition(R"({"DateLessThan":{"aws:CurrentTime":"2150-01-01"}})", ctx()),
            Decision::kAllow);
}

TEST(PolicyConditions, BoolOnSecureTransportAndAllConditionsMustHold) {
  std::string secure = R"({"Bool":{"aws:SecureTransport":"true"}})";
  EXPECT_EQ(with_condition(secure, ctx("us-east-1", true)), Decision::kAllow);
  EXPECT_EQ(with_condition(secure, ctx("us-east-1", false)), Decision::kImplicitDeny);
  std::string both = R"({"Bool":{"aws:SecureTransport":true},
                         "StringEquals":{"aws:RequestedRegion":"us-east-1"}})";
  EXPECT_EQ(with_condition(both, ctx("us-east-1", true)), Decision::kAllow);
  EXPECT_EQ(with_condition(both, ctx("eu-west-1", true)), Decision::kImplicitDeny);
  // A Deny guarded by a condition applies only when the condition holds.
  auto deny_insecure = statement(R"({"Effect":"Allow","Action":"*","Resource":"*"},
      {"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}})");
  EXPECT_EQ(authorize(user({deny_insecure}), "x:y", "*", ctx("us-east-1", false)),
            Decision::kExplicitDeny);
  EXPECT_EQ(authorize(user({deny_insecure}), "x:y", "*", ctx("us-east-1", true)), Decision::kAllow);
}

TEST(Policy, SessionPolicyNarrowsButNeverWidens) {
  Principal p = user({statement(R"({"Effect":"Allow","Action":"bedrock:*","Resource":"*"})")});
  p.kind = Principal::Kind::kAssumedRole;
  p.session_policy = statement(R"({"Effect":"Allow","Action":"bedrock:Converse","Resource":"*"})");
  EXPECT_EQ(authorize(p, "bedrock:Converse", kModel, ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(p, "bedrock:InvokeModel", kModel, ctx()), Decision::kImplicitDeny);
  p.session_policy = statement(R"({"Effect":"Allow","Action":"*","Resource":"*"})");
  EXPECT_EQ(authorize(p, "iam:CreateUser", "*", ctx()), Decision::kImplicitDeny);
  p.session_policy = statement(R"({"Effect":"Deny","Action":"bedrock:Converse","Resource":"*"})");
  EXPECT_EQ(authorize(p, "bedrock:Converse", kModel, ctx()), Decision::kExplicitDeny);
}

TEST(Policy, RootIsAlwaysAllowedAndGarbageAllowsNothing) {
  Principal root;
  root.kind = Principal::Kind::kRoot;
  EXPECT_EQ(authorize(root, "iam:DeleteRole", "*", ctx()), Decision::kAllow);
  EXPECT_EQ(authorize(user({"not json", "{}"}), "x:y", "*", ctx()), Decision::kImplicitDeny);
}

TEST(PolicyValidation, AcceptsWellFormedAndRejectsMalformedDocuments) {
  EXPECT_TRUE(validate_policy_document(statement(
      R"({"Effect":"Allow","Action":["a:b"],"Resource":"*","Condition":{"StringLikeIfExists":{"aws:PrincipalArn":"x"}}})")));
  for (const char* bad :
       {"", "[]", "{", R"({"Statement":"x"})",
        R"({"Version":"2020-01-01","Statement":{"Effect":"Allow","Action":"*"}})",
        R"({"Statement":{"Effect":"Maybe","Action":"*"}})", R"({"Statement":{"Effect":"Allow"}})",
        R"({"Statement":{"Effect":"Allow","Action":"*","NotAction":"*"}})",
        R"({"Statement":{"Effect":"Allow","Action":"*","Condition":{"NumericEquals":{"k":"1"}}}})",
        R"({"Statement":{"Effect":"Allow","Action":{"a":1}}})"}) {
    EXPECT_FALSE(validate_policy_document(bad).has_value()) << bad;
  }
}

TEST(TrustPolicy, NamesPrincipalsByArnAccountOrStar) {
  Principal alice = user({});
  auto trust = [](std::string principal) {
    return statement(R"({"Effect":"Allow","Principal":)" + principal +
                     R"(,"Action":"sts:AssumeRole"})");
  };
  EXPECT_TRUE(trust_policy_allows(trust(R"({"AWS":"arn:aws:iam::123456789012:user/alice"})"), alice,
                                  ctx()));
  EXPECT_TRUE(trust_policy_allows(trust(R"({"AWS":"123456789012"})"), alice, ctx()));
  EXPECT_TRUE(trust_policy_allows(trust(R"({"AWS":["x","arn:aws:iam::123456789012:root"]})"), alice,
                                  ctx()));
  EXPECT_TRUE(trust_policy_allows(trust(R"({"AWS":"*"})"), alice, ctx()));
  EXPECT_TRUE(trust_policy_allows(trust(R"("*")"), alice, ctx()));
  EXPECT_FALSE(
      trust_policy_allows(trust(R"({"AWS":"arn:aws:iam::123456789012:user/bob"})"), alice, ctx()));
  EXPECT_FALSE(trust_policy_allows(trust(R"({"AWS":"999999999999"})"), alice, ctx()));
  EXPECT_FALSE(trust_policy_allows(trust(R"({"Service":"ec2.amazonaws.com"})"), alice, ctx()));
  auto wrong_action =
      statement(R"({"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:GetSessionToken"})");
  EXPECT_FALSE(trust_policy_allows(wrong_action, alice, ctx()));
  auto denied = statement(R"({"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"},
      {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:*"})");
  EXPECT_FALSE(trust_policy_allows(denied, alice, ctx()));
}

}  // namespace
}  // namespace plinth::auth
