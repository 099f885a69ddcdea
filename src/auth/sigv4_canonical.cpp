// SigV4 canonical request, string to sign, signing key and signature (pure functions).
#include <algorithm>
#include <ctime>

#include "crypto.h"
#include "plinth/auth/sigv4.h"
#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace {

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Trims and collapses runs of whitespace to one space, as SigV4 canonical header values want.
std::string canonical_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

// Removes "." and ".." segments and empty segments (repeated slashes), keeping a trailing slash.
std::string normalize_path(std::string_view path) {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) out += '/';
    out += segments[i];
  }
  if (!segments.empty() && !path.empty() && path.back() == '/') out += '/';
  return out;
}

}  // namespace

std::string sha256_hex(std::string_view bytes) { return hex_encode(crypto::sha256(bytes)); }

std::string canonical_uri(std::string_view raw_path, const CanonicalOptions& options) {
  std::string path = raw_path.empty() ? std::string("/") : std::string(raw_path);
  if (options.normalize_path) path = normalize_path(path);
  if (options.double_encode_path) return uri_encode(path, /*keep_slash=*/true);
  // S3 style: the path is encoded exactly once, whatever the client sent.
  return uri_encode(uri_decode(path).value_or(path), /*keep_slash=*/true);
}

std::string canonical_query(std::string_view raw_query, std::string_view exclude) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start < raw_query.size()) {
    size_t end = raw_query.find('&', start);
    if (end == std::string_view::npos) end = raw_query.size();
    std::string_view piece = raw_query.substr(start, end - start);
    start = end + 1;
    if (piece.empty()) continue;
    size_t eq = piece.find('=');
    std::string_view raw_key = piece.substr(0, eq);
    std::string_view raw_value = eq == std::string_view::npos ? "" : piece.substr(eq + 1);
    std::string key = uri_decode(raw_key).value_or(std::string(raw_key));
    if (!exclude.empty() && key == exclude) continue;
    std::string value = uri_decode(raw_value).value_or(std::string(raw_value));
    params.emplace_back(uri_encode(key), uri_encode(value));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [key, value] : params) {
    if (!out.empty()) out += '&';
    out += key + "=" + value;
  }
  return out;
}

std::optional<std::string> canonical_headers(const HeaderList& headers,
                                             const std::vector<std::string>& signed_headers) {
  std::vector<std::string> names;
  for (const auto& name : signed_headers) names.push_back(to_lower(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string out;
  for (const auto& name : names) {
    std::string joined;
    bool found = false;
    for (const auto& [header_name, value] : headers) {
      if (to_lower(header_name) != name) continue;
      if (found) joined += ',';
      joined += canonical_header_value(value);
      found = true;
    }
    if (!found) return std::nullopt;
    out += name + ":" + joined + "\n";
  }
  return out;
}

std::string canonical_request(const SignableRequest& req,
                              const std::vector<std::string>& signed_headers,
                              std::string_view payload_hash, const CanonicalOptions& options,
                              std::string_view exclude_query_param) {
  std::vector<std::string> names;
  for (const auto& name : signed_headers) names.push_back(to_lower(name));
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string joined_names;
  for (const auto& name : names) {
    if (!joined_names.empty()) joined_names += ';';
    joined_names += name;
  }
  std::string out = req.method + "\n";
  out += canonical_uri(req.raw_path, options) + "\n";
  out += canonical_query(req.raw_query, exclude_query_param) + "\n";
  out += canonical_headers(req.headers, names).value_or("") + "\n";
  out += joined_names + "\n";
  out += payload_hash;
  return out;
}

std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical_request) {
  std::string out(kSigV4Algorithm);
  out += "\n";
  out += amz_date;
  out += "\n";
  out += scope;
  out += "\n";
  out += sha256_hex(canonical_request);
  return out;
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string key = crypto::hmac_sha256("AWS4" + std::string(secret), date);
  key = crypto::hmac_sha256(key, region);
  key = crypto::hmac_sha256(key, service);
  return crypto::hmac_sha256(key, "aws4_request");
}

std::string compute_signature(std::string_view signing_key, std::string_view string_to_sign) {
  return hex_encode(crypto::hmac_sha256(signing_key, string_to_sign));
}

std::string format_amz_date(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y%m%dT%H%M%SZ", &tm);
  return buffer;
}

std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view s) {
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto digits = [&](size_t pos, size_t n) -> std::optional<int> {
    int v = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return std::nullopt;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  auto year = digits(0, 4), month = digits(4, 2), day = digits(6, 2);
  auto hour = digits(9, 2), minute = digits(11, 2), second = digits(13, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  std::chrono::year_month_day ymd{std::chrono::year(*year), std::chrono::month(*month),
                                  std::chrono::day(*day)};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 60) return std::nullopt;
  // system_clock counts nanoseconds in 64 bits (years 1678 to 2261): refuse what it cannot hold.
  if (*year < 1900 || *year > 2200) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second);
}

}  // namespace plinth::auth
