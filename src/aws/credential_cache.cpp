// CachedCredentials (refresh before expiry, one refresh at a time) and the process environment.
#include <cstdlib>
#include <mutex>

#include "plinth/aws/credentials.h"
#include "plinth/core/log.h"

namespace plinth::aws {
namespace {

// After a failed refresh, credentials that are still valid are handed out for this long before
// the next attempt, so a struggling endpoint is not called on every request.
constexpr std::chrono::seconds kRetryAfterFailedRefresh{10};

}  // namespace

EnvironmentLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

struct CachedCredentials::State {
  std::unique_ptr<CredentialProvider> inner;
  std::shared_ptr<Clock> clock;
  std::mutex refresh_mutex;  // held by the one thread that calls inner->fetch()
  std::mutex mutex;          // guards cached and next_attempt
  std::optional<AwsCredentials> cached;
  std::chrono::system_clock::time_point next_attempt{};

  // Copies the cached credentials when they need no refresh at `now` (or, with `valid_is_enough`,
  // when they have merely not expired).
  std::optional<AwsCredentials> usable(std::chrono::system_clock::time_point now,
                                       bool valid_is_enough) {
    std::lock_guard lock(mutex);
    if (!cached) return std::nullopt;
    if (!cached->expiration) return cached;
    if (now >= *cached->expiration) return std::nullopt;
    if (valid_is_enough || now < *cached->expiration - kRefreshBeforeExpiry) return cached;
    if (now < next_attempt) return cached;  // a refresh failed moments ago
    return std::nullopt;
  }
};

CachedCredentials::CachedCredentials(std::unique_ptr<CredentialProvider> inner,
                                     std::shared_ptr<Clock> clock)
    : state_(std::make_unique<State>()) {
  state_->inner = std::move(inner);
  state_->clock = std::move(clock);
}

CachedCredentials::~CachedCredentials() = default;

Result<AwsCredentials> CachedCredentials::fetch() {
  State& s = *state_;
  if (auto fresh = s.usable(s.clock->now(), false)) return *fresh;
  std::unique_lock refresh(s.refresh_mutex, std::try_to_lock);
  if (!refresh.owns_lock()) {
    // Another thread is refreshing: still-valid credentials do for now; expired ones wait.
    if (auto valid = s.usable(s.clock->now(), true)) return *valid;
    refresh.lock();
  }
  if (auto fresh = s.usable(s.clock->now(), false)) return *fresh;  // refreshed meanwhile
  auto fetched = s.inner->fetch();
  auto now = s.clock->now();
  std::lock_guard lock(s.mutex);
  if (!fetched) {
    s.next_attempt = now + kRetryAfterFailedRefresh;
    if (s.cached && s.cached->expiration && now < *s.cached->expiration) {
      log::warn("aws credentials: refresh failed, using the current ones until they expire: {}",
                fetched.error().message);
      return *s.cached;
    }
    return std::unexpected(fetched.error());
  }
  if (!s.cached || s.cached->access_key_id != fetched->access_key_id) {
    log::info("aws credentials: access key {} from {}", fetched->access_key_id, fetched->source);
  }
  s.cached = *fetched;
  return *fetched;
}

}  // namespace plinth::aws
