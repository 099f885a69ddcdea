// IamStore on PostgreSQL (private to the store module): the same records as SqliteIamStore, and
// a generation counter row bumped in every write's transaction so that every replica's caches
// see a change at once.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "plinth/pg/pool.h"
#include "plinth/store/store.h"

namespace plinth::store {

class PgIamStore final : public IamStore {
 public:
  PgIamStore(std::shared_ptr<pg::Pool> pool, std::string master_key, std::shared_ptr<Random> random)
      : pool_(std::move(pool)), master_key_(std::move(master_key)), random_(std::move(random)) {}

  static Status migrate(pg::Connection& conn);

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

  // The shared counter row (one indexed read); when the database cannot be read, a value never
  // returned before, so that no cached entry is trusted.
  uint64_t write_generation() const override;

 private:
  // One statement on a leased connection.
  Result<pg::Rows> query(const std::string& name, std::string_view sql, const pg::Params& params);
  // `work` and the generation bump in one transaction.
  Status write(const std::function<Status(pg::Connection&)>& work);

  Status put_policy(const char* table, const char* owner_kind, const std::string& owner,
                    const InlinePolicy& policy);
  Result<InlinePolicy> get_policy(const char* table, const std::string& owner,
                                  const std::string& policy_name);
  Status delete_policy(const char* table, const std::string& owner, const std::string& policy_name);
  Result<std::vector<InlinePolicy>> list_policies(const char* table, const std::string& owner);

  std::shared_ptr<pg::Pool> pool_;
  std::string master_key_;  // seals secrets
  std::shared_ptr<Random> random_;
  mutable std::atomic<uint64_t> unreadable_{uint64_t{1} << 63};  // fallback generations
};

}  // namespace plinth::store
