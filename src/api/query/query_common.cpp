// Query protocol plumbing: form parsing, action names for authorization, XML and error shapes.
#include <algorithm>
#include <ctime>

#include "plinth/auth/iam.h"
#include "plinth/core/encoding.h"
#include "query_internal.h"
#include "query_xml.h"

namespace plinth::api {
namespace query {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string iso8601_seconds(int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  return iso8601_seconds(
      std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count());
}

QueryResponse handler_error(const Error& error, std::string_view request_id,
                            std::string_view xml_namespace) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      if (error.message.starts_with(auth::kMalformedPolicyPrefix)) {
        return query_error_response(400, "MalformedPolicyDocument", error.message, request_id,
                                    xml_namespace);
      }
      return query_error_response(400, "ValidationError", error.message, request_id, xml_namespace);
    case ErrorCode::kConflict:
      return query_error_response(409, "DeleteConflict", error.message, request_id, xml_namespace);
    case ErrorCode::kThrottled:
      return query_error_response(409, "LimitExceeded", error.message, request_id, xml_namespace);
    default:
      return query_error_response(error, request_id, xml_namespace);
  }
}

Result<std::string> required(const Params& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end() || it->second.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value null at '" + name +
                    "' failed to satisfy constraint: Member must not be null");
  }
  return it->second;
}

std::optional<std::string> optional_param(const Params& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return it->second;
}

Result<std::optional<int>> optional_int(const Params& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end()) return std::optional<int>();
  const std::string& text = it->second;
  bool digits = !text.empty() && text.size() <= 9 &&
                std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits) {
    return fail(ErrorCode::kInvalidArgument, "Value '" + text + "' at '" + name +
                                                 "' failed to satisfy constraint: Member must "
                                                 "be an integer");
  }
  return std::optional<int>(std::stoi(text));
}

QueryResponse success(std::string_view action, std::string_view xml_namespace,
                      std::string_view result_inner, std::string_view request_id,
                      bool with_result) {
  std::string name(action);
  std::string body = R"(<?xml version="1.0" encoding="UTF-8"?>)"
                     "\n";
  body += "<" + name + "Response xmlns=\"" + std::string(xml_namespace) + "\">";
  if (with_result)
    body += "<" + name + "Result>" + std::string(result_inner) + "</" + name + "Result>";
  body +=
      "<ResponseMetadata><RequestId>" + xml_escape(request_id) + "</RequestId></ResponseMetadata>";
  body += "</" + name + "Response>";
  return QueryResponse{200, "text/xml", std::move(body)};
}

}  // namespace query

Result<std::map<std::string, std::string>> parse_form(std::string_view body) {
  auto pairs = parse_form_urlencoded(body);
  if (!pairs) return fail(ErrorCode::kInvalidArgument, std::string(kMalformedFormMessage));
  std::map<std::string, std::string> params;
  for (auto& [name, value] : *pairs) params[name] = std::move(value);
  return params;
}

Result<QueryAction> query_action(std::string_view service, std::string_view form_body,
                                 std::string_view account_id) {
  auto params = parse_form(form_body);
  if (!params) return std::unexpected(params.error());
  auto action_it = params->find("Action");
  if (action_it == params->end() || action_it->second.empty()) {
    return fail(ErrorCode::kInvalidArgument, std::string(kMissingActionMessage));
  }
  const std::string& action = action_it->second;
  auto param = [&](const char* name) {
    auto it = params->find(name);
    return it == params->end() ? std::string() : it->second;
  };
  std::string account(account_id);
  if (service == "sts") {
    if (action == "GetCallerIdentity" || action == "GetSessionToken" ||
        action == "CreateBearerToken") {
      return QueryAction{action, "sts:" + action, "*", false};
    }
    if (action == "AssumeRole") {
      std::string role = param("RoleArn");
      return QueryAction{action, "sts:AssumeRole", role.empty() ? "*" : role, false};
    }
  } else if (service == "iam") {
    static const std::vector<std::string> kUserActions = {"CreateUser",
                                                          "GetUser",
                                                          "DeleteUser",
                                                          "CreateAccessKey",
                                                          "DeleteAccessKey",
                                                          "ListAccessKeys",
                                                          "PutUserPolicy",
                                                          "GetUserPolicy",
                                                          "DeleteUserPolicy",
                                                          "ListUserPolicies",
                                                          "CreateServiceSpecificCredential",
                                                          "ListServiceSpecificCredentials",
                                                          "UpdateServiceSpecificCredential",
                                                          "ResetServiceSpecificCredential",
                                                          "DeleteServiceSpecificCredential"};
    static const std::vector<std::string> kRoleActions = {
        "CreateRole",    "GetRole",          "DeleteRole",      "PutRolePolicy",
        "GetRolePolicy", "DeleteRolePolicy", "ListRolePolicies"};
    auto in = [&](const std::vector<std::string>& list) {
      return std::find(list.begin(), list.end(), action) != list.end();
    };
    if (in(kUserActions)) {
      std::string user = param("UserName");
      return QueryAction{action, "iam:" + action,
                         user.empty() ? "*" : "arn:aws:iam::" + account + ":user/" + user, true};
    }
    if (in(kRoleActions)) {
      std::string role = param("RoleName");
      return QueryAction{action, "iam:" + action,
                         role.empty() ? "*" : "arn:aws:iam::" + account + ":role/" + role, true};
    }
    if (action == "CreateOpenIDConnectProvider" || action == "GetOpenIDConnectProvider" ||
        action == "DeleteOpenIDConnectProvider" || action == "ListOpenIDConnectProviders") {
      std::string arn = param("OpenIDConnectProviderArn");
      return QueryAction{action, "iam:" + action, arn.empty() ? "*" : arn, true};
    }
    if (action == "ListUsers" || action == "ListRoles") {
      return QueryAction{action, "iam:" + action, "*", true};
    }
  }
  return fail(ErrorCode::kInvalidArgument,
              std::string(kUnknownActionPrefix) + action + " for version " + param("Version"));
}

QueryResponse query_error_response(int status, std::string_view code, std::string_view message,
                                   std::string_view request_id, std::string_view xml_namespace) {
  query::XmlWriter xml;
  xml.open("ErrorResponse", xml_namespace).open("Error");
  xml.element("Type", status >= 500 ? "Receiver" : "Sender");
  xml.element("Code", code).element("Message", message).close("Error");
  xml.element("RequestId", request_id).close("ErrorResponse");
  return QueryResponse{status, "text/xml", xml.take()};
}

QueryResponse query_error_response(const Error& error, std::string_view request_id,
                                   std::string_view xml_namespace) {
  auto respond = [&](int status, std::string_view code) {
    return query_error_response(status, code, error.message, request_id, xml_namespace);
  };
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
      // query_action() failures reach here too: name them as AWS does.
      if (error.message.starts_with(kUnknownActionPrefix)) return respond(400, "InvalidAction");
      if (error.message == kMissingActionMessage) return respond(400, "MissingAction");
      if (error.message == kMalformedFormMessage) return respond(400, "MalformedQueryString");
      return respond(400, "IncompleteSignature");
    case ErrorCode::kNotFound:
      return respond(404, "NoSuchEntity");
    case ErrorCode::kAlreadyExists:
      return respond(409, "EntityAlreadyExists");
    case ErrorCode::kConflict:
      return respond(409, "DeleteConflict");
    case ErrorCode::kUnauthenticated:
      return respond(403, "MissingAuthenticationToken");
    case ErrorCode::kInvalidSignature:
      return respond(403, "SignatureDoesNotMatch");
    case ErrorCode::kUnknownAccessKey:
      return respond(403, "InvalidClientTokenId");
    case ErrorCode::kExpiredToken:
      return respond(403, "ExpiredToken");
    case ErrorCode::kPermissionDenied:
      return respond(403, "AccessDenied");
    case ErrorCode::kThrottled:
      return respond(400, "Throttling");
    case ErrorCode::kPayloadTooLarge:
      return respond(413, "RequestEntityTooLarge");
    case ErrorCode::kUnavailable:
      return respond(503, "ServiceUnavailable");
    default:
      return respond(500, "InternalFailure");
  }
}

}  // namespace plinth::api
