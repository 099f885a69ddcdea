// The outbound STS calls of the credential chain (AssumeRole, AssumeRoleWithWebIdentity) and the
// parsers of the credential documents that STS, ECS and IMDS answer with.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/aws/credentials.h"
#include "plinth/core/result.h"

namespace plinth::aws {

// Bounds on what a credential endpoint may answer.
inline constexpr size_t kMaxCredentialResponseBytes = 64 << 10;
inline constexpr size_t kMaxWebIdentityTokenBytes = 64 << 10;

struct StsEndpoint {
  std::string url;  // "https://sts.us-east-1.amazonaws.com" or an override (http://127.0.0.1:…)
  std::string region;
  std::chrono::milliseconds timeout{10000};
};

// AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL, else the region's public endpoint.
StsEndpoint sts_endpoint(const EnvironmentLookup& environment, std::string region);

struct AssumeRoleParams {
  std::string role_arn;
  std::string role_session_name;
  std::string external_id;   // optional
  int duration_seconds = 0;  // 0 = STS default
};

// AssumeRole, SigV4-signed (service sts) with `source`.
Result<AwsCredentials> assume_role(const StsEndpoint& endpoint, const AwsCredentials& source,
                                   const AssumeRoleParams& params, const Clock& clock);
// AssumeRoleWithWebIdentity (unsigned).
Result<AwsCredentials> assume_role_with_web_identity(const StsEndpoint& endpoint,
                                                     const AssumeRoleParams& params,
                                                     std::string_view web_identity_token);

// GetCallerIdentity signed with `credentials`: the caller's ARN (diagnostics and tests).
Result<std::string> get_caller_identity_arn(const StsEndpoint& endpoint,
                                            const AwsCredentials& credentials, const Clock& clock);

// An STS XML answer (<…Result><Credentials>…) into credentials, or its <ErrorResponse> into an
// error carrying the STS code and message (AccessDenied -> kPermissionDenied, ExpiredToken…).
Result<AwsCredentials> parse_sts_credentials_xml(std::string_view xml, int http_status);
// An ECS container / IMDS credentials JSON document ({AccessKeyId, SecretAccessKey, Token,
// Expiration[, Code]}).
Result<AwsCredentials> parse_credentials_json(std::string_view json);
// "2026-12-05T06:18:35Z", with optional fractional seconds and a Z or +00:00 / -hh:mm offset.
std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

}  // namespace plinth::aws
