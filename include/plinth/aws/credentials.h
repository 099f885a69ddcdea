// Outbound AWS credentials: the value, where they came from, and the providers of the SDKs'
// default chain (environment, shared files and profiles with role assumption, web identity, ECS
// container credentials, EC2 IMDSv2), cached and refreshed before they expire.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/core/clock.h"
#include "plinth/core/result.h"

namespace plinth::aws {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;                                        // empty: long-term credentials
  std::optional<std::chrono::system_clock::time_point> expiration;  // none: never expire
  std::string source;  // which link gave them ("environment", "profile dev", "imds", ...)
};

// Reads an environment variable (injectable so tests need not mutate the process environment).
using EnvironmentLookup = std::function<std::optional<std::string>(std::string_view name)>;
EnvironmentLookup process_environment();

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // kNotFound: this link is not configured (the chain moves on); any other error is a real
  // failure of a configured link (the chain stops and reports it, as the SDKs do).
  virtual Result<AwsCredentials> fetch() = 0;
};

struct ChainOptions {
  // The profile named in plinth.toml; when set only that profile is used (no environment, no
  // container, no IMDS), as the SDKs do for an explicit profile.
  std::string profile;
  // Region for STS when neither the profile nor the environment names one.
  std::string region = "us-east-1";
  EnvironmentLookup environment = process_environment();
  std::shared_ptr<Clock> clock = Clock::real();
  // Timeouts for credential endpoints (STS, container, IMDS: the SDKs use 1 s for IMDS).
  std::chrono::milliseconds sts_timeout{10000};
  std::chrono::milliseconds metadata_timeout{1000};
};

// Credentials are refreshed this long before they expire.
inline constexpr std::chrono::seconds kRefreshBeforeExpiry{300};

// Wraps a provider: hands out the cached credentials until kRefreshBeforeExpiry before their
// expiration, then refreshes. Thread-safe; one refresh at a time. While another thread refreshes,
// callers with still-valid credentials get those at once; callers with expired ones wait for it.
// A failed refresh keeps handing out credentials that have not yet expired.
class CachedCredentials final : public CredentialProvider {
 public:
  CachedCredentials(std::unique_ptr<CredentialProvider> inner, std::shared_ptr<Clock> clock);
  ~CachedCredentials() override;
  Result<AwsCredentials> fetch() override;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The default chain (or the explicit profile), cached. Never logs a secret or a token.
std::shared_ptr<CredentialProvider> default_credential_chain(ChainOptions options);

// The links, for tests and for callers that want one of them alone (all uncached).
std::unique_ptr<CredentialProvider> environment_credentials(ChainOptions options);
std::unique_ptr<CredentialProvider> profile_credentials(ChainOptions options);
std::unique_ptr<CredentialProvider> web_identity_credentials(ChainOptions options);
std::unique_ptr<CredentialProvider> container_credentials(ChainOptions options);
std::unique_ptr<CredentialProvider> instance_metadata_credentials(ChainOptions options);

}  // namespace plinth::aws
