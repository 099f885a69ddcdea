// IAM as a C++ service (used by the Query API and the `plinth iam` CLI).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/store/store.h"

namespace plinth::auth {

// Messages of kInvalidArgument errors caused by a bad policy document start with this, so the
// Query API can answer MalformedPolicyDocument rather than ValidationError.
inline constexpr std::string_view kMalformedPolicyPrefix = "Malformed policy document";

// Errors: kInvalidArgument (ValidationError / MalformedPolicyDocument), kNotFound (NoSuchEntity),
// kAlreadyExists (EntityAlreadyExists), kConflict (DeleteConflict: a user with access keys or
// policies, a role with policies), kThrottled (LimitExceeded: more than 2 keys per user).
class IamService {
 public:
  IamService(store::IamStore& store, std::string account_id, std::shared_ptr<Random> random,
             std::shared_ptr<const Clock> clock)
      : store_(store),
        account_id_(std::move(account_id)),
        random_(std::move(random)),
        clock_(std::move(clock)) {}

  Result<store::UserRecord> create_user(const std::string& user_name);
  Result<store::UserRecord> get_user(const std::string& user_name);
  Result<std::vector<store::UserRecord>> list_users();
  Status delete_user(const std::string& user_name);

  // The only time the secret is returned.
  Result<store::AccessKeyRecord> create_access_key(const std::string& user_name);
  Status delete_access_key(const std::string& user_name, const std::string& access_key_id);
  // Secrets are blanked in the listing.
  Result<std::vector<store::AccessKeyRecord>> list_access_keys(const std::string& user_name);

  // Service-specific credentials; only bedrock.amazonaws.com (long-term Bedrock API keys). The
  // record returned by create and reset carries the whole API key ("ABSK…") as its secret, the
  // only time it is shown. At most 2 per user and service; credential_age_days 1..36600.
  Result<store::ServiceCredentialRecord> create_service_specific_credential(
      const std::string& user_name, const std::string& service_name,
      std::optional<int> credential_age_days);
  Result<std::vector<store::ServiceCredentialRecord>> list_service_specific_credentials(
      const std::string& user_name, const std::string& service_name);
  Status update_service_specific_credential(const std::string& user_name,
                                            const std::string& credential_id,
                                            const std::string& status);
  Result<store::ServiceCredentialRecord> reset_service_specific_credential(
      const std::string& user_name, const std::string& credential_id);
  Status delete_service_specific_credential(const std::string& user_name,
                                            const std::string& credential_id);

  // OpenID Connect providers for AssumeRoleWithWebIdentity (iam_oidc_providers.cpp). url:
  // https://HOST[/PATH] (http only for loopback hosts); at most 100 client ids and 5 thumbprints.
  // The provider's keys come from URL/.well-known/openid-configuration's jwks_uri.
  Result<store::OidcProviderRecord> create_open_id_connect_provider(
      const std::string& url, const std::vector<std::string>& client_ids,
      const std::vector<std::string>& thumbprints);
  Result<store::OidcProviderRecord> get_open_id_connect_provider(const std::string& arn);
  Result<std::vector<store::OidcProviderRecord>> list_open_id_connect_providers();
  Status delete_open_id_connect_provider(const std::string& arn);

  Result<store::RoleRecord> create_role(const std::string& role_name,
                                        const std::string& assume_role_policy_document,
                                        const std::string& description = {},
                                        int max_session_duration = 3600);
  Result<store::RoleRecord> get_role(const std::string& role_name);
  Result<std::vector<store::RoleRecord>> list_roles();
  Status delete_role(const std::string& role_name);

  Status put_role_policy(const std::string& role_name, const std::string& policy_name,
                         const std::string& document);
  Result<store::InlinePolicy> get_role_policy(const std::string& role_name,
                                              const std::string& policy_name);
  Status delete_role_policy(const std::string& role_name, const std::string& policy_name);
  Result<std::vector<store::InlinePolicy>> list_role_policies(const std::string& role_name);

  Status put_user_policy(const std::string& user_name, const std::string& policy_name,
                         const std::string& document);
  Result<store::InlinePolicy> get_user_policy(const std::string& user_name,
                                              const std::string& policy_name);
  Status delete_user_policy(const std::string& user_name, const std::string& policy_name);
  Result<std::vector<store::InlinePolicy>> list_user_policies(const std::string& user_name);

  const std::string& account_id() const { return account_id_; }

 private:
  store::IamStore& store_;
  std::string account_id_;
  std::shared_ptr<Random> random_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace plinth::auth
