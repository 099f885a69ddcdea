// IAM tables on SQLite: users, access keys (secrets sealed), roles, inline policies.
#include "sqlite_iam_store.h"

#include "plinth/core/pass_error.h"
#include "plinth/store/sealed_box.h"

namespace plinth::store {
namespace {

const std::vector<Migration> kIamMigrations = {
    {1,
     "CREATE TABLE iam_users (name TEXT PRIMARY KEY COLLATE NOCASE, user_id TEXT NOT NULL UNIQUE,"
     " arn TEXT NOT NULL, created_at INTEGER NOT NULL);"
     "CREATE TABLE iam_access_keys (access_key_id TEXT PRIMARY KEY,"
     " user_name TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,"
     " secret_sealed BLOB NOT NULL, status TEXT NOT NULL, created_at INTEGER NOT NULL);"
     "CREATE INDEX iam_access_keys_user ON iam_access_keys(user_name);"
     "CREATE TABLE iam_roles (name TEXT PRIMARY KEY COLLATE NOCASE, role_id TEXT NOT NULL UNIQUE,"
     " arn TEXT NOT NULL, assume_role_policy TEXT NOT NULL, description TEXT NOT NULL,"
     " max_session_duration INTEGER NOT NULL, created_at INTEGER NOT NULL);"
     "CREATE TABLE iam_user_policies (owner TEXT NOT NULL REFERENCES iam_users(name)"
     " ON DELETE CASCADE, policy_name TEXT NOT NULL, document TEXT NOT NULL,"
     " PRIMARY KEY (owner, policy_name));"
     "CREATE TABLE iam_role_policies (owner TEXT NOT NULL REFERENCES iam_roles(name)"
     " ON DELETE CASCADE, policy_name TEXT NOT NULL, document TEXT NOT NULL,"
     " PRIMARY KEY (owner, policy_name));"},
    {2,
     "CREATE TABLE iam_service_credentials (credential_id TEXT PRIMARY KEY,"
     " user_name TEXT NOT NULL REFERENCES iam_users(name) ON DELETE CASCADE,"
     " service_name TEXT NOT NULL, alias TEXT NOT NULL UNIQUE, secret_sealed BLOB NOT NULL,"
     " status TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL);"
     "CREATE INDEX iam_service_credentials_user ON iam_service_credentials(user_name);"},
    {3,
     "CREATE TABLE iam_oidc_providers (arn TEXT PRIMARY KEY, url TEXT NOT NULL,"
     " client_ids TEXT NOT NULL, thumbprints TEXT NOT NULL, created_at INTEGER NOT NULL);"}};

Status not_found_if_unchanged(const Result<int>& changes, const std::string& what) {
  if (!changes) return std::unexpected(changes.error());
  if (*changes == 0) return fail(ErrorCode::kNotFound, what + " cannot be found.");
  return ok();
}

UserRecord read_user(const Statement& s) {
  return UserRecord{s.column_text(0), s.column_text(1), s.column_text(2), s.column_int(3)};
}

RoleRecord read_role(const Statement& s) {
  return RoleRecord{s.column_text(0), s.column_text(1), s.column_text(2),
                    s.column_text(3), s.column_text(4), static_cast<int>(s.column_int(5)),
                    s.column_int(6)};
}

constexpr const char* kRoleColumns =
    "name, role_id, arn, assume_role_policy, description, max_session_duration, created_at";

}  // namespace

Status SqliteIamStore::migrate(Database& db) { return db.migrate("iam", kIamMigrations); }

Status SqliteIamStore::create_user(const UserRecord& user) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare("INSERT INTO iam_users (name, user_id, arn, created_at) VALUES (?,?,?,?)");
  if (!s) return pass(s);
  s->bind(1, user.name).bind(2, user.user_id).bind(3, user.arn).bind(4, user.created_at);
  auto r = s->run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists) {
    return fail(ErrorCode::kAlreadyExists, "User with name " + user.name + " already exists.");
  }
  if (!r) return pass(r);
  return ok();
}

Result<UserRecord> SqliteIamStore::get_user(const std::string& name) {
  auto guard = db_.lock();
  auto s = db_.prepare("SELECT name, user_id, arn, created_at FROM iam_users WHERE name = ?");
  if (!s) return pass(s);
  s->bind(1, name);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) return fail(ErrorCode::kNotFound, "The user with name " + name + " cannot be found.");
  return read_user(*s);
}

Status SqliteIamStore::delete_user(const std::string& name) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare("DELETE FROM iam_users WHERE name = ?");
  if (!s) return pass(s);
  s->bind(1, name);
  return not_found_if_unchanged(s->run(), "The user with name " + name);
}

Result<std::vector<UserRecord>> SqliteIamStore::list_users() {
  auto guard = db_.lock();
  auto s = db_.prepare("SELECT name, user_id, arn, created_at FROM iam_users ORDER BY name");
  if (!s) return pass(s);
  std::vector<UserRecord> users;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    users.push_back(read_user(*s));
  }
  return users;
}

Status SqliteIamStore::create_access_key(const AccessKeyRecord& key) {
  WriteScope write{generation_};
  auto sealed = seal(master_key_, key.secret_access_key, *random_, key.access_key_id);
  if (!sealed) return pass(sealed);
  auto guard = db_.lock();
  if (auto user = get_user(key.user_name); !user) return pass(user);
  auto s = db_.prepare(
      "INSERT INTO iam_access_keys (access_key_id, user_name, secret_sealed, status, created_at)"
      " VALUES (?,?,?,?,?)");
  if (!s) return pass(s);
  s->bind(1, key.access_key_id).bind(2, key.user_name).bind_blob(3, *sealed);
  s->bind(4, key.status).bind(5, key.created_at);
  auto r = s->run();
  if (!r) return pass(r);
  return ok();
}

Result<AccessKeyRecord> SqliteIamStore::get_access_key(const std::string& access_key_id) {
  auto guard = db_.lock();
  auto s = db_.prepare(
      "SELECT access_key_id, user_name, secret_sealed, status, created_at FROM iam_access_keys"
      " WHERE access_key_id = ?");
  if (!s) return pass(s);
  s->bind(1, access_key_id);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) return fail(ErrorCode::kNotFound, "The access key " + access_key_id + " is unknown.");
  auto secret = unseal(master_key_, s->column_text(2), access_key_id);
  if (!secret) {
    return fail(ErrorCode::kCorruptData,
                "stored secret of " + access_key_id + " does not open with the master key");
  }
  return AccessKeyRecord{s->column_text(0), s->column_text(1), *secret, s->column_text(3),
                         s->column_int(4)};
}

Result<std::vector<AccessKeyRecord>> SqliteIamStore::list_access_keys(
    const std::string& user_name) {
  auto guard = db_.lock();
  if (auto user = get_user(user_name); !user) return pass(user);
  auto s = db_.prepare(
      "SELECT access_key_id, user_name, status, created_at FROM iam_access_keys"
      " WHERE user_name = ? ORDER BY created_at, access_key_id");
  if (!s) return pass(s);
  s->bind(1, user_name);
  std::vector<AccessKeyRecord> keys;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    // Listings never carry secrets.
    keys.push_back(AccessKeyRecord{s->column_text(0), s->column_text(1), "", s->column_text(2),
                                   s->column_int(3)});
  }
  return keys;
}

Status SqliteIamStore::delete_access_key(const std::string& user_name,
                                         const std::string& access_key_id) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare("DELETE FROM iam_access_keys WHERE user_name = ? AND access_key_id = ?");
  if (!s) return pass(s);
  s->bind(1, user_name).bind(2, access_key_id);
  return not_found_if_unchanged(s->run(), "The Access Key with id " + access_key_id);
}

Status SqliteIamStore::create_role(const RoleRecord& role) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("INSERT INTO iam_roles (") + kRoleColumns +
                       ") VALUES (?,?,?,?,?,?,?)");
  if (!s) return pass(s);
  s->bind(1, role.name).bind(2, role.role_id).bind(3, role.arn).bind(4, role.assume_role_policy);
  s->bind(5, role.description).bind(6, static_cast<int64_t>(role.max_session_duration));
  s->bind(7, role.created_at);
  auto r = s->run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists) {
    return fail(ErrorCode::kAlreadyExists, "Role with name " + role.name + " already exists.");
  }
  if (!r) return pass(r);
  return ok();
}

Result<RoleRecord> SqliteIamStore::get_role(const std::string& name) {
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("SELECT ") + kRoleColumns + " FROM iam_roles WHERE name = ?");
  if (!s) return pass(s);
  s->bind(1, name);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) return fail(ErrorCode::kNotFound, "The role with name " + name + " cannot be found.");
  return read_role(*s);
}

Result<std::vector<RoleRecord>> SqliteIamStore::list_roles() {
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("SELECT ") + kRoleColumns + " FROM iam_roles ORDER BY name");
  if (!s) return pass(s);
  std::vector<RoleRecord> roles;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    roles.push_back(read_role(*s));
  }
  return roles;
}

Status SqliteIamStore::delete_role(const std::string& name) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare("DELETE FROM iam_roles WHERE name = ?");
  if (!s) return pass(s);
  s->bind(1, name);
  return not_found_if_unchanged(s->run(), "The role with name " + name);
}

Status SqliteIamStore::put_policy(const char* owner_table, const char* owner_kind,
                                  const std::string& owner, const InlinePolicy& policy) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  if (std::string_view(owner_kind) == "user") {
    if (auto user = get_user(owner); !user) return pass(user);
  } else if (auto role = get_role(owner); !role) {
    return pass(role);
  }
  auto s =
      db_.prepare(std::string("INSERT INTO ") + owner_table +
                  " (owner, policy_name, document) VALUES (?,?,?)"
                  " ON CONFLICT (owner, policy_name) DO UPDATE SET document = excluded.document");
  if (!s) return pass(s);
  s->bind(1, owner).bind(2, policy.name).bind(3, policy.document);
  auto r = s->run();
  if (!r) return pass(r);
  return ok();
}

Result<InlinePolicy> SqliteIamStore::get_policy(const char* owner_table, const std::string& owner,
                                                const std::string& policy_name) {
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("SELECT policy_name, document FROM ") + owner_table +
                       " WHERE owner = ? AND policy_name = ?");
  if (!s) return pass(s);
  s->bind(1, owner).bind(2, policy_name);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) {
    return fail(ErrorCode::kNotFound,
                "The policy " + policy_name + " of " + owner + " cannot be found.");
  }
  return InlinePolicy{s->column_text(0), s->column_text(1)};
}

Status SqliteIamStore::delete_policy(const char* owner_table, const std::string& owner,
                                     const std::string& policy_name) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("DELETE FROM ") + owner_table +
                       " WHERE owner = ? AND policy_name = ?");
  if (!s) return pass(s);
  s->bind(1, owner).bind(2, policy_name);
  return not_found_if_unchanged(s->run(), "The policy " + policy_name + " of " + owner);
}

Result<std::vector<InlinePolicy>> SqliteIamStore::list_policies(const char* owner_table,
                                                                const std::string& owner) {
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("SELECT policy_name, document FROM ") + owner_table +
                       " WHERE owner = ? ORDER BY policy_name");
  if (!s) return pass(s);
  s->bind(1, owner);
  std::vector<InlinePolicy> policies;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    policies.push_back(InlinePolicy{s->column_text(0), s->column_text(1)});
  }
  return policies;
}

Status SqliteIamStore::put_user_policy(const std::string& user_name, const InlinePolicy& policy) {
  return put_policy("iam_user_policies", "user", user_name, policy);
}
Result<InlinePolicy> SqliteIamStore::get_user_policy(const std::string& user_name,
                                                     const std::string& policy_name) {
  return get_policy("iam_user_policies", user_name, policy_name);
}
Status SqliteIamStore::delete_user_policy(const std::string& user_name,
                                          const std::string& policy_name) {
  return delete_policy("iam_user_policies", user_name, policy_name);
}
Result<std::vector<InlinePolicy>> SqliteIamStore::list_user_policies(const std::string& user_name) {
  return list_policies("iam_user_policies", user_name);
}
Status SqliteIamStore::put_role_policy(const std::string& role_name, const InlinePolicy& policy) {
  return put_policy("iam_role_policies", "role", role_name, policy);
}
Result<InlinePolicy> SqliteIamStore::get_role_policy(const std::string& role_name,
                                                     const std::string& policy_name) {
  return get_policy("iam_role_policies", role_name, policy_name);
}
Status SqliteIamStore::delete_role_policy(const std::string& role_name,
                                          const std::string& policy_name) {
  return delete_policy("iam_role_policies", role_name, policy_name);
}
Result<std::vector<InlinePolicy>> SqliteIamStore::list_role_policies(const std::string& role_name) {
  return list_policies("iam_role_policies", role_name);
}

}  // namespace plinth::store
