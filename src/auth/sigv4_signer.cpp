// SigV4 Authorization header and presigned-query parsing, and the request signer.
#include <algorithm>

#include "plinth/auth/sigv4.h"
#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

bool is_lower_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// "AK/20150830/us-east-1/service/aws4_request" into the parts.
Status parse_credential(std::string_view credential, SignatureParts& parts) {
  std::vector<std::string> pieces = split(credential, '/');
  if (pieces.size() != 5 || pieces[0].empty() || pieces[1].size() != 8 || pieces[2].empty() ||
      pieces[3].empty() || pieces[4] != "aws4_request") {
    return fail(ErrorCode::kInvalidArgument,
                "Credential should be scoped to a valid region, service and date: " +
                    std::string(credential));
  }
  parts.access_key_id = pieces[0];
  parts.date = pieces[1];
  parts.region = pieces[2];
  parts.service = pieces[3];
  return ok();
}

Status parse_signed_headers(std::string_view list, SignatureParts& parts) {
  parts.signed_headers = split(list, ';');
  for (const auto& name : parts.signed_headers) {
    if (name.empty()) return fail(ErrorCode::kInvalidArgument, "SignedHeaders is malformed");
  }
  return ok();
}

std::string join(const std::vector<std::string>& names, char sep) {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += sep;
    out += name;
  }
  return out;
}

std::vector<std::string> sorted_header_names(const HeaderList& headers) {
  std::vector<std::string> names;
  for (const auto& [name, value] : headers) names.push_back(name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

}  // namespace

Result<SignatureParts> parse_authorization_header(std::string_view value) {
  value = trim(value);
  if (!value.starts_with(kSigV4Algorithm) || value.size() == kSigV4Algorithm.size() ||
      value[kSigV4Algorithm.size()] != ' ') {
    return fail(ErrorCode::kInvalidArgument, "Authorization header requires AWS4-HMAC-SHA256");
  }
  SignatureParts parts;
  bool have_credential = false, have_headers = false, have_signature = false;
  for (const std::string& raw : split(value.substr(kSigV4Algorithm.size() + 1), ',')) {
    std::string_view item = trim(raw);
    size_t eq = item.find('=');
    if (eq == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument,
                  "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                  "parameters. Authorization=" +
                      std::string(value));
    }
    std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "Credential") {
      if (auto s = parse_credential(val, parts); !s) return std::unexpected(s.error());
      have_credential = true;
    } else if (key == "SignedHeaders") {
      if (auto s = parse_signed_headers(val, parts); !s) return std::unexpected(s.error());
      have_headers = true;
    } else if (key == "Signature") {
      parts.signature = std::string(val);
      have_signature = true;
    }
  }
  if (!have_credential || !have_headers || !have_signature) {
    return fail(ErrorCode::kInvalidArgument,
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' "
                "parameters. Authorization=" +
                    std::string(value));
  }
  if (parts.signature.size() != 64 || !is_lower_hex(parts.signature)) {
    return fail(ErrorCode::kInvalidArgument, "Signature must be 64 lowercase hex characters");
  }
  return parts;
}

Result<SignatureParts> parse_presigned_query(std::string_view raw_query) {
  SignatureParts parts;
  parts.presigned = true;
  std::string algorithm, credential, signed_headers, expires;
  for (const std::string& piece : split(raw_query, '&')) {
    size_t eq = piece.find('=');
    if (eq == std::string::npos) continue;
    auto key = uri_decode(piece.substr(0, eq));
    auto value = uri_decode(piece.substr(eq + 1));
    if (!key || !value) return fail(ErrorCode::kInvalidArgument, "malformed query escape");
    if (*key == "X-Amz-Algorithm") algorithm = *value;
    if (*key == "X-Amz-Credential") credential = *value;
    if (*key == "X-Amz-SignedHeaders") signed_headers = *value;
    if (*key == "X-Amz-Signature") parts.signature = *value;
    if (*key == "X-Amz-Date") parts.amz_date = *value;
    if (*key == "X-Amz-Expires") expires = *value;
    if (*key == "X-Amz-Security-Token") parts.session_token = *value;
  }
  if (algorithm != kSigV4Algorithm || credential.empty() || signed_headers.empty() ||
      parts.signature.empty() || parts.amz_date.empty() || expires.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "AWS query-string parameters must include X-Amz-Algorithm, X-Amz-Credential, "
                "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders and X-Amz-Expires");
  }
  if (auto s = parse_credential(credential, parts); !s) return std::unexpected(s.error());
  if (auto s = parse_signed_headers(signed_headers, parts); !s) return std::unexpected(s.error());
  if (parts.signature.size() != 64 || !is_lower_hex(parts.signature)) {
    return fail(ErrorCode::kInvalidArgument, "X-Amz-Signature must be 64 lowercase hex characters");
  }
  if (expires.size() > 6 || !std::all_of(expires.begin(), expires.end(), ::isdigit)) {
    return fail(ErrorCode::kInvalidArgument, "X-Amz-Expires must be a number of seconds");
  }
  parts.expires_seconds = std::stol(expires);
  if (parts.expires_seconds < 1 || parts.expires_seconds > 604800) {
    return fail(ErrorCode::kInvalidArgument, "X-Amz-Expires must be between 1 and 604800");
  }
  return parts;
}

SignedRequest sign_request(const SignableRequest& req, const SigningCredentials& creds,
                           const SignerOptions& options) {
  SignedRequest out{req, {}, {}, {}};
  std::string amz_date = format_amz_date(options.time);
  std::string payload_hash =
      options.unsigned_payload ? std::string(kUnsignedPayload) : sha256_hex(req.body);
  out.request.headers.emplace_back("x-amz-date", amz_date);
  if (options.sign_body || options.unsigned_payload) {
    out.request.headers.emplace_back("x-amz-content-sha256", payload_hash);
  }
  bool token = !creds.session_token.empty();
  if (token && !options.omit_session_token) {
    out.request.headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  std::vector<std::string> names = sorted_header_names(out.request.headers);
  std::string scope =
      amz_date.substr(0, 8) + "/" + options.region + "/" + options.service + "/aws4_request";
  out.canonical_request = canonical_request(out.request, names, payload_hash, options.canonical);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = compute_signature(
      signing_key(creds.secret_access_key, amz_date.substr(0, 8), options.region, options.service),
      out.string_to_sign);
  out.request.headers.emplace_back(
      "authorization", std::string(kSigV4Algorithm) + " Credential=" + creds.access_key_id + "/" +
                           scope + ", SignedHeaders=" + join(names, ';') +
                           ", Signature=" + out.signature);
  if (token && options.omit_session_token) {
    out.request.headers.emplace_back("x-amz-security-token", creds.session_token);
  }
  return out;
}

SignedRequest presign_request(const SignableRequest& req, const SigningCredentials& creds,
                              const SignerOptions& options) {
  SignedRequest out{req, {}, {}, {}};
  std::string amz_date = format_amz_date(options.time);
  std::string scope =
      amz_date.substr(0, 8) + "/" + options.region + "/" + options.service + "/aws4_request";
  std::vector<std::string> names = sorted_header_names(req.headers);
  std::string& query = out.request.raw_query;
  auto add = [&](std::string_view key, std::string_view value) {
    if (!query.empty()) query += '&';
    query += std::string(key) + "=" + uri_encode(value);
  };
  add("X-Amz-Algorithm", kSigV4Algorithm);
  add("X-Amz-Credential", creds.access_key_id + "/" + scope);
  add("X-Amz-Date", amz_date);
  add("X-Amz-Expires", std::to_string(options.expires.count()));
  bool token = !creds.session_token.empty();
  if (token && !options.omit_session_token) add("X-Amz-Security-Token", creds.session_token);
  add("X-Amz-SignedHeaders", join(names, ';'));
  std::string payload_hash =
      options.unsigned_payload ? std::string(kUnsignedPayload) : sha256_hex(req.body);
  out.canonical_request = canonical_request(out.request, names, payload_hash, options.canonical);
  out.string_to_sign = string_to_sign(amz_date, scope, out.canonical_request);
  out.signature = compute_signature(
      signing_key(creds.secret_access_key, amz_date.substr(0, 8), options.region, options.service),
      out.string_to_sign);
  if (token && options.omit_session_token) add("X-Amz-Security-Token", creds.session_token);
  add("X-Amz-Signature", out.signature);
  return out;
}

}  // namespace plinth::auth
