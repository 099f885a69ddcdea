// IAM operations over the IamStore: name validation, ids, policy validation, delete conflicts.
#include <regex>

#include "plinth/auth/bedrock_api_key.h"
#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"
#include "plinth/core/ids.h"
#include "plinth/core/pass_error.h"

namespace plinth::auth {
namespace {

Status check_name(std::string_view value, const char* field, size_t max) {
  static const std::regex kPattern(R"([\w+=,.@-]+)");
  if (value.empty() || value.size() > max ||
      !std::regex_match(value.begin(), value.end(), kPattern)) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + std::string(value) + "' at '" + field +
                    "' failed to satisfy constraint: Member must satisfy regular expression "
                    "pattern: [\\w+=,.@-]+ and have length between 1 and " +
                    std::to_string(max));
  }
  return ok();
}

Status check_policy(const std::string& document) {
  if (document.size() > 131072) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(kMalformedPolicyPrefix) + ": the policy document is too large");
  }
  if (auto s = validate_policy_document(document); !s) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(kMalformedPolicyPrefix) + ": " + s.error().message);
  }
  return ok();
}

}  // namespace

Result<store::UserRecord> IamService::create_user(const std::string& user_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  store::UserRecord user{user_name, new_base32_id(*random_, "AIDA", 17),
                         "arn:aws:iam::" + account_id_ + ":user/" + user_name,
                         clock_->unix_seconds()};
  if (auto s = store_.create_user(user); !s) return pass(s);
  return user;
}

Result<store::UserRecord> IamService::get_user(const std::string& user_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  return store_.get_user(user_name);
}

Result<std::vector<store::UserRecord>> IamService::list_users() { return store_.list_users(); }

Status IamService::delete_user(const std::string& user_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return s;
  auto keys = store_.list_access_keys(user_name);
  if (!keys) return pass(keys);
  if (!keys->empty()) {
    return fail(ErrorCode::kConflict, "Cannot delete entity, must delete access keys first.");
  }
  auto policies = store_.list_user_policies(user_name);
  if (!policies) return pass(policies);
  if (!policies->empty()) {
    return fail(ErrorCode::kConflict, "Cannot delete entity, must delete policies first.");
  }
  return store_.delete_user(user_name);
}

Result<store::AccessKeyRecord> IamService::create_access_key(const std::string& user_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  auto existing = store_.list_access_keys(user_name);
  if (!existing) return pass(existing);
  if (existing->size() >= 2) {
    return fail(ErrorCode::kThrottled, "Cannot exceed quota for AccessKeysPerUser: 2");
  }
  store::AccessKeyRecord key{new_base32_id(*random_, "AKIA", 16), user_name,
                             new_secret_key(*random_), "Active", clock_->unix_seconds()};
  if (auto s = store_.create_access_key(key); !s) return pass(s);
  return key;
}

Status IamService::delete_access_key(const std::string& user_name,
                                     const std::string& access_key_id) {
  if (auto s = check_name(user_name, "userName", 64); !s) return s;
  if (auto user = store_.get_user(user_name); !user) return pass(user);
  return store_.delete_access_key(user_name, access_key_id);
}

Result<std::vector<store::AccessKeyRecord>> IamService::list_access_keys(
    const std::string& user_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  return store_.list_access_keys(user_name);
}

Result<store::RoleRecord> IamService::create_role(const std::string& role_name,
                                                  const std::string& assume_role_policy_document,
                                                  const std::string& description,
                                                  int max_session_duration) {
  if (auto s = check_name(role_name, "roleName", 64); !s) return pass(s);
  if (auto s = check_policy(assume_role_policy_document); !s) return pass(s);
  if (max_session_duration < 3600 || max_session_duration > 43200) {
    return fail(ErrorCode::kInvalidArgument,
                "MaxSessionDuration must be between 3600 and 43200 seconds");
  }
  store::RoleRecord role{role_name,
                         new_base32_id(*random_, "AROA", 17),
                         "arn:aws:iam::" + account_id_ + ":role/" + role_name,
                         assume_role_policy_document,
                         description,
                         max_session_duration,
                         clock_->unix_seconds()};
  if (auto s = store_.create_role(role); !s) return pass(s);
  return role;
}

Result<store::RoleRecord> IamService::get_role(const std::string& role_name) {
  if (auto s = check_name(role_name, "roleName", 64); !s) return pass(s);
  return store_.get_role(role_name);
}

Result<std::vector<store::RoleRecord>> IamService::list_roles() { return store_.list_roles(); }

Status IamService::delete_role(const std::string& role_name) {
  if (auto s = check_name(role_name, "roleName", 64); !s) return s;
  if (auto role = store_.get_role(role_name); !role) return pass(role);
  auto policies = store_.list_role_policies(role_name);
  if (!policies) return pass(policies);
  if (!policies->empty()) {
    return fail(ErrorCode::kConflict, "Cannot delete entity, must delete policies first.");
  }
  return store_.delete_role(role_name);
}

Status IamService::put_role_policy(const std::string& role_name, const std::string& policy_name,
                                   const std::string& document) {
  if (auto s = check_name(role_name, "roleName", 64); !s) return s;
  if (auto s = check_name(policy_name, "policyName", 128); !s) return s;
  if (auto s = check_policy(document); !s) return s;
  return store_.put_role_policy(role_name, store::InlinePolicy{policy_name, document});
}

Result<store::InlinePolicy> IamService::get_role_policy(const std::string& role_name,
                                                        const std::string& policy_name) {
  if (auto role = store_.get_role(role_name); !role) return pass(role);
  return store_.get_role_policy(role_name, policy_name);
}

Status IamService::delete_role_policy(const std::string& role_name,
                                      const std::string& policy_name) {
  if (auto role = store_.get_role(role_name); !role) return pass(role);
  return store_.delete_role_policy(role_name, policy_name);
}

Result<std::vector<store::InlinePolicy>> IamService::list_role_policies(
    const std::string& role_name) {
  if (auto role = store_.get_role(role_name); !role) return pass(role);
  return store_.list_role_policies(role_name);
}

Status IamService::put_user_policy(const std::string& user_name, const std::string& policy_name,
                                   const std::string& document) {
  if (auto s = check_name(user_name, "userName", 64); !s) return s;
  if (auto s = check_name(policy_name, "policyName", 128); !s) return s;
  if (auto s = check_policy(document); !s) return s;
  return store_.put_user_policy(user_name, store::InlinePolicy{policy_name, document});
}

Result<store::InlinePolicy> IamService::get_user_policy(const std::string& user_name,
                                                        const std::string& policy_name) {
  if (auto user = store_.get_user(user_name); !user) return pass(user);
  return store_.get_user_policy(user_name, policy_name);
}

Status IamService::delete_user_policy(const std::string& user_name,
                                      const std::string& policy_name) {
  if (auto user = store_.get_user(user_name); !user) return pass(user);
  return store_.delete_user_policy(user_name, policy_name);
}

Result<std::vector<store::InlinePolicy>> IamService::list_user_policies(
    const std::string& user_name) {
  if (auto user = store_.get_user(user_name); !user) return pass(user);
  return store_.list_user_policies(user_name);
}

Result<store::ServiceCredentialRecord> IamService::create_service_specific_credential(
    const std::string& user_name, const std::string& service_name,
    std::optional<int> credential_age_days) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  if (service_name != kBedrockServiceName) {
    return fail(ErrorCode::kInvalidArgument,
                "Service " + service_name + " is not supported; use bedrock.amazonaws.com.");
  }
  if (credential_age_days && (*credential_age_days < 1 || *credential_age_days > 36600)) {
    return fail(ErrorCode::kInvalidArgument, "CredentialAgeDays must be between 1 and 36600 days");
  }
  auto existing = store_.list_service_credentials(user_name, service_name);
  if (!existing) return pass(existing);
  if (existing->size() >= 2) {
    return fail(ErrorCode::kThrottled,
                "Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2");
  }
  int64_t now = clock_->unix_seconds();
  store::ServiceCredentialRecord record;
  record.credential_id = new_base32_id(*random_, "ACCA", 17);
  record.user_name = user_name;
  record.service_name = service_name;
  record.alias = "BedrockAPIKey-" + new_base32_id(*random_, "", 8) + "-at-" + account_id_;
  record.secret = new_secret_key(*random_);
  record.created_at = now;
  record.expires_at = credential_age_days ? now + int64_t{*credential_age_days} * 86400 : 0;
  if (auto s = store_.create_service_credential(record); !s) return pass(s);
  record.secret = encode_long_term_api_key(record.alias, record.secret);
  return record;
}

Result<std::vector<store::ServiceCredentialRecord>> IamService::list_service_specific_credentials(
    const std::string& user_name, const std::string& service_name) {
  if (auto s = check_name(user_name, "userName", 64); !s) return pass(s);
  return store_.list_service_credentials(user_name, service_name);
}

Status IamService::update_service_specific_credential(const std::string& user_name,
                                                      const std::string& credential_id,
                                                      const std::string& status) {
  if (auto s = check_name(user_name, "userName", 64); !s) return s;
  if (status != "Active" && status != "Inactive") {
    return fail(ErrorCode::kInvalidArgument, "Status must be Active or Inactive");
  }
  return store_.set_service_credential_status(user_name, credential_id, status);
}

Result<store::ServiceCredentialRecord> IamService::reset_service_specific_credential(
    const std::string& user_name, const std::string& credential_id) {
  auto all = list_service_specific_credentials(user_name, "");
  if (!all) return pass(all);
  for (store::ServiceCredentialRecord& record : *all) {
    if (record.credential_id != credential_id) continue;
    std::string secret = new_secret_key(*random_);
    if (auto s = store_.set_service_credential_secret(user_name, credential_id, secret); !s) {
      return pass(s);
    }
    record.secret = encode_long_term_api_key(record.alias, secret);
    return record;
  }
  return fail(ErrorCode::kNotFound,
              "The Service Specific Credential with id " + credential_id + " cannot be found.");
}

Status IamService::delete_service_specific_credential(const std::string& user_name,
                                                      const std::string& credential_id) {
  if (auto s = check_name(user_name, "userName", 64); !s) return s;
  return store_.delete_service_credential(user_name, credential_id);
}

}  // namespace plinth::auth
