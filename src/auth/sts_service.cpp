// STS operations: GetSessionToken, AssumeRole (trust policy honoured) and bearer-token minting.
#include <algorithm>
#include <regex>

#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"
#include "plinth/auth/sts.h"
#include "plinth/core/ids.h"

namespace plinth::auth {
namespace {

constexpr int kMinDuration = 900;

Status check_duration(std::optional<int> requested, int max, const char* what) {
  if (!requested) return ok();
  if (*requested < kMinDuration || *requested > max) {
    return fail(ErrorCode::kInvalidArgument,
                std::string("1 validation error detected: Value '") + std::to_string(*requested) +
                    "' at '" + what + "' failed to satisfy constraint: Member must have value " +
                    "between " + std::to_string(kMinDuration) + " and " + std::to_string(max));
  }
  return ok();
}

// arn:aws:iam::ACCOUNT:role/[path/]NAME -> (ACCOUNT, NAME)
std::optional<std::pair<std::string, std::string>> parse_role_arn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  if (!arn.starts_with(kPrefix)) return std::nullopt;
  arn.remove_prefix(kPrefix.size());
  size_t colon = arn.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view account = arn.substr(0, colon);
  std::string_view resource = arn.substr(colon + 1);
  if (!resource.starts_with("role/")) return std::nullopt;
  std::string_view name = resource.substr(resource.rfind('/') + 1);
  if (account.empty() || name.empty()) return std::nullopt;
  return std::pair{std::string(account), std::string(name)};
}

}  // namespace

bool is_valid_role_session_name(std::string_view name) {
  static const std::regex kPattern(R"([\w+=,.@-]{2,64})");
  return std::regex_match(name.begin(), name.end(), kPattern);
}

Result<TemporaryCredentials> StsService::get_session_token(
    const Principal& caller, std::optional<int> duration_seconds) const {
  if (caller.kind != Principal::Kind::kRoot && caller.kind != Principal::Kind::kUser) {
    return fail(ErrorCode::kPermissionDenied,
                "Cannot call GetSessionToken with session credentials");
  }
  // AWS caps root's sessions at one hour.
  int max = caller.kind == Principal::Kind::kRoot ? 3600 : 129600;
  if (auto s = check_duration(duration_seconds, max, "durationSeconds"); !s) {
    return std::unexpected(s.error());
  }
  int duration = duration_seconds.value_or(caller.kind == Principal::Kind::kRoot ? 3600 : 43200);
  Principal session = caller;
  session.kind = Principal::Kind::kFederatedSession;
  session.base_kind = caller.kind;
  session.identity_policies.clear();
  session.session_policy.reset();
  session.access_key_id = new_base32_id(*random_, "ASIA", 16);
  session.expires_at = clock_->now() + std::chrono::seconds(duration);
  std::string secret = new_secret_key(*random_);
  return TemporaryCredentials{session.access_key_id, secret,
                              codec_->encode_session(session, secret), session.expires_at};
}

Result<AssumeRoleResult> StsService::assume_role(const Principal& caller,
                                                 const AssumeRoleRequest& request,
                                                 const RequestContext& ctx) const {
  if (!is_valid_role_session_name(request.role_session_name)) {
    return fail(ErrorCode::kInvalidArgument,
                "1 validation error detected: Value '" + request.role_session_name +
                    "' at 'roleSessionName' failed to satisfy constraint: Member must satisfy "
                    "regular expression pattern: [\\w+=,.@-]*");
  }
  auto denied = [&] {
    return fail(ErrorCode::kPermissionDenied, "User: " + caller.arn +
                                                  " is not authorized to perform: sts:AssumeRole "
                                                  "on resource: " +
                                                  request.role_arn);
  };
  auto parsed = parse_role_arn(request.role_arn);
  if (!parsed) {
    return fail(ErrorCode::kInvalidArgument, "Invalid RoleArn: " + request.role_arn);
  }
  if (parsed->first != account_id_) return denied();
  auto role = iam_.get_role(parsed->second);
  if (!role) {
    // AWS does not reveal whether the role exists.
    if (role.error().code == ErrorCode::kNotFound) return denied();
    return std::unexpected(role.error());
  }
  if (role->arn != request.role_arn) return denied();
  // Role chaining is limited to one hour, as on AWS.
  int max = caller.kind == Principal::Kind::kAssumedRole
                ? 3600
                : std::min(role->max_session_duration, 43200);
  if (auto s =
          check_duration(request.duration_seconds, std::max(max, kMinDuration), "durationSeconds");
      !s) {
    return std::unexpected(s.error());
  }
  if (request.policy) {
    if (auto s = validate_policy_document(*request.policy); !s) {
      return fail(ErrorCode::kInvalidArgument,
                  std::string(kMalformedPolicyPrefix) + ": " + s.error().message);
    }
  }
  if (!trust_policy_allows(role->assume_role_policy, caller, ctx)) return denied();

  return issue_role_session(*role, request.role_session_name,
                            request.duration_seconds.value_or(3600), request.policy);
}

Result<AssumeRoleResult> StsService::issue_role_session(const store::RoleRecord& role,
                                                        const std::string& session_name,
                                                        int duration_seconds,
                                                        std::optional<std::string> policy) const {
  Principal session;
  session.kind = Principal::Kind::kAssumedRole;
  session.base_kind = Principal::Kind::kAssumedRole;
  session.account_id = account_id_;
  session.name = role.name;
  session.session_name = session_name;
  session.role_arn = role.arn;
  session.arn = "arn:aws:sts::" + account_id_ + ":assumed-role/" + role.name + "/" + session_name;
  session.user_id = role.role_id + ":" + session_name;
  session.session_policy = std::move(policy);
  session.access_key_id = new_base32_id(*random_, "ASIA", 16);
  session.expires_at = clock_->now() + std::chrono::seconds(duration_seconds);
  std::string secret = new_secret_key(*random_);
  AssumeRoleResult result;
  result.credentials = TemporaryCredentials{
      session.access_key_id, secret, codec_->encode_session(session, secret), session.expires_at};
  result.assumed_role_id = session.user_id;
  result.assumed_role_arn = session.arn;
  return result;
}

Result<AssumeRoleResult> StsService::task_role_credentials(const std::string& role_name) const {
  auto role = iam_.get_role(role_name);
  if (!role) return std::unexpected(role.error());
  return issue_role_session(*role, std::string(kTaskRoleSessionName), 3600, std::nullopt);
}

Result<BearerToken> StsService::mint_bearer_token(const Principal& caller,
                                                  std::optional<int> duration_seconds) const {
  int max = static_cast<int>(std::chrono::seconds(kMaxBearerLifetime).count());
  if (auto s = check_duration(duration_seconds, max, "durationSeconds"); !s) {
    return std::unexpected(s.error());
  }
  auto now = clock_->now();
  auto expires = now + std::chrono::seconds(duration_seconds.value_or(3600));
  // A token never outlives the session that minted it.
  if (caller.expires_at != std::chrono::system_clock::time_point{} && caller.expires_at < expires) {
    expires = caller.expires_at;
  }
  if (expires <= now) return fail(ErrorCode::kExpiredToken, "The caller's session has expired");
  Principal holder = caller;
  holder.identity_policies.clear();  // re-read from the store when the token is used
  holder.expires_at = expires;
  return BearerToken{codec_->encode_bearer(holder), expires};
}

}  // namespace plinth::auth
