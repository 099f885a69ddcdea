// The storage interface (SQLite now, PostgreSQL later) and its IAM records.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"
#include "plinth/store/storage_url.h"

namespace plinth::store {

struct UserRecord {
  std::string name;        // unique; [\w+=,.@-]{1,64}
  std::string user_id;     // AIDA…
  std::string arn;         // arn:aws:iam::ACCOUNT:user/NAME
  int64_t created_at = 0;  // unix seconds
};

struct AccessKeyRecord {
  std::string access_key_id;  // AKIA…
  std::string user_name;
  std::string secret_access_key;  // plaintext in memory; stored sealed under the master key
  std::string status = "Active";  // Active | Inactive
  int64_t created_at = 0;
};

struct RoleRecord {
  std::string name;
  std::string role_id;             // AROA…
  std::string arn;                 // arn:aws:iam::ACCOUNT:role/NAME
  std::string assume_role_policy;  // trust policy JSON
  std::string description;
  int max_session_duration = 3600;  // seconds
  int64_t created_at = 0;
};

// A service-specific credential (IAM CreateServiceSpecificCredential); for
// bedrock.amazonaws.com a long-term Bedrock API key.
struct ServiceCredentialRecord {
  std::string credential_id;  // ACCA…
  std::string user_name;
  std::string service_name;       // bedrock.amazonaws.com
  std::string alias;              // BedrockAPIKey-…-at-ACCOUNT: the public part, unique
  std::string secret;             // plaintext in memory; stored sealed under the master key
  std::string status = "Active";  // Active | Inactive
  int64_t created_at = 0;
  int64_t expires_at = 0;  // unix seconds; 0: never
};

// An OpenID Connect provider registered through IAM CreateOpenIDConnectProvider.
struct OidcProviderRecord {
  std::string arn;                       // arn:aws:iam::ACCOUNT:oidc-provider/HOST[/PATH]
  std::string url;                       // the issuer, https://HOST[/PATH]
  std::vector<std::string> client_ids;   // accepted audiences
  std::vector<std::string> thumbprints;  // kept for IAM compatibility
  int64_t created_at = 0;
};

struct InlinePolicy {
  std::string name;
  std::string document;  // JSON
};

// IAM entities. Errors: kNotFound (NoSuchEntity), kAlreadyExists (EntityAlreadyExists).
// Deleting a user deletes its access keys and inline policies; deleting a role its policies.
class IamStore {
 public:
  virtual ~IamStore() = default;

  virtual Status create_user(const UserRecord& user) = 0;
  virtual Result<UserRecord> get_user(const std::string& name) = 0;
  virtual Status delete_user(const std::string& name) = 0;
  virtual Result<std::vector<UserRecord>> list_users() = 0;

  virtual Status create_access_key(const AccessKeyRecord& key) = 0;
  virtual Result<AccessKeyRecord> get_access_key(const std::string& access_key_id) = 0;
  virtual Result<std::vector<AccessKeyRecord>> list_access_keys(const std::string& user_name) = 0;
  virtual Status delete_access_key(const std::string& user_name,
                                   const std::string& access_key_id) = 0;

  virtual Status create_service_credential(const ServiceCredentialRecord& credential) = 0;
  // By alias, with its secret (authentication).
  virtual Result<ServiceCredentialRecord> get_service_credential(const std::string& alias) = 0;
  // Secrets are blanked. An empty service_name lists every service.
  virtual Result<std::vector<ServiceCredentialRecord>> list_service_credentials(
      const std::string& user_name, const std::string& service_name) = 0;
  virtual Status set_service_credential_status(const std::string& user_name,
                                               const std::string& credential_id,
                                               const std::string& status) = 0;
  virtual Status set_service_credential_secret(const std::string& user_name,
                                               const std::string& credential_id,
                                               const std::string& secret) = 0;
  virtual Status delete_service_credential(const std::string& user_name,
                                           const std::string& credential_id) = 0;

  // kAlreadyExists when the ARN is taken; kNotFound from get/delete.
  virtual Status create_oidc_provider(const OidcProviderRecord& provider) = 0;
  virtual Result<OidcProviderRecord> get_oidc_provider(const std::string& arn) = 0;
  virtual Result<std::vector<OidcProviderRecord>> list_oidc_providers() = 0;
  virtual Status delete_oidc_provider(const std::string& arn) = 0;

  virtual Status create_role(const RoleRecord& role) = 0;
  virtual Result<RoleRecord> get_role(const std::string& name) = 0;
  virtual Result<std::vector<RoleRecord>> list_roles() = 0;
  virtual Status delete_role(const std::string& name) = 0;

  // Insert or replace by (owner, policy name).
  virtual Status put_user_policy(const std::string& user_name, const InlinePolicy& policy) = 0;
  virtual Result<InlinePolicy> get_user_policy(const std::string& user_name,
                                               const std::string& policy_name) = 0;
  virtual Status delete_user_policy(const std::string& user_name,
                                    const std::string& policy_name) = 0;
  virtual Result<std::vector<InlinePolicy>> list_user_policies(const std::string& user_name) = 0;

  virtual Status put_role_policy(const std::string& role_name, const InlinePolicy& policy) = 0;
  virtual Result<InlinePolicy> get_role_policy(const std::string& role_name,
                                               const std::string& policy_name) = 0;
  virtual Status delete_role_policy(const std::string& role_name,
                                    const std::string& policy_name) = 0;
  virtual Result<std::vector<InlinePolicy>> list_role_policies(const std::string& role_name) = 0;

  // Grows with every write through this object. Readers that cache IAM state (the credential
  // resolver) note it before reading and drop entries taken under an older value, so a change
  // made in this process applies at once; other processes' changes apply after the cache's TTL.
  virtual uint64_t write_generation() const = 0;
};

// The whole store. Other domains (ledger, jobs, documents) add their tables through
// `database()->migrate("ledger", {...})` on the same connection; PostgreSQL stores return null
// there and every domain opens its own tables on pg_pool() instead.
class Store {
 public:
  virtual ~Store() = default;
  virtual IamStore& iam() = 0;
  virtual Database* database() = 0;
  // PostgreSQL stores: the replica's connection pool, shared by every domain (ledger, queue …);
  // null for SQLite.
  virtual std::shared_ptr<pg::Pool> pg_pool() { return nullptr; }
};

struct SqliteStoreOptions {
  std::filesystem::path file;      // e.g. DATA_DIR/plinth.db; created on first open
  std::string master_key;          // 32 bytes; seals access-key secrets
  std::shared_ptr<Random> random;  // nonces; defaults to Random::secure()
};

Result<std::unique_ptr<Store>> open_sqlite_store(const SqliteStoreOptions& options);

struct PostgresStoreOptions {
  pg::PoolOptions pool;            // pool.url: postgresql://…
  std::string master_key;          // 32 bytes, the same on every replica
  std::shared_ptr<Random> random;  // nonces; defaults to Random::secure()
};

// Connects the pool and applies the IAM migrations under the advisory lock.
Result<std::unique_ptr<Store>> open_postgres_store(const PostgresStoreOptions& options);

// Opens DATA_DIR/plinth.db with the master key from PLINTH_MASTER_KEY or DATA_DIR/master.key
// (created, mode 0600, on first start).
Result<std::unique_ptr<Store>> open_default_store(const std::filesystem::path& data_dir,
                                                  std::shared_ptr<Random> random);

// The store `[storage] url` names: SQLite at location.sqlite_file, or PostgreSQL through a pool of
// `pool.size` connections. The master key comes from PLINTH_MASTER_KEY or DATA_DIR/master.key in
// both cases (replicas share it by configuration).
Result<std::unique_ptr<Store>> open_store(const StorageLocation& location,
                                          const std::filesystem::path& data_dir,
                                          std::shared_ptr<Random> random,
                                          const pg::PoolOptions& pool = {});

}  // namespace plinth::store
