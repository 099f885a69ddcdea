// The JSON credential documents of the ECS container endpoint and IMDS, and ISO 8601 times.
#include <boost/json.hpp>
#include <charconv>
#include <ctime>

#include "plinth/aws/sts_client.h"

namespace plinth::aws {
namespace {

bool read_int(std::string_view text, size_t at, size_t digits, int& out) {
  if (at + digits > text.size()) return false;
  for (size_t i = at; i < at + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;  // from_chars would take a sign
  }
  auto [end, ec] = std::from_chars(text.data() + at, text.data() + at + digits, out);
  return ec == std::errc() && end == text.data() + at + digits;
}

std::string string_field(const boost::json::object& o, std::string_view name) {
  const boost::json::value* v = o.if_contains(name);
  return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text) {
  if (text.size() < 20 || text.size() > 40) return std::nullopt;
  int year, month, day, hour, minute, second;
  if (!read_int(text, 0, 4, year) || text[4] != '-' || !read_int(text, 5, 2, month) ||
      text[7] != '-' || !read_int(text, 8, 2, day) || (text[10] != 'T' && text[10] != 't') ||
      !read_int(text, 11, 2, hour) || text[13] != ':' || !read_int(text, 14, 2, minute) ||
      text[16] != ':' || !read_int(text, 17, 2, second)) {
    return std::nullopt;
  }
  // system_clock counts nanoseconds in 64 bits: years outside 1678..2261 overflow it. Credential
  // expirations are near the present, so anything outside 1970..2200 is refused.
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  if (text[at] == '.') {  // fractional seconds are dropped
    ++at;
    size_t digits = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') ++at, ++digits;
    if (digits == 0) return std::nullopt;
  }
  int offset_seconds = 0;
  std::string_view zone = text.substr(at);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int zh, zm;
    if (!read_int(zone, 1, 2, zh) || !read_int(zone, 4, 2, zm) || zh > 23 || zm > 59) {
      return std::nullopt;
    }
    offset_seconds = (zh * 3600 + zm * 60) * (zone[0] == '+' ? 1 : -1);
  } else {
    return std::nullopt;
  }
  std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                   std::chrono::day(day)};
  if (!date.ok()) return std::nullopt;
  auto t = std::chrono::sys_days(date) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
           std::chrono::seconds(second) - std::chrono::seconds(offset_seconds);
  return std::chrono::system_clock::time_point(t);
}

Result<AwsCredentials> parse_credentials_json(std::string_view json) {
  if (json.size() > kMaxCredentialResponseBytes) {
    return fail(ErrorCode::kIo, "the credentials document is larger than 64 KiB");
  }
  boost::system::error_code ec;
  boost::json::parse_options limits;
  limits.max_depth = 8;
  boost::json::value v = boost::json::parse(json, ec, {}, limits);
  if (ec || !v.is_object()) return fail(ErrorCode::kIo, "the credentials document is not JSON");
  const auto& o = v.as_object();
  if (std::string code = string_field(o, "Code"); !code.empty() && code != "Success") {
    return fail(ErrorCode::kUnavailable,
                "the credentials endpoint answered Code " + code.substr(0, 128));
  }
  AwsCredentials out;
  out.access_key_id = string_field(o, "AccessKeyId");
  out.secret_access_key = string_field(o, "SecretAccessKey");
  out.session_token = string_field(o, "Token");
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    return fail(ErrorCode::kIo, "the credentials document lacks AccessKeyId or SecretAccessKey");
  }
  if (std::string expiration = string_field(o, "Expiration"); !expiration.empty()) {
    out.expiration = parse_iso8601(expiration);
    if (!out.expiration) return fail(ErrorCode::kIo, "the credentials' Expiration is not a time");
  }
  return out;
}

}  // namespace plinth::aws
