// STS AssumeRoleWithWebIdentity: OIDC tokens (RS256/ES256) from configured or IAM-registered
// identity providers, checked against the role's trust policy (Principal.Federated, conditions
// on ISSUER:sub and ISSUER:aud).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "plinth/auth/jwt.h"
#include "plinth/auth/sts.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/result.h"
#include "plinth/store/store.h"

namespace plinth::auth {

// Fetches a document (a JWKS, an OpenID configuration) by URL; the implementation bounds time
// and size (kMaxJwksBytes). Injected so that auth needs no HTTP client and tests need no network.
class DocumentFetcher {
 public:
  virtual ~DocumentFetcher() = default;
  // kIo when the fetch fails, times out or the body is larger than kMaxJwksBytes.
  virtual Result<std::string> fetch(const std::string& url) const = 0;
};

struct AssumeRoleWithWebIdentityRequest {
  std::string role_arn;
  std::string role_session_name;
  std::string web_identity_token;
  std::optional<int> duration_seconds;
  std::optional<std::string> policy;
};

struct AssumeRoleWithWebIdentityResult {
  AssumeRoleResult role;
  std::string subject;   // the token's sub (SubjectFromWebIdentityToken)
  std::string audience;  // the accepted aud
  std::string provider;  // the issuer without its scheme
};

// Tokens may be a little early or late by this much (clocks of issuers and Plinth differ).
inline constexpr std::chrono::seconds kWebIdentityClockSkew{60};

// Errors: kUnauthenticated (InvalidIdentityToken: malformed, alg none/HS*, bad signature, unknown
// issuer, audience not accepted, nbf/iat in the future), kExpiredToken (ExpiredTokenException),
// kPermissionDenied (AccessDenied: unknown role or the trust policy refuses), kIo
// (IDPCommunicationError: the JWKS could not be fetched), kInvalidArgument (ValidationError).
class WebIdentityService {
 public:
  WebIdentityService(store::IamStore& iam, std::string account_id,
                     std::vector<OidcProviderConfig> configured,
                     std::shared_ptr<const DocumentFetcher> fetcher, const StsService& sts,
                     std::shared_ptr<const Clock> clock)
      : iam_(iam),
        account_id_(std::move(account_id)),
        configured_(std::move(configured)),
        fetcher_(std::move(fetcher)),
        sts_(sts),
        clock_(std::move(clock)) {}

  Result<AssumeRoleWithWebIdentityResult> assume_role_with_web_identity(
      const AssumeRoleWithWebIdentityRequest& request) const;

  // How long fetched key sets are reused; an unknown kid refetches at most once a kRefetchGap.
  static constexpr std::chrono::minutes kJwksCacheTtl{10};
  static constexpr std::chrono::seconds kRefetchGap{30};

 private:
  struct Provider {
    std::string issuer;     // as in the token's iss
    std::string host_path;  // issuer without scheme: the condition-key prefix and ARN suffix
    std::vector<std::string> audiences;
    std::string jwks_url;  // empty with jwks_file; "discover" providers resolve it first
    std::filesystem::path jwks_file;
    bool discover = false;  // IAM-registered: jwks_uri from ISSUER/.well-known/openid-configuration
  };
  struct CachedKeys {
    std::shared_ptr<const JsonWebKeySet> keys;
    std::chrono::steady_clock::time_point fetched;
  };

  Result<Provider> find_provider(const std::string& issuer) const;
  Result<std::shared_ptr<const JsonWebKeySet>> keys_for(const Provider& provider,
                                                        const std::string& kid) const;
  Result<std::shared_ptr<const JsonWebKeySet>> load_keys(const Provider& provider) const;

  store::IamStore& iam_;
  std::string account_id_;
  std::vector<OidcProviderConfig> configured_;
  std::shared_ptr<const DocumentFetcher> fetcher_;
  const StsService& sts_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex cache_mutex_;
  // Keyed by issuer. Guarded by cache_mutex_.
  mutable std::unordered_map<std::string, CachedKeys> cache_;
};

// "https://host/path/" -> "host/path"; nullopt unless http(s)://.
std::optional<std::string> issuer_host_path(std::string_view issuer);

}  // namespace plinth::auth
