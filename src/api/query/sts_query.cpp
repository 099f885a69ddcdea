// STS over the Query protocol: GetCallerIdentity, GetSessionToken, AssumeRole, CreateBearerToken,
// AssumeRoleWithWebIdentity.
#include "plinth/api/query_api.h"
#include "query_internal.h"
#include "query_xml.h"

namespace plinth::api {
namespace {

std::string credentials_xml(const auth::TemporaryCredentials& c) {
  query::XmlWriter xml;
  xml.open("Credentials");
  xml.element("AccessKeyId", c.access_key_id);
  xml.element("SecretAccessKey", c.secret_access_key);
  xml.element("SessionToken", c.session_token);
  xml.element("Expiration", query::iso8601(c.expiration));
  xml.close("Credentials");
  std::string out = xml.take();
  return out.substr(out.find("<Credentials>"));  // without the XML declaration
}

}  // namespace

QueryResponse handle_assume_role_with_web_identity(std::string_view form_body,
                                                   const auth::WebIdentityService* service,
                                                   std::string_view request_id) {
  auto params = parse_form(form_body);
  if (!params) return query::handler_error(params.error(), request_id, kStsNamespace);
  auto error = [&](const Error& e) {
    // The codes AWS STS answers for web identity problems.
    auto respond = [&](int status, std::string_view code) {
      return query_error_response(status, code, e.message, request_id, kStsNamespace);
    };
    switch (e.code) {
      case ErrorCode::kUnauthenticated:
        return respond(400, "InvalidIdentityToken");
      case ErrorCode::kExpiredToken:
        return respond(400, "ExpiredTokenException");
      case ErrorCode::kIo:
        return respond(400, "IDPCommunicationError");
      case ErrorCode::kInvalidArgument:
        if (e.message.starts_with(auth::kMalformedPolicyPrefix)) {
          return respond(400, "MalformedPolicyDocument");
        }
        return respond(400, "ValidationError");
      default:
        return query_error_response(e, request_id, kStsNamespace);
    }
  };
  if (service == nullptr) {
    return error(Error(ErrorCode::kUnavailable, "Web identity federation is not enabled."));
  }
  auth::AssumeRoleWithWebIdentityRequest request;
  for (auto [name, out] : {std::pair{"RoleArn", &request.role_arn},
                           std::pair{"RoleSessionName", &request.role_session_name},
                           std::pair{"WebIdentityToken", &request.web_identity_token}}) {
    auto value = query::required(*params, name);
    if (!value) return error(value.error());
    *out = std::move(*value);
  }
  auto duration = query::optional_int(*params, "DurationSeconds");
  if (!duration) return error(duration.error());
  request.duration_seconds = *duration;
  request.policy = query::optional_param(*params, "Policy");
  auto result = service->assume_role_with_web_identity(request);
  if (!result) return error(result.error());
  std::string inner = credentials_xml(result->role.credentials) + "<SubjectFromWebIdentityToken>" +
                      query::xml_escape(result->subject) +
                      "</SubjectFromWebIdentityToken><AssumedRoleUser>" + "<AssumedRoleId>" +
                      query::xml_escape(result->role.assumed_role_id) + "</AssumedRoleId><Arn>" +
                      query::xml_escape(result->role.assumed_role_arn) +
                      "</Arn></AssumedRoleUser><Provider>" + query::xml_escape(result->provider) +
                      "</Provider><Audience>" + query::xml_escape(result->audience) + "</Audience>";
  return query::success("AssumeRoleWithWebIdentity", kStsNamespace, inner, request_id);
}

QueryResponse handle_sts(const auth::Principal& caller, std::string_view form_body,
                         const auth::StsService& sts, const auth::RequestContext& ctx,
                         std::string_view request_id) {
  auto params = parse_form(form_body);
  if (!params) return query::handler_error(params.error(), request_id, kStsNamespace);
  auto action = query::required(*params, "Action");
  if (!action) {
    return query_error_response(400, "MissingAction", "Missing Action", request_id, kStsNamespace);
  }
  auto error = [&](const Error& e) { return query::handler_error(e, request_id, kStsNamespace); };

  if (*action == "GetCallerIdentity") {
    std::string inner = "<Arn>" + query::xml_escape(caller.arn) + "</Arn><UserId>" +
                        query::xml_escape(caller.user_id) + "</UserId><Account>" +
                        query::xml_escape(caller.account_id) + "</Account>";
    return query::success(*action, kStsNamespace, inner, request_id);
  }
  if (*action == "GetSessionToken") {
    auto duration = query::optional_int(*params, "DurationSeconds");
    if (!duration) return error(duration.error());
    auto creds = sts.get_session_token(caller, *duration);
    if (!creds) return error(creds.error());
    return query::success(*action, kStsNamespace, credentials_xml(*creds), request_id);
  }
  if (*action == "AssumeRole") {
    auto role_arn = query::required(*params, "RoleArn");
    if (!role_arn) return error(role_arn.error());
    auto session_name = query::required(*params, "RoleSessionName");
    if (!session_name) return error(session_name.error());
    auto duration = query::optional_int(*params, "DurationSeconds");
    if (!duration) return error(duration.error());
    auth::AssumeRoleRequest request{*role_arn, *session_name, *duration,
                                    query::optional_param(*params, "Policy")};
    auto result = sts.assume_role(caller, request, ctx);
    if (!result) return error(result.error());
    std::string inner = credentials_xml(result->credentials) + "<AssumedRoleUser><AssumedRoleId>" +
                        query::xml_escape(result->assumed_role_id) + "</AssumedRoleId><Arn>" +
                        query::xml_escape(result->assumed_role_arn) + "</Arn></AssumedRoleUser>";
    return query::success(*action, kStsNamespace, inner, request_id);
  }
  if (*action == "CreateBearerToken") {
    auto duration = query::optional_int(*params, "DurationSeconds");
    if (!duration) return error(duration.error());
    auto token = sts.mint_bearer_token(caller, *duration);
    if (!token) return error(token.error());
    std::string inner = "<BearerToken>" + query::xml_escape(token->token) +
                        "</BearerToken><Expiration>" + query::iso8601(token->expiration) +
                        "</Expiration>";
    return query::success(*action, kStsNamespace, inner, request_id);
  }
  return query_error_response(400, "InvalidAction",
                              "Could not find operation " + *action + " for version 2011-06-15",
                              request_id, kStsNamespace);
}

}  // namespace plinth::api
