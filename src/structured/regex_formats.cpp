// Regexes that enforce JSON Schema "format" values, strict enough for Zod's own checks too.
#include <array>

#include "regex_dfa.h"

namespace plinth::structured {

Result<std::string> format_regex(std::string_view format) {
  // Deliberately strict subsets: every string they accept is valid for the format under JSON
  // Schema and under Zod 3 and 4 (days stop at 28 so no month overflows; date-times are UTC
  // with 'Z' because Zod's default datetime refuses offsets; times carry no offset because
  // Zod 3's time() refuses one; a JWT has a header Zod can decode).
  static const std::string kDate = R"([12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))";
  static const std::string kClock = R"(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])";
  static const std::string kOctet = R"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))";
  static const std::string kLabel = R"([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?)";
  static const std::string kIpv4 = "(" + kOctet + R"(\.){3})" + kOctet;
  static const std::string kIpv6 = R"(([0-9a-f]{1,4}:){7}[0-9a-f]{1,4})";
  static const std::string kHex = "[0-9a-f]";
  if (format == "date") return "^" + kDate + "$";
  if (format == "time") return "^" + kClock + "$";
  if (format == "date-time") return "^" + kDate + "T" + kClock + R"((\.[0-9]{1,3})?Z$)";
  if (format == "duration")
    return R"(^P([1-9][0-9]{0,2}Y)?([1-9][0-9]{0,2}M)?[1-9][0-9]{0,2}D(T[1-9][0-9]?H)?$)";
  if (format == "email")
    return std::string(R"(^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@)") + kLabel + R"((\.)" + kLabel +
           R"()*\.[a-z]{2,6}$)";
  if (format == "hostname") return "^" + kLabel + R"((\.)" + kLabel + ")*$";
  if (format == "uuid" || format == "guid")
    return "^" + kHex + "{8}-" + kHex + "{4}-[1-8]" + kHex + "{3}-[89ab]" + kHex + "{3}-" + kHex +
           "{12}$";
  if (format == "uri" || format == "url" || format == "uri-reference" || format == "iri" ||
      format == "iri-reference")
    // The last label starts with a letter: WHATWG URL (Zod's url()) reads a numeric last
    // label as IPv4 and refuses "a.5".
    return "^https://(" + kLabel + R"(\.)*[a-z]([a-z0-9-]{0,20}[a-z0-9])?(/[A-Za-z0-9._~-]+)*$)";
  if (format == "ipv4") return "^" + kIpv4 + "$";
  if (format == "ipv6") return "^" + kIpv6 + "$";
  if (format == "cidrv4") return "^" + kIpv4 + R"(/([0-9]|[12][0-9]|3[0-2])$)";
  if (format == "cidrv6") return "^" + kIpv6 + R"(/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$)";
  if (format == "base64") return R"(^([A-Za-z0-9+/]{4})*$)";
  if (format == "base64url") return R"(^([A-Za-z0-9_-]{4})*$)";
  if (format == "cuid") return R"(^c[a-z0-9]{8,24}$)";
  if (format == "cuid2") return R"(^[a-z][a-z0-9]{7,23}$)";
  if (format == "ulid") return R"(^[0-7][0-9A-HJKMNP-TV-Z]{25}$)";
  if (format == "nanoid") return R"(^[a-zA-Z0-9_-]{21}$)";
  if (format == "emoji") return R"(^\p{Extended_Pictographic}+$)";
  // Zod 4's own regexes (mac with its default ':' delimiter).
  if (format == "ksuid") return R"(^[A-Za-z0-9]{27}$)";
  if (format == "xid") return R"(^[0-9a-vA-V]{20}$)";
  if (format == "mac")
    return R"(^((?:[0-9A-F]{2}:){5}[0-9A-F]{2}|(?:[0-9a-f]{2}:){5}[0-9a-f]{2})$)";
  if (format == "hex") return R"(^[0-9a-fA-F]*$)";
  if (format == "e164") return R"(^\+[1-9][0-9]{6,14}$)";
  if (format == "jwt")  // header {"alg":"HS256","typ":"JWT"}
    return R"(^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.[A-Za-z0-9_-]{8,64}\.[A-Za-z0-9_-]{8,64}$)";
  return fail(ErrorCode::kInvalidArgument, "unsupported format '" + std::string(format) + "'");
}

std::string_view format_implied_by_pattern(std::string_view pattern) {
  // Patterns Zod emits without a "format" for checks that go beyond the pattern.
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 1> kKnown = {{
      {R"(^[A-Za-z0-9-_]+\.[A-Za-z0-9-_]+\.[A-Za-z0-9-_]*$)", "jwt"},  // Zod 3 jwt()
  }};
  for (auto [p, f] : kKnown)
    if (p == pattern) return f;
  return {};
}

}  // namespace plinth::structured
