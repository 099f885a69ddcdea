// Service-specific credentials (long-term Bedrock API keys) on SQLite; secrets sealed.
#include "plinth/core/pass_error.h"
#include "plinth/store/sealed_box.h"
#include "sqlite_iam_store.h"

namespace plinth::store {
namespace {

constexpr const char* kColumns =
    "credential_id, user_name, service_name, alias, secret_sealed, status, created_at, expires_at";

Error not_found(const std::string& credential_id) {
  return Error(ErrorCode::kNotFound,
               "The Service Specific Credential with id " + credential_id + " cannot be found.");
}

// Runs an UPDATE/DELETE keyed by (user_name, credential_id); kNotFound when it touched nothing.
Status run_keyed(Result<Statement> s, const std::string& credential_id) {
  if (!s) return pass(s);
  auto changes = s->run();
  if (!changes) return pass(changes);
  if (*changes == 0) return std::unexpected(not_found(credential_id));
  return ok();
}

}  // namespace

Status SqliteIamStore::create_service_credential(const ServiceCredentialRecord& c) {
  WriteScope write{generation_};
  // The id is the associated data: a sealed secret cannot be moved to another row.
  auto sealed = seal(master_key_, c.secret, *random_, c.credential_id);
  if (!sealed) return pass(sealed);
  auto guard = db_.lock();
  if (auto user = get_user(c.user_name); !user) return pass(user);
  auto s = db_.prepare(std::string("INSERT INTO iam_service_credentials (") + kColumns +
                       ") VALUES (?,?,?,?,?,?,?,?)");
  if (!s) return pass(s);
  s->bind(1, c.credential_id).bind(2, c.user_name).bind(3, c.service_name).bind(4, c.alias);
  s->bind_blob(5, *sealed).bind(6, c.status).bind(7, c.created_at).bind(8, c.expires_at);
  auto r = s->run();
  if (!r) return pass(r);
  return ok();
}

Result<ServiceCredentialRecord> SqliteIamStore::get_service_credential(const std::string& alias) {
  auto guard = db_.lock();
  auto s = db_.prepare(std::string("SELECT ") + kColumns +
                       " FROM iam_service_credentials WHERE alias = ?");
  if (!s) return pass(s);
  s->bind(1, alias);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) return fail(ErrorCode::kNotFound, "The service credential is unknown.");
  std::string id = s->column_text(0);
  auto secret = unseal(master_key_, s->column_text(4), id);
  if (!secret) {
    return fail(ErrorCode::kCorruptData,
                "stored secret of " + id + " does not open with the master key");
  }
  return ServiceCredentialRecord{id,      s->column_text(1), s->column_text(2), s->column_text(3),
                                 *secret, s->column_text(5), s->column_int(6),  s->column_int(7)};
}

Result<std::vector<ServiceCredentialRecord>> SqliteIamStore::list_service_credentials(
    const std::string& user_name, const std::string& service_name) {
  auto guard = db_.lock();
  if (auto user = get_user(user_name); !user) return pass(user);
  auto s = db_.prepare(std::string("SELECT ") + kColumns +
                       " FROM iam_service_credentials WHERE user_name = ? AND"
                       " (? = '' OR service_name = ?) ORDER BY created_at, credential_id");
  if (!s) return pass(s);
  s->bind(1, user_name).bind(2, service_name).bind(3, service_name);
  std::vector<ServiceCredentialRecord> out;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    // Listings never carry secrets.
    out.push_back(ServiceCredentialRecord{s->column_text(0), s->column_text(1), s->column_text(2),
                                          s->column_text(3), "", s->column_text(5),
                                          s->column_int(6), s->column_int(7)});
  }
  return out;
}

Status SqliteIamStore::set_service_credential_status(const std::string& user_name,
                                                     const std::string& credential_id,
                                                     const std::string& status) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare(
      "UPDATE iam_service_credentials SET status = ? WHERE user_name = ? AND credential_id = ?");
  if (s) s->bind(1, status).bind(2, user_name).bind(3, credential_id);
  return run_keyed(std::move(s), credential_id);
}

Status SqliteIamStore::set_service_credential_secret(const std::string& user_name,
                                                     const std::string& credential_id,
                                                     const std::string& secret) {
  WriteScope write{generation_};
  auto sealed = seal(master_key_, secret, *random_, credential_id);
  if (!sealed) return pass(sealed);
  auto guard = db_.lock();
  auto s = db_.prepare(
      "UPDATE iam_service_credentials SET secret_sealed = ? WHERE user_name = ? AND"
      " credential_id = ?");
  if (s) s->bind_blob(1, *sealed).bind(2, user_name).bind(3, credential_id);
  return run_keyed(std::move(s), credential_id);
}

Status SqliteIamStore::delete_service_credential(const std::string& user_name,
                                                 const std::string& credential_id) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s =
      db_.prepare("DELETE FROM iam_service_credentials WHERE user_name = ? AND credential_id = ?");
  if (s) s->bind(1, user_name).bind(2, credential_id);
  return run_keyed(std::move(s), credential_id);
}

}  // namespace plinth::store
