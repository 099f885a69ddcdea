// GET of a small document by URL (JWKS, OpenID configuration), bounded in time and size.
#include "http_document_fetcher.h"

#include <charconv>

#include "plinth/http/client.h"

namespace plinth::cli {

Result<std::string> HttpDocumentFetcher::fetch(const std::string& url) const {
  auto bad_url = [&] { return fail(ErrorCode::kIo, "not an http(s) URL: " + url.substr(0, 200)); };
  std::string_view rest(url);
  bool tls = rest.starts_with("https://");
  if (!tls && !rest.starts_with("http://")) return bad_url();
  rest.remove_prefix(tls ? 8 : 7);
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  std::string host;
  std::string_view port_text;
  if (authority.starts_with('[')) {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad_url();
    host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad_url();
      port_text = authority.substr(close + 2);
    }
  } else {
    size_t colon = authority.rfind(':');
    host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
  }
  uint16_t port = tls ? 443 : 80;
  if (!port_text.empty()) {
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size()) return bad_url();
  }
  if (host.empty()) return bad_url();

  http::ClientOptions options;
  options.timeout = timeout_;
  options.tls = tls;
  http::Client client(host, port, options);
  http::Request request;
  request.method = "GET";
  request.target = target;
  request.headers.push_back({"accept", "application/json"});
  std::string body;
  bool too_large = false;
  auto response = client.send(request, [&](std::string_view bytes) {
    if (body.size() + bytes.size() > auth::kMaxJwksBytes) {
      too_large = true;  // keep nothing more; the timeout ends an endless body
      return;
    }
    body.append(bytes);
  });
  if (!response)
    return fail(ErrorCode::kIo, "fetching " + url + " failed: " + response.error().message);
  if (too_large) return fail(ErrorCode::kIo, url + " is larger than 64 KiB");
  if (response->status != 200) {
    return fail(ErrorCode::kIo, url + " answered HTTP " + std::to_string(response->status));
  }
  return body;
}

}  // namespace plinth::cli
