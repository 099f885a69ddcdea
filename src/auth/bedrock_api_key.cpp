// Decoding of Bedrock API keys (both kinds) and the short-term key's verification.
#include "plinth/auth/bedrock_api_key.h"

#include "plinth/auth/authenticator.h"
#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace {

constexpr std::string_view kVersionSuffix = "&Version=1";

Error invalid_key(std::string_view why) {
  return Error(ErrorCode::kUnauthenticated, "Invalid API Key format: " + std::string(why));
}

}  // namespace

Result<ShortTermApiKey> decode_short_term_api_key(std::string_view token) {
  if (token.size() > kMaxBearerTokenBytes) return std::unexpected(invalid_key("too long"));
  if (!token.starts_with(kShortTermApiKeyPrefix)) {
    return std::unexpected(invalid_key("Must start with pre-defined prefix"));
  }
  auto url = base64_decode(token.substr(kShortTermApiKeyPrefix.size()));
  if (!url) return std::unexpected(invalid_key("not base64"));
  std::string_view rest(*url);
  size_t slash = rest.find("/?");
  if (slash == std::string_view::npos || rest.substr(0, slash) != kApiKeyHost) {
    return std::unexpected(invalid_key("not a presigned bedrock.amazonaws.com request"));
  }
  rest.remove_prefix(slash + 2);
  if (!rest.ends_with(kVersionSuffix)) return std::unexpected(invalid_key("unknown version"));
  rest.remove_suffix(kVersionSuffix.size());
  auto pairs = parse_form_urlencoded(rest);
  if (!pairs) return std::unexpected(invalid_key("malformed query"));
  bool action = false;
  for (const auto& [name, value] : *pairs) {
    if (name == "Action") action = value == kApiKeyAction;
  }
  if (!action) return std::unexpected(invalid_key("Action must be CallWithBearerToken"));
  return ShortTermApiKey{std::string(rest), {{"host", std::string(kApiKeyHost)}}};
}

std::string encode_long_term_api_key(std::string_view alias, std::string_view secret) {
  std::string plain(alias);
  plain += ':';
  plain += secret;
  return std::string(kLongTermApiKeyPrefix) + base64_encode(plain);
}

std::optional<LongTermApiKey> decode_long_term_api_key(std::string_view token) {
  if (token.size() > kMaxBearerTokenBytes || !token.starts_with(kLongTermApiKeyPrefix)) {
    return std::nullopt;
  }
  auto plain = base64_decode(token.substr(kLongTermApiKeyPrefix.size()));
  if (!plain) return std::nullopt;
  size_t colon = plain->find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == plain->size()) return std::nullopt;
  return LongTermApiKey{plain->substr(0, colon), plain->substr(colon + 1)};
}

Result<Principal> Authenticator::authenticate_short_term_api_key(
    std::string_view token, std::string_view expected_region) const {
  auto key = decode_short_term_api_key(token);
  if (!key) return std::unexpected(key.error());
  auto parts = parse_presigned_query(key->raw_query);
  if (!parts) return std::unexpected(invalid_key(parts.error().message));
  if (parts->expires_seconds > std::chrono::seconds(kMaxShortTermApiKeyLifetime).count()) {
    return std::unexpected(invalid_key("X-Amz-Expires is longer than 12 hours"));
  }
  if (!expected_region.empty() && parts->region != expected_region) {
    return fail(ErrorCode::kUnauthenticated, "The API key was made for region " + parts->region +
                                                 ", not " + std::string(expected_region) + ".");
  }
  // Verified exactly as a presigned request: signature, expiry, and the signer's own
  // credentials (a session token in the key must still be valid).
  auto principal = authenticate(key->request(), "bedrock");
  if (!principal) return principal;
  auto key_expiry = *parse_amz_date(parts->amz_date) + std::chrono::seconds(parts->expires_seconds);
  if (principal->expires_at == std::chrono::system_clock::time_point{} ||
      key_expiry < principal->expires_at) {
    principal->expires_at = key_expiry;
  }
  return principal;
}

}  // namespace plinth::auth
