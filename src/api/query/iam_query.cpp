// IAM over the Query protocol: users, access keys, roles and inline policies.
#include "plinth/api/query_api.h"
#include "plinth/core/encoding.h"
#include "query_internal.h"
#include "query_xml.h"

namespace plinth::api {
namespace {

using query::xml_escape;

std::string user_xml(const store::UserRecord& u, const char* tag = "User") {
  return std::string("<") + tag + "><Path>/</Path><UserName>" + xml_escape(u.name) +
         "</UserName><UserId>" + xml_escape(u.user_id) + "</UserId><Arn>" + xml_escape(u.arn) +
         "</Arn><CreateDate>" + query::iso8601_seconds(u.created_at) + "</CreateDate></" + tag +
         ">";
}

// IAM returns policy documents URL-encoded (RFC 3986), as AWS does.
std::string role_xml(const store::RoleRecord& r, const char* tag = "Role") {
  std::string out = std::string("<") + tag + "><Path>/</Path><RoleName>" + xml_escape(r.name) +
                    "</RoleName><RoleId>" + xml_escape(r.role_id) + "</RoleId><Arn>" +
                    xml_escape(r.arn) + "</Arn><CreateDate>" +
                    query::iso8601_seconds(r.created_at) + "</CreateDate>" +
                    "<AssumeRolePolicyDocument>" + xml_escape(uri_encode(r.assume_role_policy)) +
                    "</AssumeRolePolicyDocument>";
  if (!r.description.empty()) out += "<Description>" + xml_escape(r.description) + "</Description>";
  out += "<MaxSessionDuration>" + std::to_string(r.max_session_duration) + "</MaxSessionDuration>";
  return out + "</" + tag + ">";
}

std::string key_metadata_xml(const store::AccessKeyRecord& k) {
  return "<member><UserName>" + xml_escape(k.user_name) + "</UserName><AccessKeyId>" +
         xml_escape(k.access_key_id) + "</AccessKeyId><Status>" + xml_escape(k.status) +
         "</Status><CreateDate>" + query::iso8601_seconds(k.created_at) + "</CreateDate></member>";
}

std::string policy_names_xml(const std::vector<store::InlinePolicy>& policies) {
  std::string out = "<PolicyNames>";
  for (const auto& p : policies) out += "<member>" + xml_escape(p.name) + "</member>";
  return out + "</PolicyNames><IsTruncated>false</IsTruncated>";
}

// The public parts of a service-specific credential; secret: the API key, on create and reset.
std::string service_credential_xml(const store::ServiceCredentialRecord& c, std::string_view tag,
                                   const std::string& account_id, bool with_secret) {
  std::string out = "<" + std::string(tag) + "><CreateDate>" +
                    query::iso8601_seconds(c.created_at) + "</CreateDate>";
  if (c.expires_at != 0) {
    out += "<ExpirationDate>" + query::iso8601_seconds(c.expires_at) + "</ExpirationDate>";
  }
  out += "<ServiceName>" + xml_escape(c.service_name) + "</ServiceName><ServiceUserName>" +
         xml_escape(c.user_name + "-at-" + account_id) + "</ServiceUserName>" +
         "<ServiceCredentialAlias>" + xml_escape(c.alias) + "</ServiceCredentialAlias>";
  if (with_secret) {
    out += "<ServiceCredentialSecret>" + xml_escape(c.secret) + "</ServiceCredentialSecret>";
  }
  out += "<ServiceSpecificCredentialId>" + xml_escape(c.credential_id) +
         "</ServiceSpecificCredentialId><UserName>" + xml_escape(c.user_name) +
         "</UserName><Status>" + xml_escape(c.status) + "</Status>";
  return out + "</" + std::string(tag) + ">";
}

// NAME.member.1, NAME.member.2, … in order (stops at the first gap).
std::vector<std::string> member_list(const query::Params& params, const std::string& name) {
  std::vector<std::string> out;
  for (size_t i = 1; i <= 1000; ++i) {
    auto it = params.find(name + ".member." + std::to_string(i));
    if (it == params.end()) break;
    out.push_back(it->second);
  }
  return out;
}

std::string members_xml(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += "<member>" + xml_escape(item) + "</member>";
  return out;
}

std::optional<QueryResponse> handle_oidc_provider_action(const std::string& action,
                                                         const query::Params& params,
                                                         auth::IamService& iam,
                                                         std::string_view request_id) {
  auto error = [&](const Error& e) { return query::handler_error(e, request_id, kIamNamespace); };
  auto ok = [&](std::string_view inner, bool with_result = true) {
    return query::success(action, kIamNamespace, inner, request_id, with_result);
  };
  if (action == "ListOpenIDConnectProviders") {
    auto list = iam.list_open_id_connect_providers();
    if (!list) return error(list.error());
    std::string inner = "<OpenIDConnectProviderList>";
    for (const auto& p : *list) inner += "<member><Arn>" + xml_escape(p.arn) + "</Arn></member>";
    return ok(inner + "</OpenIDConnectProviderList>");
  }
  if (action == "CreateOpenIDConnectProvider") {
    auto url = query::required(params, "Url");
    if (!url) return error(url.error());
    auto created = iam.create_open_id_connect_provider(*url, member_list(params, "ClientIDList"),
                                                       member_list(params, "ThumbprintList"));
    if (!created) return error(created.error());
    return ok("<OpenIDConnectProviderArn>" + xml_escape(created->arn) +
              "</OpenIDConnectProviderArn>");
  }
  if (action != "GetOpenIDConnectProvider" && action != "DeleteOpenIDConnectProvider") {
    return std::nullopt;
  }
  auto arn = query::required(params, "OpenIDConnectProviderArn");
  if (!arn) return error(arn.error());
  if (action == "DeleteOpenIDConnectProvider") {
    auto s = iam.delete_open_id_connect_provider(*arn);
    if (!s) return error(s.error());
    return ok("", false);
  }
  auto p = iam.get_open_id_connect_provider(*arn);
  if (!p) return error(p.error());
  return ok("<Url>" + xml_escape(p->url) + "</Url><ClientIDList>" + members_xml(p->client_ids) +
            "</ClientIDList><ThumbprintList>" + members_xml(p->thumbprints) +
            "</ThumbprintList><CreateDate>" + query::iso8601_seconds(p->created_at) +
            "</CreateDate>");
}

}  // namespace

QueryResponse handle_iam(const auth::Principal& caller, std::string_view form_body,
                         auth::IamService& iam, std::string_view request_id) {
  auto params = parse_form(form_body);
  if (!params) return query::handler_error(params.error(), request_id, kIamNamespace);
  auto action_param = query::required(*params, "Action");
  if (!action_param) {
    return query_error_response(400, "MissingAction", "Missing Action", request_id, kIamNamespace);
  }
  const std::string& action = *action_param;
  auto error = [&](const Error& e) { return query::handler_error(e, request_id, kIamNamespace); };
  auto ok = [&](std::string_view inner) {
    return query::success(action, kIamNamespace, inner, request_id);
  };
  auto done = [&](const Status& s) {
    if (!s) return error(s.error());
    return query::success(action, kIamNamespace, "", request_id, /*with_result=*/false);
  };
  auto param = [&](const char* name) { return query::required(*params, name); };

  if (action == "ListUsers") {
    auto users = iam.list_users();
    if (!users) return error(users.error());
    std::string inner = "<Users>";
    for (const auto& u : *users) inner += user_xml(u, "member");
    return ok(inner + "</Users><IsTruncated>false</IsTruncated>");
  }
  if (action == "ListRoles") {
    auto roles = iam.list_roles();
    if (!roles) return error(roles.error());
    std::string inner = "<Roles>";
    for (const auto& r : *roles) inner += role_xml(r, "member");
    return ok(inner + "</Roles><IsTruncated>false</IsTruncated>");
  }
  if (action == "GetUser" && !params->contains("UserName")) {
    // Without UserName, GetUser describes the caller (users only, as on AWS).
    if (caller.kind != auth::Principal::Kind::kUser) {
      return error(Error(ErrorCode::kInvalidArgument,
                         "Must specify userName when calling with non-User credentials"));
    }
    (*params)["UserName"] = caller.name;
  }

  if (auto answered = handle_oidc_provider_action(action, *params, iam, request_id)) {
    return std::move(*answered);
  }
  bool service_credential_action =
      action == "CreateServiceSpecificCredential" || action == "ListServiceSpecificCredentials" ||
      action == "UpdateServiceSpecificCredential" || action == "ResetServiceSpecificCredential" ||
      action == "DeleteServiceSpecificCredential";
  if (service_credential_action && !params->contains("UserName")) {
    // As on AWS, UserName defaults to the calling user.
    if (caller.kind != auth::Principal::Kind::kUser) {
      return error(Error(ErrorCode::kInvalidArgument,
                         "Must specify userName when calling with non-User credentials"));
    }
    (*params)["UserName"] = caller.name;
  }
  if (service_credential_action) {
    const std::string user = (*params)["UserName"];
    const std::string& account = iam.account_id();
    if (action == "CreateServiceSpecificCredential") {
      auto service = param("ServiceName");
      if (!service) return error(service.error());
      auto days = query::optional_int(*params, "CredentialAgeDays");
      if (!days) return error(days.error());
      auto created = iam.create_service_specific_credential(user, *service, *days);
      if (!created) return error(created.error());
      return ok(service_credential_xml(*created, "ServiceSpecificCredential", account, true));
    }
    if (action == "ListServiceSpecificCredentials") {
      auto list = iam.list_service_specific_credentials(
          user, query::optional_param(*params, "ServiceName").value_or(""));
      if (!list) return error(list.error());
      std::string inner = "<ServiceSpecificCredentials>";
      for (const auto& c : *list) inner += service_credential_xml(c, "member", account, false);
      return ok(inner + "</ServiceSpecificCredentials><IsTruncated>false</IsTruncated>");
    }
    auto id = param("ServiceSpecificCredentialId");
    if (!id) return error(id.error());
    if (action == "UpdateServiceSpecificCredential") {
      auto status = param("Status");
      if (!status) return error(status.error());
      return done(iam.update_service_specific_credential(user, *id, *status));
    }
    if (action == "DeleteServiceSpecificCredential") {
      return done(iam.delete_service_specific_credential(user, *id));
    }
    auto reset = iam.reset_service_specific_credential(user, *id);
    if (!reset) return error(reset.error());
    return ok(service_credential_xml(*reset, "ServiceSpecificCredential", account, true));
  }

  if (action == "CreateUser" || action == "GetUser" || action == "DeleteUser" ||
      action == "CreateAccessKey" || action == "ListAccessKeys" || action == "DeleteAccessKey" ||
      action == "PutUserPolicy" || action == "GetUserPolicy" || action == "DeleteUserPolicy" ||
      action == "ListUserPolicies") {
    auto user = param("UserName");
    if (!user) return error(user.error());
    if (action == "CreateUser" || action == "GetUser") {
      auto record = action == "CreateUser" ? iam.create_user(*user) : iam.get_user(*user);
      if (!record) return error(record.error());
      return ok(user_xml(*record));
    }
    if (action == "DeleteUser") return done(iam.delete_user(*user));
    if (action == "CreateAccessKey") {
      auto key = iam.create_access_key(*user);
      if (!key) return error(key.error());
      return ok("<AccessKey><UserName>" + xml_escape(key->user_name) + "</UserName><AccessKeyId>" +
                xml_escape(key->access_key_id) + "</AccessKeyId><Status>" +
                xml_escape(key->status) + "</Status><SecretAccessKey>" +
                xml_escape(key->secret_access_key) + "</SecretAccessKey><CreateDate>" +
                query::iso8601_seconds(key->created_at) + "</CreateDate></AccessKey>");
    }
    if (action == "ListAccessKeys") {
      auto keys = iam.list_access_keys(*user);
      if (!keys) return error(keys.error());
      std::string inner = "<UserName>" + xml_escape(*user) + "</UserName><AccessKeyMetadata>";
      for (const auto& k : *keys) inner += key_metadata_xml(k);
      return ok(inner + "</AccessKeyMetadata><IsTruncated>false</IsTruncated>");
    }
    if (action == "DeleteAccessKey") {
      auto key_id = param("AccessKeyId");
      if (!key_id) return error(key_id.error());
      return done(iam.delete_access_key(*user, *key_id));
    }
    if (action == "ListUserPolicies") {
      auto policies = iam.list_user_policies(*user);
      if (!policies) return error(policies.error());
      return ok(policy_names_xml(*policies));
    }
    auto policy_name = param("PolicyName");
    if (!policy_name) return error(policy_name.error());
    if (action == "PutUserPolicy") {
      auto document = param("PolicyDocument");
      if (!document) return error(document.error());
      return done(iam.put_user_policy(*user, *policy_name, *document));
    }
    if (action == "DeleteUserPolicy") return done(iam.delete_user_policy(*user, *policy_name));
    auto policy = iam.get_user_policy(*user, *policy_name);
    if (!policy) return error(policy.error());
    return ok("<UserName>" + xml_escape(*user) + "</UserName><PolicyName>" +
              xml_escape(policy->name) + "</PolicyName><PolicyDocument>" +
              xml_escape(uri_encode(policy->document)) + "</PolicyDocument>");
  }

  if (action == "CreateRole" || action == "GetRole" || action == "DeleteRole" ||
      action == "PutRolePolicy" || action == "GetRolePolicy" || action == "DeleteRolePolicy" ||
      action == "ListRolePolicies") {
    auto role = param("RoleName");
    if (!role) return error(role.error());
    if (action == "CreateRole") {
      auto trust = param("AssumeRolePolicyDocument");
      if (!trust) return error(trust.error());
      auto max = query::optional_int(*params, "MaxSessionDuration");
      if (!max) return error(max.error());
      auto record =
          iam.create_role(*role, *trust, query::optional_param(*params, "Description").value_or(""),
                          max->value_or(3600));
      if (!record) return error(record.error());
      return ok(role_xml(*record));
    }
    if (action == "GetRole") {
      auto record = iam.get_role(*role);
      if (!record) return error(record.error());
      return ok(role_xml(*record));
    }
    if (action == "DeleteRole") return done(iam.delete_role(*role));
    if (action == "ListRolePolicies") {
      auto policies = iam.list_role_policies(*role);
      if (!policies) return error(policies.error());
      return ok(policy_names_xml(*policies));
    }
    auto policy_name = param("PolicyName");
    if (!policy_name) return error(policy_name.error());
    if (action == "PutRolePolicy") {
      auto document = param("PolicyDocument");
      if (!document) return error(document.error());
      return done(iam.put_role_policy(*role, *policy_name, *document));
    }
    if (action == "DeleteRolePolicy") return done(iam.delete_role_policy(*role, *policy_name));
    auto policy = iam.get_role_policy(*role, *policy_name);
    if (!policy) return error(policy.error());
    return ok("<RoleName>" + xml_escape(*role) + "</RoleName><PolicyName>" +
              xml_escape(policy->name) + "</PolicyName><PolicyDocument>" +
              xml_escape(uri_encode(policy->document)) + "</PolicyDocument>");
  }
  return query_error_response(400, "InvalidAction",
                              "Could not find operation " + action + " for version 2010-05-08",
                              request_id, kIamNamespace);
}

}  // namespace plinth::api
