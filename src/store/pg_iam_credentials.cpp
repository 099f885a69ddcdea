// Service-specific credentials (Bedrock API keys, secrets sealed) and OIDC providers on
// PostgreSQL.
#include "line_list.h"
#include "pg_iam_store.h"
#include "plinth/core/pass_error.h"
#include "plinth/store/sealed_box.h"

namespace plinth::store {
namespace {

constexpr const char* kColumns =
    "credential_id, user_name, service_name, alias, secret_sealed, status, created_at, expires_at";

Status keyed(const Result<pg::Rows>& rows, const std::string& credential_id) {
  if (!rows) return pass(rows);
  if (rows->affected() == 0) {
    return fail(ErrorCode::kNotFound,
                "The Service Specific Credential with id " + credential_id + " cannot be found.");
  }
  return ok();
}

OidcProviderRecord read_provider(const pg::Rows& r, int i) {
  return OidcProviderRecord{r.text(i, 0), r.text(i, 1), split_lines(r.text(i, 2)),
                            split_lines(r.text(i, 3)), r.int64(i, 4)};
}

Error oidc_not_found(const std::string& arn) {
  return Error(ErrorCode::kNotFound, "OpenIDConnect provider " + arn + " does not exist.");
}

}  // namespace

Status PgIamStore::create_service_credential(const ServiceCredentialRecord& c) {
  // The id is the associated data: a sealed secret cannot be moved to another row.
  auto sealed = seal(master_key_, c.secret, *random_, c.credential_id);
  if (!sealed) return pass(sealed);
  return write([&](pg::Connection& conn) -> Status {
    auto user =
        conn.exec_prepared("iam_user_for_credential",
                           "SELECT 1 FROM iam_users WHERE name = $1 FOR SHARE", {c.user_name});
    if (!user) return pass(user);
    if (user->empty()) {
      return fail(ErrorCode::kNotFound, "The user with name " + c.user_name + " cannot be found.");
    }
    auto r = conn.exec_prepared("iam_create_credential",
                                std::string("INSERT INTO iam_service_credentials (") + kColumns +
                                    ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                                {c.credential_id, c.user_name, c.service_name, c.alias,
                                 pg::Param::bytes(*sealed), c.status, c.created_at, c.expires_at});
    if (!r) return pass(r);
    return ok();
  });
}

Result<ServiceCredentialRecord> PgIamStore::get_service_credential(const std::string& alias) {
  auto r =
      query("iam_get_credential",
            std::string("SELECT ") + kColumns + " FROM iam_service_credentials WHERE alias = $1",
            {alias});
  if (!r) return pass(r);
  if (r->empty()) return fail(ErrorCode::kNotFound, "The service credential is unknown.");
  std::string id = r->text(0, 0);
  auto secret = unseal(master_key_, r->bytes(0, 4), id);
  if (!secret) {
    return fail(ErrorCode::kCorruptData,
                "stored secret of " + id + " does not open with the master key");
  }
  return ServiceCredentialRecord{id,      r->text(0, 1), r->text(0, 2),  r->text(0, 3),
                                 *secret, r->text(0, 5), r->int64(0, 6), r->int64(0, 7)};
}

Result<std::vector<ServiceCredentialRecord>> PgIamStore::list_service_credentials(
    const std::string& user_name, const std::string& service_name) {
  if (auto user = get_user(user_name); !user) return pass(user);
  auto r = query("iam_list_credentials",
                 std::string("SELECT ") + kColumns +
                     " FROM iam_service_credentials WHERE user_name = $1 AND"
                     " ($2 = '' OR service_name = $2) ORDER BY created_at, credential_id",
                 {user_name, service_name});
  if (!r) return pass(r);
  std::vector<ServiceCredentialRecord> out;
  for (int i = 0; i < r->size(); ++i) {
    // Listings never carry secrets.
    out.push_back(ServiceCredentialRecord{r->text(i, 0), r->text(i, 1), r->text(i, 2),
                                          r->text(i, 3), "", r->text(i, 5), r->int64(i, 6),
                                          r->int64(i, 7)});
  }
  return out;
}

Status PgIamStore::set_service_credential_status(const std::string& user_name,
                                                 const std::string& credential_id,
                                                 const std::string& status) {
  return write([&](pg::Connection& c) {
    return keyed(c.exec_prepared("iam_credential_status",
                                 "UPDATE iam_service_credentials SET status = $1"
                                 " WHERE user_name = $2 AND credential_id = $3",
                                 {status, user_name, credential_id}),
                 credential_id);
  });
}

Status PgIamStore::set_service_credential_secret(const std::string& user_name,
                                                 const std::string& credential_id,
                                                 const std::string& secret) {
  auto sealed = seal(master_key_, secret, *random_, credential_id);
  if (!sealed) return pass(sealed);
  return write([&](pg::Connection& c) {
    return keyed(c.exec_prepared("iam_credential_secret",
                                 "UPDATE iam_service_credentials SET secret_sealed = $1"
                                 " WHERE user_name = $2 AND credential_id = $3",
                                 {pg::Param::bytes(*sealed), user_name, credential_id}),
                 credential_id);
  });
}

Status PgIamStore::delete_service_credential(const std::string& user_name,
                                             const std::string& credential_id) {
  return write([&](pg::Connection& c) {
    return keyed(c.exec_prepared("iam_delete_credential",
                                 "DELETE FROM iam_service_credentials"
                                 " WHERE user_name = $1 AND credential_id = $2",
                                 {user_name, credential_id}),
                 credential_id);
  });
}

Status PgIamStore::create_oidc_provider(const OidcProviderRecord& p) {
  return write([&](pg::Connection& c) -> Status {
    auto r = c.exec_prepared(
        "iam_create_oidc",
        "INSERT INTO iam_oidc_providers (arn, url, client_ids, thumbprints, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        {p.arn, p.url, join_lines(p.client_ids), join_lines(p.thumbprints), p.created_at});
    if (!r && r.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "Provider with url " + p.url + " already exists.");
    }
    if (!r) return pass(r);
    return ok();
  });
}

Result<OidcProviderRecord> PgIamStore::get_oidc_provider(const std::string& arn) {
  auto r = query("iam_get_oidc",
                 "SELECT arn, url, client_ids, thumbprints, created_at FROM iam_oidc_providers"
                 " WHERE arn = $1",
                 {arn});
  if (!r) return pass(r);
  if (r->empty()) return std::unexpected(oidc_not_found(arn));
  return read_provider(*r, 0);
}

Result<std::vector<OidcProviderRecord>> PgIamStore::list_oidc_providers() {
  auto r = query("iam_list_oidc",
                 "SELECT arn, url, client_ids, thumbprints, created_at FROM iam_oidc_providers"
                 " ORDER BY arn",
                 {});
  if (!r) return pass(r);
  std::vector<OidcProviderRecord> out;
  for (int i = 0; i < r->size(); ++i) out.push_back(read_provider(*r, i));
  return out;
}

Status PgIamStore::delete_oidc_provider(const std::string& arn) {
  return write([&](pg::Connection& c) -> Status {
    auto r =
        c.exec_prepared("iam_delete_oidc", "DELETE FROM iam_oidc_providers WHERE arn = $1", {arn});
    if (!r) return pass(r);
    if (r->affected() == 0) return std::unexpected(oidc_not_found(arn));
    return ok();
  });
}

}  // namespace plinth::store
