// The AWS Query protocol for STS and IAM: form-encoded requests in, AWS XML responses out.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "plinth/auth/iam.h"
#include "plinth/auth/principal.h"
#include "plinth/auth/sts.h"
#include "plinth/auth/web_identity.h"
#include "plinth/core/result.h"

namespace plinth::api {

inline constexpr std::string_view kStsNamespace = "https://sts.amazonaws.com/doc/2011-06-15/";
inline constexpr std::string_view kIamNamespace = "https://iam.amazonaws.com/doc/2010-05-08/";

struct QueryResponse {
  int status = 200;
  std::string content_type = "text/xml";
  std::string body;
};

// Parameters of an application/x-www-form-urlencoded body ('+' is a space). kInvalidArgument on a
// malformed escape. Later duplicates win.
Result<std::map<std::string, std::string>> parse_form(std::string_view body);

// What the gateway must authorize before calling handle_sts / handle_iam.
struct QueryAction {
  std::string name;        // "AssumeRole", "CreateUser", …
  std::string iam_action;  // "sts:AssumeRole", "iam:CreateUser", …
  std::string resource;    // the ARN acted on ("*" when none)
  // false for GetCallerIdentity, GetSessionToken, CreateBearerToken and AssumeRole: any
  // authenticated caller may call them (AssumeRole is governed by the role's trust policy
  // instead of the caller's identity policy in this gateway). true for every IAM action.
  bool needs_identity_authorization = true;
};

// kInvalidArgument when Action is missing or unknown to the service ("sts" or "iam").
Result<QueryAction> query_action(std::string_view service, std::string_view form_body,
                                 std::string_view account_id);

// STS actions: GetCallerIdentity, GetSessionToken, AssumeRole, and CreateBearerToken (Plinth's
// own: DurationSeconds optional; answers <CreateBearerTokenResult><BearerToken>…<Expiration>).
QueryResponse handle_sts(const auth::Principal& caller, std::string_view form_body,
                         const auth::StsService& sts, const auth::RequestContext& ctx,
                         std::string_view request_id);

// AssumeRoleWithWebIdentity (unsigned, as on AWS): RoleArn, RoleSessionName, WebIdentityToken,
// DurationSeconds, Policy. Errors InvalidIdentityToken, ExpiredTokenException,
// IDPCommunicationError (400), AccessDenied (403). service null: ServiceUnavailable.
QueryResponse handle_assume_role_with_web_identity(std::string_view form_body,
                                                   const auth::WebIdentityService* service,
                                                   std::string_view request_id);

// IAM actions: CreateUser, GetUser, DeleteUser, ListUsers, CreateAccessKey, DeleteAccessKey,
// ListAccessKeys, CreateRole, GetRole, ListRoles, DeleteRole, Put/Get/DeleteRolePolicy,
// Put/Get/DeleteUserPolicy, Create/List/Update/Reset/DeleteServiceSpecificCredential (Bedrock
// API keys), Create/Get/List/DeleteOpenIDConnectProvider. GetUser and the service-specific
// credential actions without UserName answer for the calling user.
QueryResponse handle_iam(const auth::Principal& caller, std::string_view form_body,
                         auth::IamService& iam, std::string_view request_id);

// Messages of the kInvalidArgument errors parse_form() and query_action() return, so that
// query_error_response() answers MalformedQueryString / MissingAction / InvalidAction for them.
inline constexpr std::string_view kMalformedFormMessage = "The query string is malformed.";
inline constexpr std::string_view kMissingActionMessage = "Missing Action";
inline constexpr std::string_view kUnknownActionPrefix = "Could not find operation ";

// <ErrorResponse> for an error that happened before the handlers (authentication, authorization,
// query_action), with the AWS code for STS/IAM: kUnknownAccessKey InvalidClientTokenId 403,
// kInvalidSignature SignatureDoesNotMatch 403, kExpiredToken ExpiredToken 403, kPermissionDenied
// AccessDenied 403, kUnauthenticated MissingAuthenticationToken 403, kInvalidArgument
// IncompleteSignature 400 (or InvalidAction / MissingAction / MalformedQueryString, see above).
QueryResponse query_error_response(const Error& error, std::string_view request_id,
                                   std::string_view xml_namespace = kStsNamespace);
// The same with an explicit code and status.
QueryResponse query_error_response(int status, std::string_view code, std::string_view message,
                                   std::string_view request_id,
                                   std::string_view xml_namespace = kStsNamespace);

}  // namespace plinth::api
