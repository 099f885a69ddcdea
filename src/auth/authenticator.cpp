// Verifies SigV4-signed requests (header and presigned query) and bearer tokens.
#include "plinth/auth/authenticator.h"

#include <algorithm>

#include "plinth/auth/bedrock_api_key.h"
#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace {

std::optional<std::string> header_value(const HeaderList& headers, std::string_view name) {
  for (const auto& [key, value] : headers) {
    if (key.size() != name.size()) continue;
    if (std::equal(key.begin(), key.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == b;
        })) {
      return value;
    }
  }
  return std::nullopt;
}

bool query_has(std::string_view raw_query, std::string_view key) {
  size_t pos = 0;
  while (pos <= raw_query.size()) {
    size_t end = raw_query.find('&', pos);
    if (end == std::string_view::npos) end = raw_query.size();
    std::string_view piece = raw_query.substr(pos, end - pos);
    if (piece.substr(0, piece.find('=')) == key) return true;
    pos = end + 1;
  }
  return false;
}

Error signature_mismatch() {
  return Error(ErrorCode::kInvalidSignature,
               "The request signature we calculated does not match the signature you provided. "
               "Check your AWS Secret Access Key and signing method.");
}

}  // namespace

Result<Principal> Authenticator::authenticate(const SignableRequest& req,
                                              std::string_view expected_service) const {
  std::optional<std::string> authorization = header_value(req.headers, "authorization");
  bool presigned = !authorization && query_has(req.raw_query, "X-Amz-Signature");
  if (!authorization && !presigned) {
    return fail(ErrorCode::kUnauthenticated, "Missing Authentication Token");
  }
  auto parsed =
      presigned ? parse_presigned_query(req.raw_query) : parse_authorization_header(*authorization);
  if (!parsed) return std::unexpected(parsed.error());
  SignatureParts& parts = *parsed;
  if (!presigned) {
    std::optional<std::string> date = header_value(req.headers, "x-amz-date");
    if (!date) {
      return fail(ErrorCode::kInvalidArgument,
                  "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                  "header.");
    }
    parts.amz_date = *date;
    parts.session_token = header_value(req.headers, "x-amz-security-token");
  }
  auto request_time = parse_amz_date(parts.amz_date);
  if (!request_time) {
    return fail(ErrorCode::kInvalidArgument, "X-Amz-Date must be in the ISO8601 basic format");
  }
  if (parts.amz_date.substr(0, 8) != parts.date) {
    return fail(ErrorCode::kInvalidSignature,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '" +
                    parts.date + "' != '" + parts.amz_date.substr(0, 8) + "'");
  }
  if (!expected_service.empty() && parts.service != expected_service) {
    return fail(ErrorCode::kInvalidSignature, "Credential should be scoped to correct service: '" +
                                                  std::string(expected_service) + "'.");
  }
  bool host_signed =
      std::any_of(parts.signed_headers.begin(), parts.signed_headers.end(),
                  [](const std::string& h) { return h == "host" || h == ":authority"; });
  if (!host_signed) {
    return fail(ErrorCode::kInvalidArgument,
                "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");
  }

  auto now = clock_->now();
  if (presigned) {
    if (*request_time - kMaxClockSkew > now) {
      return fail(ErrorCode::kInvalidSignature, "Signature not yet current: " + parts.amz_date +
                                                    " is still later than " +
                                                    format_amz_date(now + kMaxClockSkew));
    }
    if (now > *request_time + std::chrono::seconds(parts.expires_seconds)) {
      return fail(ErrorCode::kExpiredToken, "Request has expired");
    }
  } else if (now - *request_time > kMaxClockSkew || *request_time - now > kMaxClockSkew) {
    // AWS answers a skewed clock with InvalidSignatureException "Signature expired".
    return fail(ErrorCode::kInvalidSignature, "Signature expired: " + parts.amz_date +
                                                  " is now earlier than " +
                                                  format_amz_date(now - kMaxClockSkew) + " (" +
                                                  format_amz_date(now) + " - 15 min.)");
  }

  // The payload hash: the client's x-amz-content-sha256 when it sent one (it must match the
  // body unless it is UNSIGNED-PAYLOAD), else the body's hash.
  std::string body_hash = sha256_hex(req.body);
  std::vector<std::string> payload_hashes;
  if (auto declared = header_value(req.headers, "x-amz-content-sha256")) {
    if (*declared != kUnsignedPayload && *declared != body_hash) {
      return fail(ErrorCode::kInvalidSignature,
                  "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    payload_hashes.push_back(*declared);
  } else {
    payload_hashes.push_back(body_hash);
    // Presigned URLs for S3-style services sign UNSIGNED-PAYLOAD.
    if (presigned) payload_hashes.emplace_back(kUnsignedPayload);
  }

  auto credential = resolver_->resolve(parts.access_key_id, parts.session_token);
  if (!credential) return std::unexpected(credential.error());

  std::string key =
      signing_key(credential->secret_access_key, parts.date, parts.region, parts.service);
  bool matched = false;
  for (const std::string& payload_hash : payload_hashes) {
    if (!canonical_headers(req.headers, parts.signed_headers)) {
      return fail(ErrorCode::kInvalidSignature, "A signed header is missing from the request.");
    }
    std::string canonical = canonical_request(req, parts.signed_headers, payload_hash, canonical_,
                                              presigned ? "X-Amz-Signature" : "");
    std::string expected =
        compute_signature(key, string_to_sign(parts.amz_date, parts.scope(), canonical));
    matched = constant_time_equal(expected, parts.signature) || matched;
  }
  if (!matched) return std::unexpected(signature_mismatch());
  Principal principal = std::move(credential->principal);
  if (principal.access_key_id.empty()) principal.access_key_id = parts.access_key_id;
  return principal;
}

Result<Principal> Authenticator::authenticate_bearer(std::string_view token,
                                                     std::string_view expected_region) const {
  if (token.size() > kMaxBearerTokenBytes) {
    return fail(ErrorCode::kUnauthenticated, "The bearer token is too long.");
  }
  if (token.starts_with(kShortTermApiKeyPrefix)) {
    return authenticate_short_term_api_key(token, expected_region);
  }
  if (!bearer_) return fail(ErrorCode::kUnauthenticated, "bearer tokens are not accepted");
  return bearer_->verify_bearer(token);
}

}  // namespace plinth::auth
