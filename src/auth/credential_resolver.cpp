// The production CredentialResolver: root key, IAM users' keys, session and bearer tokens.
#include "plinth/auth/sts.h"

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

Status StoreCredentialResolver::load_policies(Principal& p) const {
  bool user = p.kind == Principal::Kind::kUser || (p.kind == Principal::Kind::kFederatedSession &&
                                                   p.base_kind == Principal::Kind::kUser);
  if (user) {
    if (auto u = iam_.get_user(p.name); !u) return std::unexpected(invalid_token());
    auto policies = iam_.list_user_policies(p.name);
    if (!policies) return std::unexpected(policies.error());
    p.identity_policies = documents(*policies);
  } else if (p.kind == Principal::Kind::kAssumedRole) {
    auto role = iam_.get_role(p.name);
    if (!role || role->arn != p.role_arn) return std::unexpected(invalid_token());
    auto policies = iam_.list_role_policies(p.name);
    if (!policies) return std::unexpected(policies.error());
    p.identity_policies = documents(*policies);
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
  Principal p;
  p.kind = Principal::Kind::kUser;
  p.base_kind = Principal::Kind::kUser;
  p.account_id = account_id_;
  p.arn = user->arn;
  p.user_id = user->user_id;
  p.name = user->name;
  p.access_key_id = key->access_key_id;
  if (auto s = load_policies(p); !s) return std::unexpected(s.error());
  return ResolvedCredential{key->secret_access_key, std::move(p)};
}

Result<Principal> StoreCredentialResolver::verify_bearer(std::string_view token) const {
  auto principal = codec_->decode_bearer(token, clock_->now());
  if (!principal) return principal;
  if (auto s = load_policies(*principal); !s) {
    return fail(ErrorCode::kUnauthenticated, "The bearer token's identity no longer exists.");
  }
  return principal;
}

}  // namespace plinth::auth
