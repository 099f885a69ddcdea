// Parsing of absolute http(s) URLs for the clients.
#include "plinth/http/url.h"

#include <charconv>

namespace plinth::http {

Result<HttpUrl> parse_http_url(std::string_view url) {
  auto bad_url = [&] {
    return fail(ErrorCode::kInvalidArgument,
                "not an http(s) URL: " + std::string(url.substr(0, 200)));
  };
  HttpUrl out;
  std::string_view rest(url);
  out.tls = rest.starts_with("https://");
  if (!out.tls && !rest.starts_with("http://")) return bad_url();
  rest.remove_prefix(out.tls ? 8 : 7);
  size_t slash = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, slash);
  if (authority.find('@') != std::string_view::npos) return bad_url();
  std::string_view target = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (size_t hash = target.find('#'); hash != std::string_view::npos)
    target = target.substr(0, hash);
  out.target = target.empty() ? "/" : (target.front() == '?' ? "/" : "") + std::string(target);
  std::string_view port_text;
  if (authority.starts_with('[')) {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url();
    out.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad_url();
      port_text = authority.substr(close + 2);
      if (port_text.empty()) return bad_url();
    }
  } else {
    size_t colon = authority.rfind(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return bad_url();
    }
  }
  out.port = out.tls ? 443 : 80;
  if (!port_text.empty()) {
    auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || out.port == 0) {
      return bad_url();
    }
  }
  if (out.host.empty()) return bad_url();
  out.authority = std::string(authority);
  return out;
}

}  // namespace plinth::http
