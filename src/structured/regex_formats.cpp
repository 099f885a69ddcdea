// Regexes that enforce JSON Schema "format" values.
#include "regex_dfa.h"

namespace plinth::structured {

Result<std::string> format_regex(std::string_view format) {
  // Deliberately strict subsets: every string they accept is valid for the format, even where
  // the format allows more (days stop at 28 so that no month can overflow).
  static const std::string kDate = R"([0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))";
  static const std::string kTime =
      R"(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9]))";
  static const std::string kOctet = R"((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9]))";
  static const std::string kLabel = R"([a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?)";
  if (format == "date") return "^" + kDate + "$";
  if (format == "time") return "^" + kTime + "$";
  if (format == "date-time") return "^" + kDate + "T" + kTime + "$";
  if (format == "email")
    return std::string(R"(^[A-Za-z0-9]+([._+-][A-Za-z0-9]+)*@)") + kLabel + R"((\.)" + kLabel +
           R"()*\.[a-z]{2,6}$)";
  if (format == "hostname") return "^" + kLabel + R"((\.)" + kLabel + ")*$";
  if (format == "uuid")
    return std::string(R"(^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$)");
  if (format == "uri" || format == "uri-reference" || format == "iri")
    return "^https://" + kLabel + R"((\.)" + kLabel + R"()*(/[A-Za-z0-9._~-]+)*$)";
  if (format == "ipv4") return "^(" + kOctet + R"(\.){3})" + kOctet + "$";
  if (format == "ipv6") return R"(^([0-9a-f]{1,4}:){7}[0-9a-f]{1,4}$)";
  return fail(ErrorCode::kInvalidArgument, "unsupported format '" + std::string(format) + "'");
}

}  // namespace plinth::structured
