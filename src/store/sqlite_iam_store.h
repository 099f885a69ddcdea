// IamStore on SQLite (private to the store module).
#pragma once

#include <atomic>
#include <memory>

#include "plinth/store/store.h"

namespace plinth::store {

class SqliteIamStore final : public IamStore {
 public:
  SqliteIamStore(Database& db, std::string master_key, std::shared_ptr<Random> random)
      : db_(db), master_key_(std::move(master_key)), random_(std::move(random)) {}

  static Status migrate(Database& db);

  Status create_user(const UserRecord& user) override;
  Result<UserRecord> get_user(const std::string& name) override;
  Status delete_user(const std::string& name) override;
  Result<std::vector<UserRecord>> list_users() override;

  Status create_access_key(const AccessKeyRecord& key) override;
  Result<AccessKeyRecord> get_access_key(const std::string& access_key_id) override;
  Result<std::vector<AccessKeyRecord>> list_access_keys(const std::string& user_name) override;
  Status delete_access_key(const std::string& user_name, const std::string& access_key_id) override;

  Status create_service_credential(const ServiceCredentialRecord& credential) override;
  Result<ServiceCredentialRecord> get_service_credential(const std::string& alias) override;
  Result<std::vector<ServiceCredentialRecord>> list_service_credentials(
      const std::string& user_name, const std::string& service_name) override;
  Status set_service_credential_status(const std::string& user_name,
                                       const std::string& credential_id,
                                       const std::string& status) override;
  Status set_service_credential_secret(const std::string& user_name,
                                       const std::string& credential_id,
                                       const std::string& secret) override;
  Status delete_service_credential(const std::string& user_name,
                                   const std::string& credential_id) override;

  Status create_oidc_provider(const OidcProviderRecord& provider) override;
  Result<OidcProviderRecord> get_oidc_provider(const std::string& arn) override;
  Result<std::vector<OidcProviderRecord>> list_oidc_providers() override;
  Status delete_oidc_provider(const std::string& arn) override;

  Status create_role(const RoleRecord& role) override;
  Result<RoleRecord> get_role(const std::string& name) override;
  Result<std::vector<RoleRecord>> list_roles() override;
  Status delete_role(const std::string& name) override;

  Status put_user_policy(const std::string& user_name, const InlinePolicy& policy) override;
  Result<InlinePolicy> get_user_policy(const std::string& user_name,
                                       const std::string& policy_name) override;
  Status delete_user_policy(const std::string& user_name, const std::string& policy_name) override;
  Result<std::vector<InlinePolicy>> list_user_policies(const std::string& user_name) override;

  Status put_role_policy(const std::string& role_name, const InlinePolicy& policy) override;
  Result<InlinePolicy> get_role_policy(const std::string& role_name,
                                       const std::string& policy_name) override;
  Status delete_role_policy(const std::string& role_name, const std::string& policy_name) override;
  Result<std::vector<InlinePolicy>> list_role_policies(const std::string& role_name) override;

  uint64_t write_generation() const override { return generation_.load(std::memory_order_acquire); }

 private:
  // Bumps the generation when a write ends, whether or not it succeeded (a harmless extra bump).
  struct WriteScope {
    std::atomic<uint64_t>& generation;
    ~WriteScope() { generation.fetch_add(1, std::memory_order_acq_rel); }
  };

  // owner_table: "user_policies" or "role_policies".
  Status put_policy(const char* owner_table, const char* owner_kind, const std::string& owner,
                    const InlinePolicy& policy);
  Result<InlinePolicy> get_policy(const char* owner_table, const std::string& owner,
                                  const std::string& policy_name);
  Status delete_policy(const char* owner_table, const std::string& owner,
                       const std::string& policy_name);
  Result<std::vector<InlinePolicy>> list_policies(const char* owner_table,
                                                  const std::string& owner);

  Database& db_;
  std::string master_key_;  // seals access-key secrets
  std::shared_ptr<Random> random_;
  std::atomic<uint64_t> generation_{0};
};

}  // namespace plinth::store
