// AWS Signature Version 4: canonical requests, string to sign, signing keys, signing and the
// parsing of Authorization headers and presigned (X-Amz-*) query parameters.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::auth {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct SignableRequest {  // built by the api layer from an HTTP request
  std::string method;
  std::string raw_path;   // as received, percent-encoding intact
  std::string raw_query;  // as received, without '?'
  HeaderList headers;     // lowercase names, received order, may include ":authority"
  std::string_view body;
};

inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";

struct CanonicalOptions {
  // Remove "." and ".." segments and collapse repeated slashes (false only for S3).
  bool normalize_path = true;
  // Percent-encode the (already encoded) path once more: true for every service but S3.
  bool double_encode_path = true;
};

// The pieces of a signature, from an Authorization header or from X-Amz-* query parameters.
struct SignatureParts {
  std::string access_key_id;
  std::string date;  // yyyymmdd of the credential scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;                    // lowercase hex
  std::string amz_date;                     // yyyymmddThhmmssZ
  std::optional<std::string> session_token;
  bool presigned = false;
  long expires_seconds = 0;  // presigned only
  std::string scope() const { return date + "/" + region + "/" + service + "/aws4_request"; }
};

// Parses "AWS4-HMAC-SHA256 Credential=AK/DATE/REGION/SERVICE/aws4_request, SignedHeaders=a;b,
// Signature=hex". kInvalidArgument (IncompleteSignature) when malformed.
Result<SignatureParts> parse_authorization_header(std::string_view value);
// Extracts the X-Amz-* parameters of a presigned request.
Result<SignatureParts> parse_presigned_query(std::string_view raw_query);

std::string canonical_uri(std::string_view raw_path, const CanonicalOptions& options);
// Sorted, re-encoded query; parameters named in `exclude` (X-Amz-Signature) are left out.
std::string canonical_query(std::string_view raw_query, std::string_view exclude = {});
// Folds duplicate names (values joined with ','), trims and collapses spaces, sorts by name.
// Returns nullopt when a signed header is absent.
std::optional<std::string> canonical_headers(const HeaderList& headers,
                                             const std::vector<std::string>& signed_headers);
std::string canonical_request(const SignableRequest& req,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash, const CanonicalOptions& options,
                              std::string_view exclude_query_param = {});
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request);
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);
// Lowercase hex HMAC-SHA256(signing_key, string_to_sign).
std::string compute_signature(std::string_view signing_key, std::string_view string_to_sign);
std::string sha256_hex(std::string_view bytes);

// yyyymmddThhmmssZ <-> time_point. nullopt when malformed.
std::string format_amz_date(std::chrono::system_clock::time_point t);
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s);

struct SigningCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty: none
};

struct SignerOptions {
  std::string region{};
  std::string service{};
  std::chrono::system_clock::time_point time{};
  CanonicalOptions canonical{};
  bool sign_body = false;              // add x-amz-content-sha256 (header signing only)
  bool unsigned_payload = false;       // hash UNSIGNED-PAYLOAD instead of the body
  bool omit_session_token = false;     // add the token after signing (some services want that)
  std::chrono::seconds expires{3600};  // presigned only
};

struct SignedRequest {
  SignableRequest request;  // with x-amz-date / authorization headers, or the X-Amz-* query
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
};

// Header signing: adds x-amz-date, (x-amz-content-sha256), (x-amz-security-token) and
// authorization; signs every header present (lowercase names expected).
SignedRequest sign_request(const SignableRequest& req, const SigningCredentials& creds,
                           const SignerOptions& options);
// Query signing (presigned URL): appends the X-Amz-* parameters to raw_query.
SignedRequest presign_request(const SignableRequest& req, const SigningCredentials& creds,
                              const SignerOptions& options);

}  // namespace plinth::auth
