// Application inference profiles on SQLite: one row per profile, one per tag.
#include <algorithm>

#include "plinth/core/pass_error.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::store {
namespace {

const std::vector<Migration> kProfileMigrations = {{1, R"(
CREATE TABLE inference_profiles (
  account_id TEXT NOT NULL,
  id TEXT NOT NULL,
  name TEXT NOT NULL,
  description TEXT NOT NULL,
  model_source TEXT NOT NULL,
  model_id TEXT NOT NULL,
  client_request_token TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
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

InferenceProfileRecord read_profile(const Statement& s) {
  return InferenceProfileRecord{
      s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_text(4),
      s.column_text(5), s.column_text(6), s.column_int(7),  s.column_int(8),  {}};
}

class SqliteInferenceProfiles final : public InferenceProfileStore {
 public:
  explicit SqliteInferenceProfiles(Database& db) : db_(db) {}

  Status create(const InferenceProfileRecord& p, int64_t max_profiles) override {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return pass(transaction);
    auto count = db_.prepare("SELECT COUNT(*) FROM inference_profiles WHERE account_id = ?1");
    if (!count) return pass(count);
    count->bind(1, p.account_id);
    if (auto row = count->step(); !row) return pass(row);
    if (count->column_int(0) >= max_profiles) {
      return fail(ErrorCode::kPayloadTooLarge,
                  "The account already has " + std::to_string(max_profiles) +
                      " application inference profiles, the most allowed.");
    }
    auto insert = db_.prepare("INSERT INTO inference_profiles (" + std::string(kColumns) +
                              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!insert) return pass(insert);
    insert->bind(1, p.account_id)
        .bind(2, p.id)
        .bind(3, p.name)
        .bind(4, p.description)
        .bind(5, p.model_source)
        .bind(6, p.model_id)
        .bind(7, p.client_request_token)
        .bind(8, p.created_ms)
        .bind(9, p.updated_ms);
    if (auto run = insert->run(); !run) {
      if (run.error().code == ErrorCode::kAlreadyExists) {
        return fail(ErrorCode::kAlreadyExists,
                    "An inference profile named " + p.name + " already exists.");
      }
      return pass(run);
    }
    if (auto written = write_tags(p.account_id, p.id, p.tags); !written) return written;
    return transaction->commit();
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
    auto guard = db_.lock();
    auto s = db_.prepare("SELECT " + std::string(kColumns) +
                         " FROM inference_profiles WHERE account_id = ?1 AND id > ?2"
                         " ORDER BY id LIMIT ?3");
    if (!s) return pass(s);
    s->bind(1, account_id).bind(2, after_id).bind(3, limit);
    std::vector<InferenceProfileRecord> profiles;
    while (true) {
      auto row = s->step();
      if (!row) return pass(row);
      if (!*row) break;
      profiles.push_back(read_profile(*s));
    }
    for (InferenceProfileRecord& profile : profiles) {
      auto tags = read_tags(account_id, profile.id);
      if (!tags) return pass(tags);
      profile.tags = std::move(*tags);
    }
    return profiles;
  }

  Status remove(const std::string& account_id, const std::string& id) override {
    auto guard = db_.lock();
    auto s = db_.prepare("DELETE FROM inference_profiles WHERE account_id = ?1 AND id = ?2");
    if (!s) return pass(s);
    s->bind(1, account_id).bind(2, id);
    auto changes = s->run();
    if (!changes) return pass(changes);
    if (*changes == 0) return not_found(id);
    return ok();
  }

  Status tag(const std::string& account_id, const std::string& id,
             const std::vector<ProfileTag>& tags, int64_t max_tags, int64_t now_ms) override {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return pass(transaction);
    auto existing = read_tags(account_id, id);
    if (!existing) return pass(existing);
    if (auto touched = touch(account_id, id, now_ms); !touched) return touched;
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
    if (auto written = write_tags(account_id, id, tags); !written) return written;
    return transaction->commit();
  }

  Status untag(const std::string& account_id, const std::string& id,
               const std::vector<std::string>& keys, int64_t now_ms) override {
    auto transaction = Transaction::begin(db_);
    if (!transaction) return pass(transaction);
    if (auto touched = touch(account_id, id, now_ms); !touched) return touched;
    auto s = db_.prepare(
        "DELETE FROM inference_profile_tags WHERE account_id = ?1 AND profile_id = ?2 AND key = "
        "?3");
    if (!s) return pass(s);
    for (const std::string& key : keys) {
      s->reset();
      s->bind(1, account_id).bind(2, id).bind(3, key);
      if (auto run = s->run(); !run) return pass(run);
    }
    return transaction->commit();
  }

 private:
  static std::unexpected<Error> not_found(const std::string& id) {
    return fail(ErrorCode::kNotFound, "The inference profile " + id + " does not exist.");
  }

  // column is one of the fixed names above, never caller text.
  Result<InferenceProfileRecord> get_where(std::string_view column, const std::string& account_id,
                                           const std::string& value) {
    auto guard = db_.lock();
    auto s = db_.prepare("SELECT " + std::string(kColumns) +
                         " FROM inference_profiles WHERE account_id = ?1 AND " +
                         std::string(column) + " = ?2");
    if (!s) return pass(s);
    s->bind(1, account_id).bind(2, value);
    auto row = s->step();
    if (!row) return pass(row);
    if (!*row) return not_found(value);
    InferenceProfileRecord profile = read_profile(*s);
    auto tags = read_tags(account_id, profile.id);
    if (!tags) return pass(tags);
    profile.tags = std::move(*tags);
    return profile;
  }

  Result<std::vector<ProfileTag>> read_tags(const std::string& account_id, const std::string& id) {
    auto guard = db_.lock();
    auto s = db_.prepare(
        "SELECT key, value FROM inference_profile_tags WHERE account_id = ?1 AND profile_id = ?2"
        " ORDER BY key");
    if (!s) return pass(s);
    s->bind(1, account_id).bind(2, id);
    std::vector<ProfileTag> tags;
    while (true) {
      auto row = s->step();
      if (!row) return pass(row);
      if (!*row) break;
      tags.push_back({s->column_text(0), s->column_text(1)});
    }
    return tags;
  }

  // Bumps updated_ms; kNotFound when the profile does not exist.
  Status touch(const std::string& account_id, const std::string& id, int64_t now_ms) {
    auto s = db_.prepare(
        "UPDATE inference_profiles SET updated_ms = ?3 WHERE account_id = ?1 AND id = ?2");
    if (!s) return pass(s);
    s->bind(1, account_id).bind(2, id).bind(3, now_ms);
    auto changes = s->run();
    if (!changes) return pass(changes);
    if (*changes == 0) return not_found(id);
    return ok();
  }

  Status write_tags(const std::string& account_id, const std::string& id,
                    const std::vector<ProfileTag>& tags) {
    auto s = db_.prepare(
        "INSERT INTO inference_profile_tags (account_id, profile_id, key, value)"
        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (account_id, profile_id, key)"
        " DO UPDATE SET value = excluded.value");
    if (!s) return pass(s);
    for (const ProfileTag& t : tags) {
      s->reset();
      s->bind(1, account_id).bind(2, id).bind(3, t.key).bind(4, t.value);
      if (auto run = s->run(); !run) return pass(run);
    }
    return ok();
  }

  Database& db_;
};

}  // namespace

Result<std::unique_ptr<InferenceProfileStore>> open_sqlite_inference_profiles(Database& db) {
  if (auto migrated = db.migrate("inference_profiles", kProfileMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<SqliteInferenceProfiles>(db);
}

}  // namespace plinth::store
