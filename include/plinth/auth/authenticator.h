// Verifies SigV4 (header and presigned query) and bearer tokens and resolves the principal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/auth/principal.h"
#include "plinth/auth/sigv4.h"
#include "plinth/core/clock.h"
#include "plinth/core/result.h"

namespace plinth::auth {

// Error codes returned by authenticate() and what the api layer should send:
//   kUnauthenticated   no Authorization header and no X-Amz-Signature: MissingAuthenticationToken
//   kInvalidArgument   malformed Authorization / credential scope / X-Amz-* query / x-amz-date,
//                      host or :authority unsigned: IncompleteSignature (STS/IAM: same code)
//   kUnknownAccessKey  access key id not known or inactive, or a session token that does not
//                      decrypt: UnrecognizedClientException (STS/IAM: InvalidClientTokenId)
//   kInvalidSignature  signature or payload hash mismatch, scope date or service wrong, and a
//                      request time more than 15 minutes from the server clock (message starts
//                      "Signature expired", as on AWS): InvalidSignatureException
//                      (STS/IAM: SignatureDoesNotMatch)
//   kExpiredToken      session token or presigned URL past its expiry: ExpiredTokenException

// What a credential lookup returns: the secret to check the signature with and who it is.
struct ResolvedCredential {
  std::string secret_access_key;
  Principal principal;
};

// Resolves an access key id (plus the x-amz-security-token, when present) to its secret and
// principal. The default implementation (make_store_credential_resolver in sts.h) knows root,
// IAM users' keys and Plinth session tokens; tests inject their own.
class CredentialResolver {
 public:
  virtual ~CredentialResolver() = default;
  virtual Result<ResolvedCredential> resolve(
      std::string_view access_key_id, const std::optional<std::string>& session_token) const = 0;
};

// Verifies bearer tokens that need the store: Plinth's own ("plinth-bt-…") and long-term Bedrock
// API keys ("ABSK…"); implemented by StoreCredentialResolver (sts.h).
class BearerTokenVerifier {
 public:
  virtual ~BearerTokenVerifier() = default;
  virtual Result<Principal> verify_bearer(std::string_view token) const = 0;
};

inline constexpr std::chrono::minutes kMaxClockSkew{15};

class Authenticator {
 public:
  // canonical: how paths are canonicalised; the default (normalised, encoded twice) is right for
  // every service Plinth serves.
  Authenticator(std::shared_ptr<const CredentialResolver> resolver,
                std::shared_ptr<const Clock> clock,
                std::shared_ptr<const BearerTokenVerifier> bearer = nullptr,
                CanonicalOptions canonical = {})
      : resolver_(std::move(resolver)),
        clock_(std::move(clock)),
        bearer_(std::move(bearer)),
        canonical_(canonical) {}

  // Verifies the signature (15-minute skew, constant-time compare, x-amz-content-sha256 incl.
  // UNSIGNED-PAYLOAD, x-amz-security-token) and resolves the principal. expected_service: the
  // credential scope's service ("bedrock", "sts", "iam"); empty accepts any.
  Result<Principal> authenticate(const SignableRequest& req,
                                 std::string_view expected_service) const;
  // The token without "Bearer ": a short-term Bedrock API key ("bedrock-api-key-…", verified as
  // the presigned request it is, for expected_region when not empty), else the bearer verifier's
  // kinds. kUnauthenticated when malformed, unknown or no verifier is configured; kExpiredToken.
  Result<Principal> authenticate_bearer(std::string_view token,
                                        std::string_view expected_region = {}) const;

 private:
  Result<Principal> authenticate_short_term_api_key(std::string_view token,
                                                    std::string_view expected_region) const;

  std::shared_ptr<const CredentialResolver> resolver_;
  std::shared_ptr<const Clock> clock_;
  std::shared_ptr<const BearerTokenVerifier> bearer_;
  CanonicalOptions canonical_;
};

}  // namespace plinth::auth
