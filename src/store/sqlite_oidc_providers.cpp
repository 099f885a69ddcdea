// OpenID Connect providers (IAM CreateOpenIDConnectProvider) on SQLite.
#include "line_list.h"
#include "plinth/core/pass_error.h"
#include "sqlite_iam_store.h"

namespace plinth::store {
namespace {

OidcProviderRecord read_provider(const Statement& s) {
  return OidcProviderRecord{s.column_text(0), s.column_text(1), split_lines(s.column_text(2)),
                            split_lines(s.column_text(3)), s.column_int(4)};
}

Error not_found(const std::string& arn) {
  return Error(ErrorCode::kNotFound, "OpenIDConnect provider " + arn + " does not exist.");
}

}  // namespace

Status SqliteIamStore::create_oidc_provider(const OidcProviderRecord& p) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare(
      "INSERT INTO iam_oidc_providers (arn, url, client_ids, thumbprints, created_at)"
      " VALUES (?,?,?,?,?)");
  if (!s) return pass(s);
  s->bind(1, p.arn).bind(2, p.url).bind(3, join_lines(p.client_ids));
  s->bind(4, join_lines(p.thumbprints)).bind(5, p.created_at);
  auto r = s->run();
  if (!r && r.error().code == ErrorCode::kAlreadyExists) {
    return fail(ErrorCode::kAlreadyExists, "Provider with url " + p.url + " already exists.");
  }
  if (!r) return pass(r);
  return ok();
}

Result<OidcProviderRecord> SqliteIamStore::get_oidc_provider(const std::string& arn) {
  auto guard = db_.lock();
  auto s = db_.prepare(
      "SELECT arn, url, client_ids, thumbprints, created_at FROM iam_oidc_providers"
      " WHERE arn = ?");
  if (!s) return pass(s);
  s->bind(1, arn);
  auto row = s->step();
  if (!row) return pass(row);
  if (!*row) return std::unexpected(not_found(arn));
  return read_provider(*s);
}

Result<std::vector<OidcProviderRecord>> SqliteIamStore::list_oidc_providers() {
  auto guard = db_.lock();
  auto s = db_.prepare(
      "SELECT arn, url, client_ids, thumbprints, created_at FROM iam_oidc_providers"
      " ORDER BY arn");
  if (!s) return pass(s);
  std::vector<OidcProviderRecord> out;
  while (true) {
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) break;
    out.push_back(read_provider(*s));
  }
  return out;
}

Status SqliteIamStore::delete_oidc_provider(const std::string& arn) {
  WriteScope write{generation_};
  auto guard = db_.lock();
  auto s = db_.prepare("DELETE FROM iam_oidc_providers WHERE arn = ?");
  if (!s) return pass(s);
  s->bind(1, arn);
  auto changes = s->run();
  if (!changes) return pass(changes);
  if (*changes == 0) return std::unexpected(not_found(arn));
  return ok();
}

}  // namespace plinth::store
