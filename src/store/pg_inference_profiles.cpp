// Application inference profiles on PostgreSQL, shared by replicas: one row per profile, one per
// tag; the per-account and per-profile bounds hold across replicas (see create and tag).
#include <algorithm>

#include "plinth/core/pass_error.h"
#include "plinth/pg/migrations.h"
#include "plinth/pg/pool.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::store {
namespace {

const std::vector<pg::Migration> kMigrations = {{1, R"(
CREATE TABLE inference_profiles (
  account_id TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  model_source TEXT NOT NULL,
  model_id TEXT NOT NULL,
  client_request_token TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, id)
);
CREATE UNIQUE INDEX inference_profiles_name ON inference_profiles(account_id, name);
CREATE UNIQUE INDEX inference_profiles_token ON inference_profiles(account_id, client_request_token)
  WHERE client_request_token <> '';
CREATE TABLE inference_profile_tags (
  account_id TEXT NOT NULL,
  profile_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (account_id, profile_id, key),
  FOREIGN KEY (account_id, profile_id) REFERENCES inference_profiles(account_id, id)
    ON DELETE CASCADE
);
)"}};

constexpr std::string_view kColumns =
    "account_id, id, name, description, model_source, model_id, client_request_token, "
    "created_ms, updated_ms";

std::unexpected<Error> not_found(const std::string& id) {
  return fail(ErrorCode::kNotFound, "The inference profile " + id + " does not exist.");
}

InferenceProfileRecord read_profile(const pg::Rows& r, int i) {
  return InferenceProfileRecord{
      r.text(i, 0), r.text(i, 1), r.text(i, 2),  r.text(i, 3),  r.text(i, 4),
      r.text(i, 5), r.text(i, 6), r.int64(i, 7), r.int64(i, 8), {}};
}

Result<std::vector<ProfileTag>> read_tags(pg::Connection& c, const std::string& account_id,
                                          const std::string& id) {
  auto rows = c.exec_prepared("profile_tags",
                              "SELECT key, value FROM inference_profile_tags WHERE account_id = $1"
                              " AND profile_id = $2 ORDER BY key COLLATE \"C\"",
                              {account_id, id});
  if (!rows) return pass(rows);
  std::vector<ProfileTag> tags;
  for (int i = 0; i < rows->size(); ++i) tags.push_back({rows->text(i, 0), rows->text(i, 1)});
  return tags;
}

Status write_tags(pg::Connection& c, const std::string& account_id, const std::string& id,
                  const std::vector<ProfileTag>& tags) {
  for (const ProfileTag& t : tags) {
    auto done =
        c.exec_prepared("profile_tag_put",
                        "INSERT INTO inference_profile_tags (account_id, profile_id, key, value)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (account_id, profile_id, key)"
                        " DO UPDATE SET value = excluded.value",
                        {account_id, id, t.key, t.value});
    if (!done) return pass(done);
  }
  return ok();
}

// Bumps updated_ms and locks the profile's row until the transaction ends, so that concurrent
// tag changes on any replica count the tags one after the other. kNotFound when it is gone.
Status touch(pg::Connection& c, const std::string& account_id, const std::string& id,
             int64_t now_ms) {
  auto done = c.exec_prepared(
      "profile_touch",
      "UPDATE inference_profiles SET updated_ms = $3 WHERE account_id = $1 AND id = $2",
      {account_id, id, now_ms});
  if (!done) return pass(done);
  if (done->affected() == 0) return not_found(id);
  return ok();
}

class PgInferenceProfiles final : public InferenceProfileStore {
 public:
  explicit PgInferenceProfiles(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  Status create(const InferenceProfileRecord& p, int64_t max_profiles) override {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    pg::Connection& c = **lease;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return pass(tx);
    // Creates of one account take turns (on every replica), so the count below stays true
    // until this insert commits.
    auto locked = c.exec_prepared("profile_account_lock",
                                  "SELECT pg_advisory_xact_lock(hashtext('inference_profiles'),"
                                  " hashtext($1))",
                                  {p.account_id});
    if (!locked) return pass(locked);
    auto count = c.exec_prepared("profile_count",
                                 "SELECT COUNT(*) FROM inference_profiles WHERE account_id = $1",
                                 {p.account_id});
    if (!count) return pass(count);
    if (count->int64(0, 0) >= max_profiles) {
      return fail(ErrorCode::kPayloadTooLarge,
                  "The account already has " + std::to_string(max_profiles) +
                      " application inference profiles, the most allowed.");
    }
    auto inserted =
        c.exec_prepared("profile_insert",
                        "INSERT INTO inference_profiles (" + std::string(kColumns) +
                            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        {p.account_id, p.id, p.name, p.description, p.model_source, p.model_id,
                         p.client_request_token, p.created_ms, p.updated_ms});
    if (!inserted) {
      if (inserted.error().code == ErrorCode::kAlreadyExists) {
        return fail(ErrorCode::kAlreadyExists,
                    "An inference profile named " + p.name + " already exists.");
      }
      return pass(inserted);
    }
    if (auto written = write_tags(c, p.account_id, p.id, p.tags); !written) return written;
    return tx->commit();
  }

  Result<InferenceProfileRecord> get(const std::string& account_id,
                                     const std::string& id) override {
    return get_where("id", account_id, id);
  }

  Result<InferenceProfileRecord> get_by_name(const std::string& account_id,
                                             const std::string& name) override {
    return get_where("name", account_id, name);
  }

  Result<std::optional<InferenceProfileRecord>> find_by_token(const std::string& account_id,
                                                              const std::string& token) override {
    if (token.empty()) return std::optional<InferenceProfileRecord>();
    auto found = get_where("client_request_token", account_id, token);
    if (!found && found.error().code == ErrorCode::kNotFound) {
      return std::optional<InferenceProfileRecord>();
    }
    if (!found) return pass(found);
    return std::optional<InferenceProfileRecord>(std::move(*found));
  }

  Result<std::vector<InferenceProfileRecord>> list(const std::string& account_id,
                                                   const std::string& after_id,
                                                   int64_t limit) override {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    pg::Connection& c = **lease;
    auto rows = c.exec_prepared(
        "profile_list",
        "SELECT " + std::string(kColumns) +
            " FROM inference_profiles WHERE account_id = $1 AND id COLLATE \"C\" > $2"
            " ORDER BY id COLLATE \"C\" LIMIT $3",
        {account_id, after_id, limit});
    if (!rows) return pass(rows);
    std::vector<InferenceProfileRecord> profiles;
    for (int i = 0; i < rows->size(); ++i) {
      profiles.push_back(read_profile(*rows, i));
      auto tags = read_tags(c, account_id, profiles.back().id);
      if (!tags) return pass(tags);
      profiles.back().tags = std::move(*tags);
    }
    return profiles;
  }

  Status remove(const std::string& account_id, const std::string& id) override {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    auto done = (*lease)->exec_prepared(
        "profile_delete", "DELETE FROM inference_profiles WHERE account_id = $1 AND id = $2",
        {account_id, id});
    if (!done) return pass(done);
    if (done->affected() == 0) return not_found(id);
    return ok();
  }

  Status tag(const std::string& account_id, const std::string& id,
             const std::vector<ProfileTag>& tags, int64_t max_tags, int64_t now_ms) override {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    pg::Connection& c = **lease;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return pass(tx);
    if (auto touched = touch(c, account_id, id, now_ms); !touched) return touched;
    auto existing = read_tags(c, account_id, id);
    if (!existing) return pass(existing);
    int64_t total = static_cast<int64_t>(existing->size());
    for (const ProfileTag& t : tags) {
      bool known =
          std::ranges::any_of(*existing, [&](const ProfileTag& e) { return e.key == t.key; });
      if (!known) ++total;
    }
    if (total > max_tags) {
      return fail(ErrorCode::kPayloadTooLarge,
                  "A resource can have at most " + std::to_string(max_tags) + " tags; this " +
                      "request would give it " + std::to_string(total) + ".");
    }
    if (auto written = write_tags(c, account_id, id, tags); !written) return written;
    return tx->commit();
  }

  Status untag(const std::string& account_id, const std::string& id,
               const std::vector<std::string>& keys, int64_t now_ms) override {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    pg::Connection& c = **lease;
    auto tx = pg::Transaction::begin(c);
    if (!tx) return pass(tx);
    if (auto touched = touch(c, account_id, id, now_ms); !touched) return touched;
    for (const std::string& key : keys) {
      auto done = c.exec_prepared("profile_untag",
                                  "DELETE FROM inference_profile_tags WHERE account_id = $1"
                                  " AND profile_id = $2 AND key = $3",
                                  {account_id, id, key});
      if (!done) return pass(done);
    }
    return tx->commit();
  }

 private:
  // column is one of the fixed names above, never caller text.
  Result<InferenceProfileRecord> get_where(std::string_view column, const std::string& account_id,
                                           const std::string& value) {
    auto lease = pool_->acquire();
    if (!lease) return pass(lease);
    pg::Connection& c = **lease;
    auto rows = c.exec_prepared("profile_by_" + std::string(column),
                                "SELECT " + std::string(kColumns) +
                                    " FROM inference_profiles WHERE account_id = $1 AND " +
                                    std::string(column) + " = $2",
                                {account_id, value});
    if (!rows) return pass(rows);
    if (rows->empty()) return not_found(value);
    InferenceProfileRecord profile = read_profile(*rows, 0);
    auto tags = read_tags(c, account_id, profile.id);
    if (!tags) return pass(tags);
    profile.tags = std::move(*tags);
    return profile;
  }

  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<InferenceProfileStore>> open_postgres_inference_profiles(
    std::shared_ptr<pg::Pool> pool) {
  auto lease = pool->acquire();
  if (!lease) return pass(lease);
  if (auto migrated = pg::migrate(**lease, "inference_profiles", kMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<PgInferenceProfiles>(std::move(pool));
}

}  // namespace plinth::store
