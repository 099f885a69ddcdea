// Amazon Bedrock API keys: the short-term kind (a presigned SigV4 request, as made by
// @aws/bedrock-token-generator) and the long-term kind (IAM service-specific credentials).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/auth/sigv4.h"
#include "plinth/core/result.h"

namespace plinth::auth {

inline constexpr std::string_view kShortTermApiKeyPrefix = "bedrock-api-key-";
inline constexpr std::string_view kLongTermApiKeyPrefix = "ABSK";
inline constexpr std::string_view kBedrockServiceName = "bedrock.amazonaws.com";
// The host and action the generator signs, and the longest expiry it (and Bedrock) allows.
inline constexpr std::string_view kApiKeyHost = "bedrock.amazonaws.com";
inline constexpr std::string_view kApiKeyAction = "CallWithBearerToken";
inline constexpr std::chrono::hours kMaxShortTermApiKeyLifetime{12};
// Bounds every bearer token before any work proportional to it (a short-term key carries a
// session token, which makes it a few KiB at most).
inline constexpr size_t kMaxBearerTokenBytes = 16384;

// A short-term key decoded into the presigned request it stands for: POST / with the query the
// generator signed (without the trailing "&Version=1") and the host header.
struct ShortTermApiKey {
  std::string raw_query;
  HeaderList headers;
  SignableRequest request() const { return SignableRequest{"POST", "/", raw_query, headers, {}}; }
};

// kUnauthenticated when the token is not "bedrock-api-key-" + base64 of
// "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-…&Version=1".
Result<ShortTermApiKey> decode_short_term_api_key(std::string_view token);

// Long-term keys: "ABSK" + base64("ALIAS:SECRET").
std::string encode_long_term_api_key(std::string_view alias, std::string_view secret);
struct LongTermApiKey {
  std::string alias;
  std::string secret;
};
std::optional<LongTermApiKey> decode_long_term_api_key(std::string_view token);

}  // namespace plinth::auth
