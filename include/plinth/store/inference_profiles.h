// Application inference profiles and their tags, kept per account in the store's database
// (SQLite, or PostgreSQL shared by replicas).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/store/database.h"

namespace plinth::pg {
class Pool;
}

namespace plinth::store {

struct ProfileTag {
  std::string key;
  std::string value;
  bool operator==(const ProfileTag&) const = default;
};

struct InferenceProfileRecord {
  std::string account_id;
  std::string id;    // the ARN's resource id: 12 characters of [a-z0-9]
  std::string name;  // unique within the account
  std::string description;
  std::string model_source;          // modelSource.copyFrom as the caller sent it
  std::string model_id;              // the catalog id it resolved to when created
  std::string client_request_token;  // empty when none was sent
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::vector<ProfileTag> tags;  // sorted by key
};

// Errors: kNotFound (no such profile), kAlreadyExists (name or token taken), kPayloadTooLarge
// (a count bound reached: profiles per account on create, tags per profile on tag).
class InferenceProfileStore {
 public:
  virtual ~InferenceProfileStore() = default;

  // Fails with kPayloadTooLarge when the account already has max_profiles profiles.
  virtual Status create(const InferenceProfileRecord& profile, int64_t max_profiles) = 0;
  virtual Result<InferenceProfileRecord> get(const std::string& account_id,
                                             const std::string& id) = 0;
  virtual Result<InferenceProfileRecord> get_by_name(const std::string& account_id,
                                                     const std::string& name) = 0;
  // The profile an earlier create with this clientRequestToken made, if any.
  virtual Result<std::optional<InferenceProfileRecord>> find_by_token(const std::string& account_id,
                                                                      const std::string& token) = 0;
  // Up to `limit` profiles with id > after_id, ordered by id.
  virtual Result<std::vector<InferenceProfileRecord>> list(const std::string& account_id,
                                                           const std::string& after_id,
                                                           int64_t limit) = 0;
  // Deletes the profile and its tags.
  virtual Status remove(const std::string& account_id, const std::string& id) = 0;
  // Adds or overwrites tags; kPayloadTooLarge (nothing written) when the profile would then hold
  // more than max_tags.
  virtual Status tag(const std::string& account_id, const std::string& id,
                     const std::vector<ProfileTag>& tags, int64_t max_tags, int64_t now_ms) = 0;
  // Removes the tags with these keys (unknown keys are ignored).
  virtual Status untag(const std::string& account_id, const std::string& id,
                       const std::vector<std::string>& keys, int64_t now_ms) = 0;
};

// Profiles in tables inference_profiles and inference_profile_tags of `db` (migrated on open),
// which must outlive the store.
Result<std::unique_ptr<InferenceProfileStore>> open_sqlite_inference_profiles(Database& db);

// The same tables in PostgreSQL (migrated on open under the advisory lock), shared by replicas:
// the per-account and per-profile bounds hold across them.
Result<std::unique_ptr<InferenceProfileStore>> open_postgres_inference_profiles(
    std::shared_ptr<pg::Pool> pool);

}  // namespace plinth::store
