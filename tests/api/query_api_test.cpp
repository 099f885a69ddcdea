// STS and IAM over the Query protocol: form parsing, XML shapes the SDKs parse, error bodies
// and statuses, action names for authorization, trust-policy refusal.
#include "plinth/api/query_api.h"

#include <gtest/gtest.h>

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <filesystem>
#include <sstream>

#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {
namespace fs = std::filesystem;
namespace pt = boost::property_tree;
using auth::Principal;

constexpr const char* kAccount = "123456789012";

// Parses the body as XML (throws on malformed XML, failing the test) and checks the namespace.
pt::ptree parse_xml(const QueryResponse& r, const std::string& root, std::string_view ns) {
  EXPECT_EQ(r.content_type, "text/xml");
  std::istringstream in(r.body);
  pt::ptree tree;
  pt::read_xml(in, tree);
  EXPECT_EQ(tree.get<std::string>(root + ".<xmlattr>.xmlns", ""), std::string(ns)) << r.body;
  return tree;
}

void expect_error(const QueryResponse& r, int status, const std::string& code,
                  std::string_view ns) {
  EXPECT_EQ(r.status, status) << r.body;
  pt::ptree tree = parse_xml(r, "ErrorResponse", ns);
  EXPECT_EQ(tree.get<std::string>("ErrorResponse.Error.Type"),
            status >= 500 ? "Receiver" : "Sender");
  EXPECT_EQ(tree.get<std::string>("ErrorResponse.Error.Code"), code) << r.body;
  EXPECT_FALSE(tree.get<std::string>("ErrorResponse.Error.Message").empty());
  EXPECT_EQ(tree.get<std::string>("ErrorResponse.RequestId"), "req-1");
}

std::string form(std::initializer_list<std::pair<std::string, std::string>> params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += uri_encode(k) + "=" + uri_encode(v);
  }
  return out;
}

class QueryApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("plinth-query-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    store_ = std::move(*store::open_sqlite_store({dir_ / "db", random_->bytes(32), random_}));
    codec_ = std::make_shared<auth::SessionTokenCodec>(random_->bytes(32), random_);
    iam_ = std::make_unique<auth::IamService>(store_->iam(), kAccount, random_, clock_);
    sts_ = std::make_unique<auth::StsService>(store_->iam(), kAccount, codec_, clock_, random_);
    root_.kind = Principal::Kind::kRoot;
    root_.account_id = kAccount;
    root_.arn = "arn:aws:iam::123456789012:root";
    root_.user_id = kAccount;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  QueryResponse iam(const std::string& body) { return handle_iam(root_, body, *iam_, "req-1"); }
  QueryResponse sts(const Principal& caller, const std::string& body) {
    return handle_sts(caller, body, *sts_, {"us-east-1", false, clock_->now(), ""}, "req-1");
  }

  fs::path dir_;
  std::shared_ptr<Random> random_ = Random::seeded(21);
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(1'764'065'484);
  std::unique_ptr<store::Store> store_;
  std::shared_ptr<auth::SessionTokenCodec> codec_;
  std::unique_ptr<auth::IamService> iam_;
  std::unique_ptr<auth::StsService> sts_;
  Principal root_;
};

TEST(QueryForm, DecodesPercentAndPlusAndRejectsBrokenEscapes) {
  auto params =
      parse_form("Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fapp&A=b+c&E=");
  ASSERT_TRUE(params.has_value());
  EXPECT_EQ(params->at("Action"), "AssumeRole");
  EXPECT_EQ(params->at("RoleArn"), "arn:aws:iam::1:role/app");
  EXPECT_EQ(params->at("A"), "b c");
  EXPECT_EQ(params->at("E"), "");
  EXPECT_FALSE(parse_form("A=%zz").has_value());
}

TEST(QueryAction, NamesTheIamActionAndResourceForTheGateway) {
  auto assume =
      query_action("sts", "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa", kAccount);
  ASSERT_TRUE(assume.has_value());
  EXPECT_EQ(assume->iam_action, "sts:AssumeRole");
  EXPECT_EQ(assume->resource, "arn:aws:iam::1:role/a");
  EXPECT_FALSE(assume->needs_identity_authorization);
  auto create = query_action("iam", "Action=CreateUser&UserName=bob", kAccount);
  EXPECT_EQ(create->iam_action, "iam:CreateUser");
  EXPECT_EQ(create->resource, "arn:aws:iam::123456789012:user/bob");
  EXPECT_TRUE(create->needs_identity_authorization);
  EXPECT_EQ(query_action("iam", "Action=PutRolePolicy&RoleName=r", kAccount)->resource,
            "arn:aws:iam::123456789012:role/r");
  auto unknown = query_action("sts", "Action=CreateUser", kAccount);
  ASSERT_FALSE(unknown.has_value());
  expect_error(query_error_response(unknown.error(), "req-1"), 400, "InvalidAction", kStsNamespace);
  auto missing = query_action("iam", "Version=2010-05-08", kAccount);
  ASSERT_FALSE(missing.has_value());
  expect_error(query_error_response(missing.error(), "req-1", kIamNamespace), 400, "MissingAction",
               kIamNamespace);
}

TEST_F(QueryApiTest, GetCallerIdentityAnswersInTheStsNamespace) {
  QueryResponse r = sts(root_, "Action=GetCallerIdentity&Version=2011-06-15");
  EXPECT_EQ(r.status, 200);
  pt::ptree t = parse_xml(r, "GetCallerIdentityResponse", kStsNamespace);
  EXPECT_EQ(t.get<std::string>("GetCallerIdentityResponse.GetCallerIdentityResult.Arn"), root_.arn);
  EXPECT_EQ(t.get<std::string>("GetCallerIdentityResponse.GetCallerIdentityResult.Account"),
            kAccount);
  EXPECT_EQ(t.get<std::string>("GetCallerIdentityResponse.ResponseMetadata.RequestId"), "req-1");
}

TEST_F(QueryApiTest, AssumeRoleRespondsWithCredentialsAndAssumedRoleUser) {
  std::string trust =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]})";
  ASSERT_EQ(
      iam(form(
              {{"Action", "CreateRole"}, {"RoleName", "app"}, {"AssumeRolePolicyDocument", trust}}))
          .status,
      200);
  // The SDK's captured request body, as sent.
  QueryResponse r = sts(root_,
                        "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%"
                        "3A123456789012%3Arole%2Fapp&RoleSessionName=s1&DurationSeconds=900");
  ASSERT_EQ(r.status, 200) << r.body;
  pt::ptree t = parse_xml(r, "AssumeRoleResponse", kStsNamespace);
  const pt::ptree& result = t.get_child("AssumeRoleResponse.AssumeRoleResult");
  EXPECT_TRUE(result.get<std::string>("Credentials.AccessKeyId").starts_with("ASIA"));
  EXPECT_EQ(result.get<std::string>("Credentials.SecretAccessKey").size(), 40u);
  EXPECT_FALSE(result.get<std::string>("Credentials.SessionToken").empty());
  EXPECT_EQ(result.get<std::string>("Credentials.Expiration"), "2025-11-25T10:26:24Z");
  EXPECT_EQ(result.get<std::string>("AssumedRoleUser.Arn"),
            "arn:aws:sts::123456789012:assumed-role/app/s1");
  EXPECT_TRUE(result.get<std::string>("AssumedRoleUser.AssumedRoleId").ends_with(":s1"));
  EXPECT_EQ(t.get<std::string>("AssumeRoleResponse.ResponseMetadata.RequestId"), "req-1");
}

TEST_F(QueryApiTest, AssumeRoleRefusedByTrustPolicyIsAccessDenied) {
  std::string trust =
      R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/alice"},"Action":"sts:AssumeRole"}]})";
  ASSERT_EQ(
      iam(form(
              {{"Action", "CreateRole"}, {"RoleName", "app"}, {"AssumeRolePolicyDocument", trust}}))
          .status,
      200);
  ASSERT_EQ(iam("Action=CreateUser&UserName=bob").status, 200);
  Principal bob;
  bob.kind = Principal::Kind::kUser;
  bob.account_id = kAccount;
  bob.arn = "arn:aws:iam::123456789012:user/bob";
  bob.name = "bob";
  expect_error(sts(bob, form({{"Action", "AssumeRole"},
                              {"RoleArn", "arn:aws:iam::123456789012:role/app"},
                              {"RoleSessionName", "s1"}})),
               403, "AccessDenied", kStsNamespace);
  expect_error(sts(bob, "Action=AssumeRole&RoleSessionName=s1"), 400, "ValidationError",
               kStsNamespace);
  expect_error(sts(bob, "Action=Nope"), 400, "InvalidAction", kStsNamespace);
}

TEST_F(QueryApiTest, GetSessionTokenAndCreateBearerToken) {
  QueryResponse r = sts(root_, "Action=GetSessionToken&DurationSeconds=900");
  ASSERT_EQ(r.status, 200) << r.body;
  pt::ptree t = parse_xml(r, "GetSessionTokenResponse", kStsNamespace);
  EXPECT_TRUE(
      t.get<std::string>("GetSessionTokenResponse.GetSessionTokenResult.Credentials.AccessKeyId")
          .starts_with("ASIA"));
  expect_error(sts(root_, "Action=GetSessionToken&DurationSeconds=abc"), 400, "ValidationError",
               kStsNamespace);
  QueryResponse b = sts(root_, "Action=CreateBearerToken&DurationSeconds=3600");
  ASSERT_EQ(b.status, 200) << b.body;
  pt::ptree bt = parse_xml(b, "CreateBearerTokenResponse", kStsNamespace);
  EXPECT_TRUE(bt.get<std::string>("CreateBearerTokenResponse.CreateBearerTokenResult.BearerToken")
                  .starts_with("plinth-bt-"));
  EXPECT_EQ(bt.get<std::string>("CreateBearerTokenResponse.CreateBearerTokenResult.Expiration"),
            "2025-11-25T11:11:24Z");
}

TEST_F(QueryApiTest, IamUserAndAccessKeyLifecycle) {
  QueryResponse created = iam("Action=CreateUser&UserName=alice&Version=2010-05-08");
  ASSERT_EQ(created.status, 200);
  pt::ptree t = parse_xml(created, "CreateUserResponse", kIamNamespace);
  EXPECT_EQ(t.get<std::string>("CreateUserResponse.CreateUserResult.User.UserName"), "alice");
  EXPECT_EQ(t.get<std::string>("CreateUserResponse.CreateUserResult.User.Arn"),
            "arn:aws:iam::123456789012:user/alice");
  EXPECT_TRUE(
      t.get<std::string>("CreateUserResponse.CreateUserResult.User.UserId").starts_with("AIDA"));
  expect_error(iam("Action=CreateUser&UserName=alice"), 409, "EntityAlreadyExists", kIamNamespace);
  expect_error(iam("Action=GetUser&UserName=ghost"), 404, "NoSuchEntity", kIamNamespace);

  QueryResponse key = iam("Action=CreateAccessKey&UserName=alice");
  ASSERT_EQ(key.status, 200);
  pt::ptree k = parse_xml(key, "CreateAccessKeyResponse", kIamNamespace);
  std::string key_id =
      k.get<std::string>("CreateAccessKeyResponse.CreateAccessKeyResult.AccessKey.AccessKeyId");
  EXPECT_TRUE(key_id.starts_with("AKIA"));
  EXPECT_EQ(k.get<std::string>("CreateAccessKeyResponse.CreateAccessKeyResult.AccessKey.Status"),
            "Active");
  EXPECT_EQ(
      k.get<std::string>("CreateAccessKeyResponse.CreateAccessKeyResult.AccessKey.SecretAccessKey")
          .size(),
      40u);

  pt::ptree l = parse_xml(iam("Action=ListAccessKeys&UserName=alice"), "ListAccessKeysResponse",
                          kIamNamespace);
  const pt::ptree& members =
      l.get_child("ListAccessKeysResponse.ListAccessKeysResult.AccessKeyMetadata");
  ASSERT_EQ(members.count("member"), 1u);
  EXPECT_EQ(members.get<std::string>("member.AccessKeyId"), key_id);
  EXPECT_EQ(members.get_optional<std::string>("member.SecretAccessKey"), boost::none);

  expect_error(iam("Action=DeleteUser&UserName=alice"), 409, "DeleteConflict", kIamNamespace);
  QueryResponse deleted = iam("Action=DeleteAccessKey&UserName=alice&AccessKeyId=" + key_id);
  ASSERT_EQ(deleted.status, 200);
  pt::ptree d = parse_xml(deleted, "DeleteAccessKeyResponse", kIamNamespace);
  EXPECT_EQ(d.get<std::string>("DeleteAccessKeyResponse.ResponseMetadata.RequestId"), "req-1");
  EXPECT_EQ(iam("Action=DeleteUser&UserName=alice").status, 200);
  pt::ptree users = parse_xml(iam("Action=ListUsers"), "ListUsersResponse", kIamNamespace);
  EXPECT_EQ(users.get_child("ListUsersResponse.ListUsersResult.Users").count("member"), 0u);
}

TEST_F(QueryApiTest, IamRolesAndPoliciesWithUrlEncodedDocuments) {
  // The body of the SDK's captured CreateRole request.
  QueryResponse created = iam(
      "Action=CreateRole&Version=2010-05-08&RoleName=app&AssumeRolePolicyDocument=%7B%22Version%22%"
      "3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D");
  ASSERT_EQ(created.status, 200) << created.body;
  pt::ptree c = parse_xml(created, "CreateRoleResponse", kIamNamespace);
  const pt::ptree& role = c.get_child("CreateRoleResponse.CreateRoleResult.Role");
  EXPECT_EQ(role.get<std::string>("Arn"), "arn:aws:iam::123456789012:role/app");
  EXPECT_TRUE(role.get<std::string>("RoleId").starts_with("AROA"));
  EXPECT_EQ(*uri_decode(role.get<std::string>("AssumeRolePolicyDocument")),
            R"({"Version":"2012-10-17","Statement":[]})");
  expect_error(iam("Action=CreateRole&RoleName=app&AssumeRolePolicyDocument=%7B%7D"), 400,
               "MalformedPolicyDocument", kIamNamespace);
  expect_error(iam(form({{"Action", "PutRolePolicy"},
                         {"RoleName", "app"},
                         {"PolicyName", "p"},
                         {"PolicyDocument", "{\"Statement\": nope"}})),
               400, "MalformedPolicyDocument", kIamNamespace);
  std::string doc = R"({"Statement":{"Effect":"Allow","Action":"bedrock:*","Resource":"*"}})";
  ASSERT_EQ(iam(form({{"Action", "PutRolePolicy"},
                      {"RoleName", "app"},
                      {"PolicyName", "p"},
                      {"PolicyDocument", doc}}))
                .status,
            200);
  pt::ptree g = parse_xml(iam("Action=GetRolePolicy&RoleName=app&PolicyName=p"),
                          "GetRolePolicyResponse", kIamNamespace);
  EXPECT_EQ(
      *uri_decode(g.get<std::string>("GetRolePolicyResponse.GetRolePolicyResult.PolicyDocument")),
      doc);
  pt::ptree names = parse_xml(iam("Action=ListRolePolicies&RoleName=app"),
                              "ListRolePoliciesResponse", kIamNamespace);
  EXPECT_EQ(
      names.get<std::string>("ListRolePoliciesResponse.ListRolePoliciesResult.PolicyNames.member"),
      "p");
  pt::ptree roles = parse_xml(iam("Action=ListRoles"), "ListRolesResponse", kIamNamespace);
  EXPECT_EQ(roles.get<std::string>("ListRolesResponse.ListRolesResult.Roles.member.RoleName"),
            "app");
  expect_error(iam("Action=DeleteRole&RoleName=app"), 409, "DeleteConflict", kIamNamespace);
  EXPECT_EQ(iam("Action=DeleteRolePolicy&RoleName=app&PolicyName=p").status, 200);
  EXPECT_EQ(iam("Action=DeleteRole&RoleName=app").status, 200);
  expect_error(iam("Action=GetRole&RoleName=app"), 404, "NoSuchEntity", kIamNamespace);
  expect_error(iam("Action=CreateUser&UserName=bad%20name"), 400, "ValidationError", kIamNamespace);
}

TEST_F(QueryApiTest, UserPoliciesAndGetUserForTheCaller) {
  ASSERT_EQ(iam("Action=CreateUser&UserName=alice").status, 200);
  std::string doc = R"({"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}})";
  ASSERT_EQ(iam(form({{"Action", "PutUserPolicy"},
                      {"UserName", "alice"},
                      {"PolicyName", "deny"},
                      {"PolicyDocument", doc}}))
                .status,
            200);
  pt::ptree g = parse_xml(iam("Action=GetUserPolicy&UserName=alice&PolicyName=deny"),
                          "GetUserPolicyResponse", kIamNamespace);
  EXPECT_EQ(g.get<std::string>("GetUserPolicyResponse.GetUserPolicyResult.UserName"), "alice");
  Principal alice;
  alice.kind = Principal::Kind::kUser;
  alice.name = "alice";
  pt::ptree me = parse_xml(handle_iam(alice, "Action=GetUser", *iam_, "req-1"), "GetUserResponse",
                           kIamNamespace);
  EXPECT_EQ(me.get<std::string>("GetUserResponse.GetUserResult.User.UserName"), "alice");
  EXPECT_EQ(iam("Action=DeleteUserPolicy&UserName=alice&PolicyName=deny").status, 200);
  expect_error(iam("Action=DeleteUserPolicy&UserName=alice&PolicyName=deny"), 404, "NoSuchEntity",
               kIamNamespace);
}

TEST(QueryErrors, AuthenticationFailuresMapToTheStsErrorCodes) {
  struct Case {
    ErrorCode code;
    int status;
    const char* aws_code;
  };
  for (const Case& c : {Case{ErrorCode::kUnknownAccessKey, 403, "InvalidClientTokenId"},
                        Case{ErrorCode::kInvalidSignature, 403, "SignatureDoesNotMatch"},
                        Case{ErrorCode::kExpiredToken, 403, "ExpiredToken"},
                        Case{ErrorCode::kPermissionDenied, 403, "AccessDenied"},
                        Case{ErrorCode::kUnauthenticated, 403, "MissingAuthenticationToken"},
                        Case{ErrorCode::kInvalidArgument, 400, "IncompleteSignature"},
                        Case{ErrorCode::kInternal, 500, "InternalFailure"}}) {
    QueryResponse r = query_error_response(Error(c.code, "m <&> \"q\""), "req-1");
    expect_error(r, c.status, c.aws_code, kStsNamespace);
    EXPECT_NE(r.body.find("m &lt;&amp;&gt; &quot;q&quot;"), std::string::npos) << r.body;
  }
}

}  // namespace
}  // namespace plinth::api
