// IAM tables on PostgreSQL: users, access keys (secrets sealed), roles, inline policies, and the
// generation counter every replica reads before trusting its IAM cache.
#include "pg_iam_store.h"

#include "plinth/core/pass_error.h"
#include "plinth/pg/migrations.h"
#include "plinth/store/sealed_box.h"

namespace plinth::store {
namespace {

// Names compare case-insensitively, as in IAM (SQLite: COLLATE NOCASE): an ICU collation at
// strength 2 ignores case only.
const std::vector<pg::Migration> kIamMigrations = {
    {1,
     "CREATE COLLATION IF NOT EXISTS plinth_nocase"
     " (provider = icu, locale = 'und-u-ks-level2', deterministic = false);"
     "CREATE TABLE iam_generation (id INT PRIMARY KEY, value BIGINT NOT NULL);"
     "INSERT INTO iam_generation VALUES (1, 0);"
     "CREATE TABLE iam_users (name TEXT COLLATE plinth_nocase PRIMARY KEY,"
     " user_id TEXT NOT NULL UNIQUE, arn TEXT NOT NULL, created_at BIGINT NOT NULL);"
     "CREATE TABLE iam_access_keys (access_key_id TEXT PRIMARY KEY,"
     " user_name TEXT COLLATE plinth_nocase NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,"
     " secret_sealed BYTEA NOT NULL, status TEXT NOT NULL, created_at BIGINT NOT NULL);"
     "CREATE INDEX iam_access_keys_user ON iam_access_keys(user_name);"
     "CREATE TABLE iam_roles (name TEXT COLLATE plinth_nocase PRIMARY KEY,"
     " role_id TEXT NOT NULL UNIQUE, arn TEXT NOT NULL, assume_role_policy TEXT NOT NULL,"
     " description TEXT NOT NULL, max_session_duration INT NOT NULL, created_at BIGINT NOT NULL);"
     "CREATE TABLE iam_user_policies (owner TEXT COLLATE plinth_nocase NOT NULL"
     " REFERENCES iam_users(name) ON DELETE CASCADE, policy_name TEXT NOT NULL,"
     " document TEXT NOT NULL, PRIMARY KEY (owner, policy_name));"
     "CREATE TABLE iam_role_policies (owner TEXT COLLATE plinth_nocase NOT NULL"
     " REFERENCES iam_roles(name) ON DELETE CASCADE, policy_name TEXT NOT NULL,"
     " document TEXT NOT NULL, PRIMARY KEY (owner, policy_name));"
     "CREATE TABLE iam_service_credentials (credential_id TEXT PRIMARY KEY,"
     " user_name TEXT COLLATE plinth_nocase NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,"
     " service_name TEXT NOT NULL, alias TEXT NOT NULL UNIQUE, secret_sealed BYTEA NOT NULL,"
     " status TEXT NOT NULL, created_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);"
     "CREATE INDEX iam_service_credentials_user ON iam_service_credentials(user_name);"
     "CREATE TABLE iam_oidc_providers (arn TEXT PRIMARY KEY, url TEXT NOT NULL,"
     " client_ids TEXT NOT NULL, thumbprints TEXT NOT NULL, created_at BIGINT NOT NULL);"}};

Status not_found_if_unchanged(const Result<pg::Rows>& rows, const std::string& what) {
  if (!rows) return pass(rows);
  if (rows->affected() == 0) return fail(ErrorCode::kNotFound, what + " cannot be found.");
  return ok();
}

UserRecord read_user(const pg::Rows& r, int i) {
  return UserRecord{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3)};
}

RoleRecord read_role(const pg::Rows& r, int i) {
  return RoleRecord{r.text(i, 0), r.text(i, 1), r.text(i, 2),
                    r.text(i, 3), r.text(i, 4), static_cast<int>(r.int64(i, 5)),
                    r.int64(i, 6)};
}

constexpr const char* kRoleColumns =
    "name, role_id, arn, assume_role_policy, description, max_session_duration, created_at";

Status exists(pg::Connection& conn, const char* kind, const std::string& name) {
  std::string table = std::string_view(kind) == "user" ? "iam_users" : "iam_roles";
  auto rows = conn.exec_prepared(std::string("iam_exists_") + kind,
                                 "SELECT 1 FROM " + table + " WHERE name = $1 FOR SHARE", {name});
  if (!rows) return pass(rows);
  if (rows->empty()) {
    return fail(ErrorCode::kNotFound,
                "The " + std::string(kind) + " with name " + name + " cannot be found.");
  }
  return ok();
}

}  // namespace

Status PgIamStore::migrate(pg::Connection& conn) {
  return pg::migrate(conn, "iam", kIamMigrations);
}

Result<pg::Rows> PgIamStore::query(const std::string& name, std::string_view sql,
                                   const pg::Params& params) {
  auto lease = pool_->acquire();
  if (!lease) return pass(lease);
  return (*lease)->exec_prepared(name, sql, params);
}

Status PgIamStore::write(const std::function<Status(pg::Connection&)>& work) {
  auto lease = pool_->acquire();
  if (!lease) return pass(lease);
  auto tx = pg::Transaction::begin(**lease);
  if (!tx) return pass(tx);
  if (auto done = work(**lease); !done) return done;
  auto bump = (*lease)->exec_prepared(
      "iam_bump", "UPDATE iam_generation SET value = value + 1 WHERE id = 1", {});
  if (!bump) return pass(bump);
  return tx->commit();
}

uint64_t PgIamStore::write_generation() const {
  auto lease = pool_->acquire();
  if (lease) {
    auto rows = (*lease)->exec_prepared("iam_generation",
                                        "SELECT value FROM iam_generation WHERE id = 1", {});
    if (rows && rows->size() == 1) return static_cast<uint64_t>(rows->int64(0, 0));
  }
  return unreadable_.fetch_add(1);
}

Status PgIamStore::create_user(const UserRecord& user) {
  return write([&](pg::Connection& c) -> Status {
    auto r = c.exec_prepared("iam_create_user",
                             "INSERT INTO iam_users (name, user_id, arn, created_at)"
                             " VALUES ($1, $2, $3, $4)",
                             {user.name, user.user_id, user.arn, user.created_at});
    if (!r && r.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "User with name " + user.name + " already exists.");
    }
    if (!r) return pass(r);
    return ok();
  });
}

Result<UserRecord> PgIamStore::get_user(const std::string& name) {
  auto r = query("iam_get_user",
                 "SELECT name, user_id, arn, created_at FROM iam_users"
                 " WHERE name = $1",
                 {name});
  if (!r) return pass(r);
  if (r->empty()) {
    return fail(ErrorCode::kNotFound, "The user with name " + name + " cannot be found.");
  }
  return read_user(*r, 0);
}

Status PgIamStore::delete_user(const std::string& name) {
  return write([&](pg::Connection& c) {
    return not_found_if_unchanged(
        c.exec_prepared("iam_delete_user", "DELETE FROM iam_users WHERE name = $1", {name}),
        "The user with name " + name);
  });
}

Result<std::vector<UserRecord>> PgIamStore::list_users() {
  auto r = query("iam_list_users",
                 "SELECT name, user_id, arn, created_at FROM iam_users ORDER BY name", {});
  if (!r) return pass(r);
  std::vector<UserRecord> users;
  for (int i = 0; i < r->size(); ++i) users.push_back(read_user(*r, i));
  return users;
}

Status PgIamStore::create_access_key(const AccessKeyRecord& key) {
  auto sealed = seal(master_key_, key.secret_access_key, *random_, key.access_key_id);
  if (!sealed) return pass(sealed);
  return write([&](pg::Connection& c) -> Status {
    if (auto user = exists(c, "user", key.user_name); !user) return user;
    auto r = c.exec_prepared(
        "iam_create_key",
        "INSERT INTO iam_access_keys (access_key_id, user_name, secret_sealed, status, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        {key.access_key_id, key.user_name, pg::Param::bytes(*sealed), key.status, key.created_at});
    if (!r) return pass(r);
    return ok();
  });
}

Result<AccessKeyRecord> PgIamStore::get_access_key(const std::string& access_key_id) {
  auto r = query("iam_get_key",
                 "SELECT access_key_id, user_name, secret_sealed, status, created_at"
                 " FROM iam_access_keys WHERE access_key_id = $1",
                 {access_key_id});
  if (!r) return pass(r);
  if (r->empty()) {
    return fail(ErrorCode::kNotFound, "The access key " + access_key_id + " is unknown.");
  }
  auto secret = unseal(master_key_, r->bytes(0, 2), access_key_id);
  if (!secret) {
    return fail(ErrorCode::kCorruptData,
                "stored secret of " + access_key_id + " does not open with the master key");
  }
  return AccessKeyRecord{r->text(0, 0), r->text(0, 1), *secret, r->text(0, 3), r->int64(0, 4)};
}

Result<std::vector<AccessKeyRecord>> PgIamStore::list_access_keys(const std::string& user_name) {
  if (auto user = get_user(user_name); !user) return pass(user);
  auto r = query("iam_list_keys",
                 "SELECT access_key_id, user_name, status, created_at FROM iam_access_keys"
                 " WHERE user_name = $1 ORDER BY created_at, access_key_id",
                 {user_name});
  if (!r) return pass(r);
  std::vector<AccessKeyRecord> keys;
  for (int i = 0; i < r->size(); ++i) {
    // Listings never carry secrets.
    keys.push_back(
        AccessKeyRecord{r->text(i, 0), r->text(i, 1), "", r->text(i, 2), r->int64(i, 3)});
  }
  return keys;
}

Status PgIamStore::delete_access_key(const std::string& user_name,
                                     const std::string& access_key_id) {
  return write([&](pg::Connection& c) {
    return not_found_if_unchanged(
        c.exec_prepared("iam_delete_key",
                        "DELETE FROM iam_access_keys WHERE user_name = $1 AND access_key_id = $2",
                        {user_name, access_key_id}),
        "The Access Key with id " + access_key_id);
  });
}

Status PgIamStore::create_role(const RoleRecord& role) {
  return write([&](pg::Connection& c) -> Status {
    auto r = c.exec_prepared("iam_create_role",
                             std::string("INSERT INTO iam_roles (") + kRoleColumns +
                                 ") VALUES ($1, $2, $3, $4, $5, $6, $7)",
                             {role.name, role.role_id, role.arn, role.assume_role_policy,
                              role.description, role.max_session_duration, role.created_at});
    if (!r && r.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "Role with name " + role.name + " already exists.");
    }
    if (!r) return pass(r);
    return ok();
  });
}

Result<RoleRecord> PgIamStore::get_role(const std::string& name) {
  auto r = query("iam_get_role",
                 std::string("SELECT ") + kRoleColumns + " FROM iam_roles WHERE name = $1", {name});
  if (!r) return pass(r);
  if (r->empty()) {
    return fail(ErrorCode::kNotFound, "The role with name " + name + " cannot be found.");
  }
  return read_role(*r, 0);
}

Result<std::vector<RoleRecord>> PgIamStore::list_roles() {
  auto r = query("iam_list_roles",
                 std::string("SELECT ") + kRoleColumns + " FROM iam_roles ORDER BY name", {});
  if (!r) return pass(r);
  std::vector<RoleRecord> roles;
  for (int i = 0; i < r->size(); ++i) roles.push_back(read_role(*r, i));
  return roles;
}

Status PgIamStore::delete_role(const std::string& name) {
  return write([&](pg::Connection& c) {
    return not_found_if_unchanged(
        c.exec_prepared("iam_delete_role", "DELETE FROM iam_roles WHERE name = $1", {name}),
        "The role with name " + name);
  });
}

Status PgIamStore::put_policy(const char* table, const char* owner_kind, const std::string& owner,
                              const InlinePolicy& policy) {
  return write([&](pg::Connection& c) -> Status {
    if (auto found = exists(c, owner_kind, owner); !found) return found;
    auto r = c.exec_prepared(std::string("put_") + table,
                             std::string("INSERT INTO ") + table +
                                 " (owner, policy_name, document) VALUES ($1, $2, $3)"
                                 " ON CONFLICT (owner, policy_name) DO UPDATE"
                                 " SET document = excluded.document",
                             {owner, policy.name, policy.document});
    if (!r) return pass(r);
    return ok();
  });
}

Result<InlinePolicy> PgIamStore::get_policy(const char* table, const std::string& owner,
                                            const std::string& policy_name) {
  auto r = query(std::string("get_") + table,
                 std::string("SELECT policy_name, document FROM ") + table +
                     " WHERE owner = $1 AND policy_name = $2",
                 {owner, policy_name});
  if (!r) return pass(r);
  if (r->empty()) {
    return fail(ErrorCode::kNotFound,
                "The policy " + policy_name + " of " + owner + " cannot be found.");
  }
  return InlinePolicy{r->text(0, 0), r->text(0, 1)};
}

Status PgIamStore::delete_policy(const char* table, const std::string& owner,
                                 const std::string& policy_name) {
  return write([&](pg::Connection& c) {
    return not_found_if_unchanged(c.exec_prepared(std::string("delete_") + table,
                                                  std::string("DELETE FROM ") + table +
                                                      " WHERE owner = $1 AND policy_name = $2",
                                                  {owner, policy_name}),
                                  "The policy " + policy_name + " of " + owner);
  });
}

Result<std::vector<InlinePolicy>> PgIamStore::list_policies(const char* table,
                                                            const std::string& owner) {
  auto r = query(std::string("list_") + table,
                 std::string("SELECT policy_name, document FROM ") + table +
                     " WHERE owner = $1 ORDER BY policy_name",
                 {owner});
  if (!r) return pass(r);
  std::vector<InlinePolicy> policies;
  for (int i = 0; i < r->size(); ++i)
    policies.push_back(InlinePolicy{r->text(i, 0), r->text(i, 1)});
  return policies;
}

Status PgIamStore::put_user_policy(const std::string& user_name, const InlinePolicy& policy) {
  return put_policy("iam_user_policies", "user", user_name, policy);
}
Result<InlinePolicy> PgIamStore::get_user_policy(const std::string& user_name,
                                                 const std::string& policy_name) {
  return get_policy("iam_user_policies", user_name, policy_name);
}
Status PgIamStore::delete_user_policy(const std::string& user_name,
                                      const std::string& policy_name) {
  return delete_policy("iam_user_policies", user_name, policy_name);
}
Result<std::vector<InlinePolicy>> PgIamStore::list_user_policies(const std::string& user_name) {
  return list_policies("iam_user_policies", user_name);
}
Status PgIamStore::put_role_policy(const std::string& role_name, const InlinePolicy& policy) {
  return put_policy("iam_role_policies", "role", role_name, policy);
}
Result<InlinePolicy> PgIamStore::get_role_policy(const std::string& role_name,
                                                 const std::string& policy_name) {
  return get_policy("iam_role_policies", role_name, policy_name);
}
Status PgIamStore::delete_role_policy(const std::string& role_name,
                                      const std::string& policy_name) {
  return delete_policy("iam_role_policies", role_name, policy_name);
}
Result<std::vector<InlinePolicy>> PgIamStore::list_role_policies(const std::string& role_name) {
  return list_policies("iam_role_policies", role_name);
}

}  // namespace plinth::store
