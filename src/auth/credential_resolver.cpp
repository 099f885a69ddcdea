// The production CredentialResolver: root key, IAM users' keys, session and bearer tokens.
#include "plinth/auth/bedrock_api_key.h"
#include "plinth/auth/sts.h"
#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace {

Error invalid_token() {
  return Error(ErrorCode::kUnknownAccessKey,
               "The security token included in the request is invalid.");
}

std::vector<std::string> documents(const std::vector<store::InlinePolicy>& policies) {
  std::vector<std::string> out;
  for (const auto& policy : policies) out.push_back(policy.document);
  return out;
}

}  // namespace

Principal StoreCredentialResolver::root_principal() const {
  Principal p;
  p.kind = Principal::Kind::kRoot;
  p.base_kind = Principal::Kind::kRoot;
  p.account_id = account_id_;
  p.arn = "arn:aws:iam::" + account_id_ + ":root";
  p.user_id = account_id_;
  p.access_key_id = root_.access_key_id;
  return p;
}

Result<StoreCredentialResolver::CachedIdentity> StoreCredentialResolver::read_identity(
    bool user, const std::string& name) const {
  std::string key = (user ? "u:" : "r:") + name;
  const uint64_t generation = iam_.write_generation();
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.generation == generation &&
        now - it->second.fetched < kIdentityCacheTtl) {
      return it->second;
    }
  }
  CachedIdentity identity;
  identity.generation = generation;  // noted before reading: a concurrent write invalidates it
  identity.fetched = now;
  if (user) {
    identity.exists = iam_.get_user(name).has_value();
    if (identity.exists) {
      auto policies = iam_.list_user_policies(name);
      if (!policies) return std::unexpected(policies.error());
      identity.policies = documents(*policies);
    }
  } else {
    auto role = iam_.get_role(name);
    identity.exists = role.has_value();
    if (identity.exists) {
      identity.role_arn = role->arn;
      auto policies = iam_.list_role_policies(name);
      if (!policies) return std::unexpected(policies.error());
      identity.policies = documents(*policies);
    }
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= 4096) cache_.clear();  // bounded; refilled on demand
  cache_[key] = identity;
  return identity;
}

Result<Principal> StoreCredentialResolver::user_principal(const store::UserRecord& user,
                                                          std::string access_key_id,
                                                          int64_t expires_at) const {
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.base_kind = Principal::Kind::kUser;
  p.account_id = account_id_;
  p.arn = user.arn;
  p.user_id = user.user_id;
  p.name = user.name;
  p.access_key_id = std::move(access_key_id);
  if (expires_at != 0) {
    p.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(expires_at));
  }
  if (auto s = load_policies(p); !s) return std::unexpected(s.error());
  return p;
}

Status StoreCredentialResolver::load_policies(Principal& p) const {
  bool user = p.kind == Principal::Kind::kUser || (p.kind == Principal::Kind::kFederatedSession &&
                                                   p.base_kind == Principal::Kind::kUser);
  if (user) {
    auto identity = read_identity(true, p.name);
    if (!identity) return std::unexpected(identity.error());
    if (!identity->exists) return std::unexpected(invalid_token());
    p.identity_policies = std::move(identity->policies);
  } else if (p.kind == Principal::Kind::kAssumedRole) {
    auto identity = read_identity(false, p.name);
    if (!identity) return std::unexpected(identity.error());
    if (!identity->exists || identity->role_arn != p.role_arn) {
      return std::unexpected(invalid_token());
    }
    p.identity_policies = std::move(identity->policies);
  }
  return ok();
}

Result<ResolvedCredential> StoreCredentialResolver::resolve(
    std::string_view access_key_id, const std::optional<std::string>& session_token) const {
  if (session_token) {
    auto credential = codec_->decode_session(*session_token, access_key_id, clock_->now());
    if (!credential) return credential;
    if (auto s = load_policies(credential->principal); !s) return std::unexpected(s.error());
    return credential;
  }
  if (access_key_id == root_.access_key_id) {
    return ResolvedCredential{root_.secret_access_key, root_principal()};
  }
  if (access_key_id.starts_with("ASIA")) return std::unexpected(invalid_token());
  auto key = iam_.get_access_key(std::string(access_key_id));
  if (!key) {
    if (key.error().code == ErrorCode::kNotFound) return std::unexpected(invalid_token());
    return std::unexpected(key.error());
  }
  if (key->status != "Active") return std::unexpected(invalid_token());
  auto user = iam_.get_user(key->user_name);
  if (!user) return std::unexpected(invalid_token());
  auto p = user_principal(*user, key->access_key_id, 0);
  if (!p) return std::unexpected(p.error());
  return ResolvedCredential{key->secret_access_key, std::move(*p)};
}

Result<Principal> StoreCredentialResolver::verify_long_term_api_key(std::string_view token) const {
  auto refused = [] {
    return fail(ErrorCode::kUnauthenticated, "Authentication failed: the API key is not valid.");
  };
  auto key = decode_long_term_api_key(token);
  if (!key) return refused();
  auto record = iam_.get_service_credential(key->alias);
  if (!record) {
    if (record.error().code == ErrorCode::kNotFound) return refused();
    return std::unexpected(record.error());
  }
  if (!constant_time_equal(record->secret, key->secret) || record->status != "Active" ||
      record->service_name != kBedrockServiceName) {
    return refused();
  }
  if (record->expires_at != 0 && clock_->unix_seconds() >= record->expires_at) {
    return fail(ErrorCode::kExpiredToken, "The API key has expired.");
  }
  auto user = iam_.get_user(record->user_name);
  if (!user) return refused();
  return user_principal(*user, record->credential_id,
                        record->expires_at);  // the id, not the secret
}

Result<Principal> StoreCredentialResolver::verify_bearer(std::string_view token) const {
  if (token.starts_with(kLongTermApiKeyPrefix)) return verify_long_term_api_key(token);
  auto principal = codec_->decode_bearer(token, clock_->now());
  if (!principal) return principal;
  if (auto s = load_policies(*principal); !s) {
    return fail(ErrorCode::kUnauthenticated, "The bearer token's identity no longer exists.");
  }
  return principal;
}

}  // namespace plinth::auth
