// Absolute http(s) URLs as the clients need them: scheme, host, port and request target.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::http {

struct HttpUrl {
  bool tls = false;       // https
  std::string host;       // without brackets for IPv6
  uint16_t port = 0;      // explicit, or 80 / 443
  std::string authority;  // host[:port] as written (the Host header)
  std::string target;     // path and query, "/" when absent
};

// "http://host[:port][/path]" or "https://…"; kInvalidArgument otherwise (no userinfo).
Result<HttpUrl> parse_http_url(std::string_view url);

}  // namespace plinth::http
