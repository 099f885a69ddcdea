// AssumeRoleWithWebIdentity: provider lookup, JWKS loading and caching, token and trust checks.
#include "plinth/auth/web_identity.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"

namespace plinth::auth {
namespace {

Error invalid_token(std::string message) {
  return Error(ErrorCode::kUnauthenticated, std::move(message));
}

Result<std::string> read_bounded_file(const std::filesystem::path& file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(file, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot read the JWKS file " + file.string());
  if (size > kMaxJwksBytes) return fail(ErrorCode::kIo, "the JWKS file is larger than 64 KiB");
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  if (!in.good() && !in.eof()) return fail(ErrorCode::kIo, "cannot read " + file.string());
  return buffer.str();
}

}  // namespace

std::optional<std::string> issuer_host_path(std::string_view issuer) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (!issuer.starts_with(scheme)) continue;
    issuer.remove_prefix(scheme.size());
    while (issuer.ends_with('/')) issuer.remove_suffix(1);
    if (issuer.empty()) return std::nullopt;
    return std::string(issuer);
  }
  return std::nullopt;
}

Result<WebIdentityService::Provider> WebIdentityService::find_provider(
    const std::string& issuer) const {
  auto host_path = issuer_host_path(issuer);
  if (!host_path) return std::unexpected(invalid_token("The token's issuer is not a URL."));
  for (const OidcProviderConfig& c : configured_) {
    if (issuer_host_path(c.issuer) == host_path) {
      return Provider{issuer, *host_path, c.audiences, c.jwks_url, c.jwks_file, false};
    }
  }
  auto stored =
      iam_.get_oidc_provider("arn:aws:iam::" + account_id_ + ":oidc-provider/" + *host_path);
  if (!stored) {
    if (stored.error().code != ErrorCode::kNotFound) return std::unexpected(stored.error());
    return std::unexpected(invalid_token("No OpenIDConnect provider found in your account for " +
                                         issuer.substr(0, 256)));
  }
  return Provider{issuer, *host_path, stored->client_ids, "", {}, true};
}

Result<std::shared_ptr<const JsonWebKeySet>> WebIdentityService::load_keys(
    const Provider& provider) const {
  Result<std::string> document = fail(ErrorCode::kIo, "no JWKS source");
  if (!provider.jwks_file.empty()) {
    document = read_bounded_file(provider.jwks_file);
  } else if (fetcher_ == nullptr) {
    return fail(ErrorCode::kIo, "fetching JWKS is not enabled");
  } else {
    std::string url = provider.jwks_url;
    if (provider.discover) {
      std::string base = provider.issuer;
      while (base.ends_with('/')) base.pop_back();
      auto configuration = fetcher_->fetch(base + "/.well-known/openid-configuration");
      if (!configuration) return std::unexpected(configuration.error());
      boost::system::error_code ec;
      boost::json::value v = boost::json::parse(*configuration, ec);
      const boost::json::value* uri =
          !ec && v.is_object() ? v.as_object().if_contains("jwks_uri") : nullptr;
      if (uri == nullptr || !uri->is_string()) {
        return fail(ErrorCode::kIo, "the OpenID configuration has no jwks_uri");
      }
      url = std::string(uri->as_string());
    }
    document = fetcher_->fetch(url);
  }
  if (!document) return std::unexpected(document.error());
  auto keys = JsonWebKeySet::parse(*document);
  if (!keys) return fail(ErrorCode::kIo, keys.error().message);
  return std::make_shared<const JsonWebKeySet>(std::move(*keys));
}

Result<std::shared_ptr<const JsonWebKeySet>> WebIdentityService::keys_for(
    const Provider& provider, const std::string& kid) const {
  const auto now = std::chrono::steady_clock::now();
  std::shared_ptr<const JsonWebKeySet> cached;
  {
    std::lock_guard lock(cache_mutex_);
    auto it = cache_.find(provider.host_path);
    if (it != cache_.end()) {
      bool fresh = now - it->second.fetched < kJwksCacheTtl;
      bool kid_known = kid.empty() || it->second.keys->has_kid(kid);
      // A kid the cached set lacks may be a rotated key: refetch, but not more than once a gap.
      if (fresh && (kid_known || now - it->second.fetched < kRefetchGap)) return it->second.keys;
      cached = it->second.keys;
    }
  }
  auto loaded = load_keys(provider);
  if (!loaded) {
    if (cached) return cached;  // keep working through an issuer's brief outage
    return std::unexpected(loaded.error());
  }
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= 256) cache_.clear();  // bounded; refilled on demand
  cache_[provider.host_path] = CachedKeys{*loaded, now};
  return *loaded;
}

Result<AssumeRoleWithWebIdentityResult> WebIdentityService::assume_role_with_web_identity(
    const AssumeRoleWithWebIdentityRequest& request) const {
  if (!is_valid_role_session_name(request.role_session_name)) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value at 'roleSessionName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  }
  if (request.web_identity_token.size() < 4 || request.web_identity_token.size() > kMaxJwtBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value at 'webIdentityToken' failed to satisfy "
                "constraint: Member must have length between 4 and 16384");
  }
  auto unverified = parse_jwt(request.web_identity_token);
  if (!unverified) return std::unexpected(invalid_token(unverified.error().message));
  auto provider = find_provider(unverified->claims.iss);
  if (!provider) return std::unexpected(provider.error());
  auto keys = keys_for(*provider, unverified->kid);
  if (!keys) {
    return fail(ErrorCode::kIo, "Couldn't retrieve verification key from your identity provider: " +
                                    keys.error().message);
  }
  auto claims = verify_jwt(request.web_identity_token, **keys);
  if (!claims) return std::unexpected(invalid_token(claims.error().message));

  const int64_t now = clock_->unix_seconds();
  const int64_t skew = kWebIdentityClockSkew.count();
  if (!claims->exp) return std::unexpected(invalid_token("The token has no exp."));
  if (now >= *claims->exp + skew) {
    return fail(ErrorCode::kExpiredToken, "Token expired: current date/time " +
                                              std::to_string(now) +
                                              " must be before the "
                                              "expiration date/time " +
                                              std::to_string(*claims->exp));
  }
  if ((claims->nbf && now + skew < *claims->nbf) || (claims->iat && now + skew < *claims->iat)) {
    return std::unexpected(invalid_token("The token is not valid yet (nbf or iat)."));
  }
  std::optional<std::string> audience;
  for (const std::string& aud : claims->aud) {
    for (const std::string& accepted : provider->audiences) {
      if (aud == accepted && !audience) audience = aud;
    }
  }
  if (!audience) return std::unexpected(invalid_token("Incorrect token audience"));

  std::string provider_arn =
      "arn:aws:iam::" + account_id_ + ":oidc-provider/" + provider->host_path;
  auto denied = [&] {
    return fail(ErrorCode::kPermissionDenied,
                "Not authorized to perform sts:AssumeRoleWithWebIdentity");
  };
  constexpr std::string_view kRolePrefix = "arn:aws:iam::";
  std::string expected_prefix = std::string(kRolePrefix) + account_id_ + ":role/";
  if (!request.role_arn.starts_with(expected_prefix)) return denied();
  std::string role_name = request.role_arn.substr(request.role_arn.rfind('/') + 1);
  auto role = iam_.get_role(role_name);
  if (!role || role->arn != request.role_arn) return denied();
  int max = std::min(role->max_session_duration, 43200);
  if (request.duration_seconds &&
      (*request.duration_seconds < 900 || *request.duration_seconds > max)) {
    return fail(ErrorCode::kInvalidArgument,
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  if (request.policy) {
    if (auto s = validate_policy_document(*request.policy); !s) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(kMalformedPolicyPrefix) + ": " + s.error().message);
    }
  }
  RequestContext ctx;
  ctx.now = clock_->now();
  ctx.keys = {{provider->host_path + ":sub", claims->sub},
              {provider->host_path + ":aud", *audience},
              {provider->host_path + ":iss", claims->iss}};
  if (!web_identity_trust_allows(role->assume_role_policy, provider_arn, ctx)) return denied();

  auto issued = sts_.issue_role_session(*role, request.role_session_name,
                                        request.duration_seconds.value_or(3600), request.policy);
  if (!issued) return std::unexpected(issued.error());
  return AssumeRoleWithWebIdentityResult{std::move(*issued), claims->sub, *audience,
                                         provider->host_path};
}

}  // namespace plinth::auth
