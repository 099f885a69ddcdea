// Self-verifying session and bearer tokens: AES-256-GCM sealed claims under the session key.
#include <boost/json.hpp>

#include "plinth/auth/sts.h"
#include "plinth/core/encoding.h"
#include "plinth/store/sealed_box.h"

namespace plinth::auth {
namespace json = boost::json;
namespace {

// Distinct associated data keeps a session token from being replayed as a bearer token.
constexpr std::string_view kSessionContext = "plinth-session-token-v1";
constexpr std::string_view kBearerContext = "plinth-bearer-token-v1";
// Expiry times must fit system_clock's 64-bit nanoseconds (about the year 2200 at most).
constexpr int64_t kMaxExpirySeconds = 7'000'000'000;

int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

json::object claims_of(const Principal& p) {
  json::object o;
  o["k"] = static_cast<int>(p.kind);
  o["bk"] = static_cast<int>(p.base_kind);
  o["arn"] = p.arn;
  o["acct"] = p.account_id;
  o["uid"] = p.user_id;
  o["akid"] = p.access_key_id;
  o["name"] = p.name;
  o["sess"] = p.session_name;
  o["role"] = p.role_arn;
  if (p.session_policy) o["sp"] = *p.session_policy;
  o["exp"] = unix_seconds(p.expires_at);
  return o;
}

std::optional<Principal> principal_of(const json::object& o) {
  auto text = [&](const char* key) -> std::optional<std::string> {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
  };
  auto number = [&](const char* key) -> std::optional<int64_t> {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || !v->is_int64()) return std::nullopt;
    return v->as_int64();
  };
  auto kind = number("k"), base_kind = number("bk"), exp = number("exp");
  auto arn = text("arn"), acct = text("acct"), uid = text("uid"), akid = text("akid");
  auto name = text("name"), sess = text("sess"), role = text("role");
  if (!kind || !base_kind || !exp || !arn || !acct || !uid || !akid || !name || !sess || !role ||
      *kind < 0 || *kind > 3 || *base_kind < 0 || *base_kind > 3 || *exp < 0 ||
      *exp > kMaxExpirySeconds) {
    return std::nullopt;
  }
  Principal p;
  p.kind = static_cast<Principal::Kind>(*kind);
  p.base_kind = static_cast<Principal::Kind>(*base_kind);
  p.arn = *arn;
  p.account_id = *acct;
  p.user_id = *uid;
  p.access_key_id = *akid;
  p.name = *name;
  p.session_name = *sess;
  p.role_arn = *role;
  p.session_policy = text("sp");
  p.expires_at = std::chrono::system_clock::time_point(std::chrono::seconds(*exp));
  return p;
}

std::optional<json::object> open_claims(std::string_view key, std::string_view encoded,
                                        std::string_view context) {
  auto sealed = base64url_decode(encoded);
  // Only the canonical encoding is accepted, so a token has exactly one spelling.
  if (!sealed || base64url_encode(*sealed) != encoded) return std::nullopt;
  auto plain = store::unseal(key, *sealed, context);
  if (!plain) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*plain, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return v.as_object();
}

}  // namespace

std::string SessionTokenCodec::encode_session(const Principal& principal,
                                              std::string_view secret) const {
  json::object claims = claims_of(principal);
  claims["sec"] = secret;
  auto sealed = store::seal(key_, json::serialize(claims), *random_, kSessionContext);
  return sealed ? base64url_encode(*sealed) : std::string();
}

Result<ResolvedCredential> SessionTokenCodec::decode_session(
    std::string_view token, std::string_view access_key_id,
    std::chrono::system_clock::time_point now) const {
  auto claims = open_claims(key_, token, kSessionContext);
  std::optional<Principal> principal = claims ? principal_of(*claims) : std::nullopt;
  const json::value* secret = claims ? claims->if_contains("sec") : nullptr;
  if (!principal || secret == nullptr || !secret->is_string() ||
      principal->access_key_id != access_key_id) {
    return fail(ErrorCode::kUnknownAccessKey,
                "The security token included in the request is invalid.");
  }
  if (now >= principal->expires_at) {
    return fail(ErrorCode::kExpiredToken, "The security token included in the request is expired");
  }
  return ResolvedCredential{std::string(secret->as_string()), std::move(*principal)};
}

std::string SessionTokenCodec::encode_bearer(const Principal& principal) const {
  auto sealed = store::seal(key_, json::serialize(claims_of(principal)), *random_, kBearerContext);
  return sealed ? std::string(kBearerTokenPrefix) + base64url_encode(*sealed) : std::string();
}

Result<Principal> SessionTokenCodec::decode_bearer(
    std::string_view token, std::chrono::system_clock::time_point now) const {
  if (!token.starts_with(kBearerTokenPrefix)) {
    return fail(ErrorCode::kUnauthenticated, "The bearer token is not a Plinth token.");
  }
  auto claims = open_claims(key_, token.substr(kBearerTokenPrefix.size()), kBearerContext);
  std::optional<Principal> principal = claims ? principal_of(*claims) : std::nullopt;
  if (!principal) return fail(ErrorCode::kUnauthenticated, "The bearer token is invalid.");
  if (now >= principal->expires_at) {
    return fail(ErrorCode::kExpiredToken, "The bearer token is expired.");
  }
  return *principal;
}

}  // namespace plinth::auth
