// JSON Web Tokens signed with RS256 or ES256 (compact JWS), checked against a JSON Web Key Set.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::auth {

// Bounds on outside bytes: a token, a key set document, the keys in it.
inline constexpr size_t kMaxJwtBytes = 16384;
inline constexpr size_t kMaxJwksBytes = 65536;
inline constexpr size_t kMaxJwksKeys = 32;

// A parsed JWKS: RSA (2048..8192-bit) and EC P-256 public keys; others are skipped.
class JsonWebKeySet {
 public:
  struct Key;  // an OpenSSL public key with its kid and alg (jwt.cpp)

  // kInvalidArgument when the document is too large, not JSON, has no "keys" array or more than
  // kMaxJwksKeys entries.
  static Result<JsonWebKeySet> parse(std::string_view json);

  size_t size() const { return keys_.size(); }
  bool has_kid(std::string_view kid) const;

 private:
  std::vector<std::shared_ptr<const Key>> keys_;
  friend struct JwtVerification;
};

struct JwtClaims {
  std::string iss;
  std::string sub;
  std::vector<std::string> aud;  // "aud" as a string or an array of strings
  std::optional<int64_t> exp, nbf, iat;
};

// The header's kid (may be empty) and the unverified claims: enough to pick the provider and its
// keys; nothing here is trusted before verify_jwt succeeds. kInvalidArgument when malformed.
struct UnverifiedJwt {
  std::string alg;
  std::string kid;
  JwtClaims claims;
};
Result<UnverifiedJwt> parse_jwt(std::string_view token);

// Checks the signature with the key named by kid (or, without kid, any key of a matching type).
// Only RS256 and ES256 are accepted: "none", HS256 and every other alg are refused.
// kInvalidArgument (malformed, alg refused) or kInvalidSignature (no key verifies it).
// Times (exp, nbf, iat) are the caller's to check.
Result<JwtClaims> verify_jwt(std::string_view token, const JsonWebKeySet& keys);

}  // namespace plinth::auth
