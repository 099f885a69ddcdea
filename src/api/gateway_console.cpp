// GET /console: the web console's static files, embedded at build time (console_assets.h).
// They carry no data and need no credentials: the page signs its own /v1 calls with SigV4.
#include "console_assets.h"
#include "gateway_internal.h"

namespace plinth::api {
namespace {

// Everything from this origin only; no inline script or style, no framing, no form posts.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'";

std::string_view content_type(std::string_view name) {
  if (name.ends_with(".html")) return "text/html; charset=utf-8";
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  return "application/octet-stream";
}

const EmbeddedAsset* find_asset(std::string_view name) {
  for (size_t i = 0; i < kEmbeddedAssetCount; ++i) {
    if (kEmbeddedAssets[i].name == name) return &kEmbeddedAssets[i];
  }
  return nullptr;
}

http::Response plain(int status, std::string_view message) {
  http::Response response;
  response.status = status;
  response.headers = {{"content-type", "text/plain; charset=utf-8"},
                      {"x-content-type-options", "nosniff"},
                      {"cache-control", "no-store"}};
  response.body = std::string(message);
  return response;
}

}  // namespace

http::Response console_response(const http::Request& request) {
  std::string_view path = request.path();
  std::string_view name = path == "/console" || path == "/console/"
                              ? std::string_view("index.html")
                              : path.substr(std::string_view("/console/").size());
  const EmbeddedAsset* asset = find_asset(name);
  if (asset == nullptr) return plain(404, "Not found.\n");
  if (request.method != "GET" && request.method != "HEAD") {
    http::Response response = plain(405, "Use GET.\n");
    response.headers.push_back({"allow", "GET, HEAD"});
    return response;
  }
  http::Response response;
  std::string etag = "\"" + std::string(asset->sha256.substr(0, 32)) + "\"";
  // The file names carry no version, so a browser revalidates every load (a 304 when unchanged).
  response.headers = {{"content-type", std::string(content_type(name))},
                      {"content-security-policy", std::string(kContentSecurityPolicy)},
                      {"x-content-type-options", "nosniff"},
                      {"x-frame-options", "DENY"},
                      {"referrer-policy", "no-referrer"},
                      {"cache-control", "no-cache"},
                      {"etag", etag}};
  const std::string* if_none_match = request.header("if-none-match");
  if (if_none_match != nullptr && *if_none_match == etag) {
    response.status = 304;
    return response;
  }
  response.status = 200;
  if (request.method == "GET") response.body = std::string(asset->body);
  return response;
}

}  // namespace plinth::api
