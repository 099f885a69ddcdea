// GET of a small document by URL (JWKS, OpenID configuration), bounded in time and size.
#include "http_document_fetcher.h"

#include "plinth/http/client.h"
#include "plinth/http/url.h"

namespace plinth::cli {

Result<std::string> HttpDocumentFetcher::fetch(const std::string& url) const {
  auto parsed = http::parse_http_url(url);
  if (!parsed) return fail(ErrorCode::kIo, parsed.error().message);
  http::ClientOptions options;
  options.timeout = timeout_;
  options.tls = parsed->tls;
  http::Client client(parsed->host, parsed->port, options);
  http::Request request;
  request.method = "GET";
  request.target = parsed->target;
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
