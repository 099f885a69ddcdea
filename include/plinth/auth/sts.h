// STS as a C++ service: self-verifying session tokens and bearer tokens, GetCallerIdentity,
// GetSessionToken, AssumeRole, and the credential resolver the Authenticator uses.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "plinth/auth/authenticator.h"
#include "plinth/auth/principal.h"
#include "plinth/auth/root_credentials.h"
#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/store/store.h"

namespace plinth::auth {

inline constexpr std::string_view kBearerTokenPrefix = "plinth-bt-";
inline constexpr std::chrono::hours kMaxBearerLifetime{12};
inline constexpr std::string_view kTaskRoleSessionName = "plinth-task-role";

// Seals a session (temporary key id, its secret, who it is, its session policy, expiry) with
// AES-256-GCM under the server's session key, so any replica holding DATA_DIR/session.key accepts
// it without a database lookup. Identity policies are NOT in the token: they are re-read from the
// store (by user or role name) when the token is used, so edits and deletions apply at once.
class SessionTokenCodec {
 public:
  // key: 32 bytes (load_or_create_key_file(DATA_DIR/"session.key", …)).
  SessionTokenCodec(std::string key, std::shared_ptr<Random> random)
      : key_(std::move(key)), random_(std::move(random)) {}

  // The principal must carry access_key_id and expires_at.
  std::string encode_session(const Principal& principal, std::string_view secret) const;
  // kUnknownAccessKey when the token does not decrypt or belongs to another access key id;
  // kExpiredToken when past its expiry.
  Result<ResolvedCredential> decode_session(std::string_view token, std::string_view access_key_id,
                                            std::chrono::system_clock::time_point now) const;

  std::string encode_bearer(const Principal& principal) const;  // "plinth-bt-…"
  // kUnauthenticated when malformed or forged; kExpiredToken when expired.
  Result<Principal> decode_bearer(std::string_view token,
                                  std::chrono::system_clock::time_point now) const;

 private:
  std::string key_;
  std::shared_ptr<Random> random_;
};

struct TemporaryCredentials {
  std::string access_key_id;  // ASIA…
  std::string secret_access_key;
  std::string session_token;
  std::chrono::system_clock::time_point expiration;
};

struct AssumeRoleRequest {
  std::string role_arn{};
  std::string role_session_name{};        // [\w+=,.@-]{2,64}
  std::optional<int> duration_seconds{};  // 900..43200 (and the role's max), default 3600
  std::optional<std::string> policy{};    // session policy JSON
};

struct AssumeRoleResult {
  TemporaryCredentials credentials;
  std::string assumed_role_id;   // AROA…:SESSION
  std::string assumed_role_arn;  // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION
};

struct BearerToken {
  std::string token;
  std::chrono::system_clock::time_point expiration;
};

// Errors: kInvalidArgument (ValidationError), kNotFound (role unknown), kPermissionDenied
// (trust policy refuses, or GetSessionToken from session credentials: AccessDenied),
// kInvalidArgument with "Malformed policy document" prefix for a bad session policy.
class StsService {
 public:
  StsService(store::IamStore& iam, std::string account_id,
             std::shared_ptr<const SessionTokenCodec> codec, std::shared_ptr<const Clock> clock,
             std::shared_ptr<Random> random)
      : iam_(iam),
        account_id_(std::move(account_id)),
        codec_(std::move(codec)),
        clock_(std::move(clock)),
        random_(std::move(random)) {}

  // Users and root only; DurationSeconds 900..129600 (root: max 3600), default 43200.
  Result<TemporaryCredentials> get_session_token(const Principal& caller,
                                                 std::optional<int> duration_seconds) const;
  Result<AssumeRoleResult> assume_role(const Principal& caller, const AssumeRoleRequest& request,
                                       const RequestContext& ctx) const;
  // Short-lived bearer token for the OpenAI-compatible API acting as `caller`; default 1 h,
  // at most 12 h and never beyond the caller's own session expiry.
  Result<BearerToken> mint_bearer_token(const Principal& caller,
                                        std::optional<int> duration_seconds) const;

  // The container-credentials protocol (plinth serve --task-role): one-hour credentials of the
  // role the operator configured, session name kTaskRoleSessionName. No trust policy applies:
  // the caller proved it holds the server's container-credentials token. kNotFound: no such role.
  Result<AssumeRoleResult> task_role_credentials(const std::string& role_name) const;

  // Credentials of a session of `role`, for a caller whose right to it was checked already
  // (AssumeRole, AssumeRoleWithWebIdentity, the task role). duration_seconds: already validated.
  Result<AssumeRoleResult> issue_role_session(const store::RoleRecord& role,
                                              const std::string& session_name, int duration_seconds,
                                              std::optional<std::string> policy) const;

  const std::string& account_id() const { return account_id_; }

 private:
  store::IamStore& iam_;
  std::string account_id_;
  std::shared_ptr<const SessionTokenCodec> codec_;
  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<Random> random_;
};

// The production resolver: root credentials, IAM users' access keys, ASIA… session tokens and
// bearer tokens; fills identity_policies from the store.
class StoreCredentialResolver final : public CredentialResolver, public BearerTokenVerifier {
 public:
  StoreCredentialResolver(RootCredentials root, std::string account_id, store::IamStore& iam,
                          std::shared_ptr<const SessionTokenCodec> codec,
                          std::shared_ptr<const Clock> clock)
      : root_(std::move(root)),
        account_id_(std::move(account_id)),
        iam_(iam),
        codec_(std::move(codec)),
        clock_(std::move(clock)) {}

  Result<ResolvedCredential> resolve(
      std::string_view access_key_id,
      const std::optional<std::string>& session_token) const override;
  Result<Principal> verify_bearer(std::string_view token) const override;

  // Refreshes identity_policies (and checks the user or role still exists). Served from a short
  // cache (kIdentityCacheTtl, and never across a write to the IamStore in this process): two
  // SQLite reads per request would be most of the cost of authenticating it.
  Status load_policies(Principal& principal) const;
  // An IAM user's principal with its policies, for a credential (access key id or service
  // credential id) that expires at `expires_at` (unix seconds; 0 = never).
  Result<Principal> user_principal(const store::UserRecord& user, std::string access_key_id,
                                   int64_t expires_at) const;
  Principal root_principal() const;

  static constexpr std::chrono::milliseconds kIdentityCacheTtl{1000};

 private:
  struct CachedIdentity {
    bool exists = false;
    std::string role_arn;  // roles: the ARN the role has now (a re-created role is another)
    std::vector<std::string> policies;
    uint64_t generation = 0;
    std::chrono::steady_clock::time_point fetched;
  };
  Result<CachedIdentity> read_identity(bool user, const std::string& name) const;
  // "ABSK…": an IAM service-specific credential for bedrock.amazonaws.com, acting as its user.
  Result<Principal> verify_long_term_api_key(std::string_view token) const;

  RootCredentials root_;
  std::string account_id_;
  store::IamStore& iam_;
  std::shared_ptr<const SessionTokenCodec> codec_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex cache_mutex_;
  // Keyed by "u:NAME" or "r:NAME". Guarded by cache_mutex_.
  mutable std::unordered_map<std::string, CachedIdentity> cache_;
};

// Validates RoleSessionName: [\w+=,.@-]{2,64}.
bool is_valid_role_session_name(std::string_view name);

}  // namespace plinth::auth
