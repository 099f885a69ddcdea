// One bounded HTTP exchange with a credential endpoint.
#include "endpoint_call.h"

#include "plinth/aws/sts_client.h"
#include "plinth/http/client.h"

namespace plinth::aws {

Result<http::Response> call_endpoint(const http::HttpUrl& url, http::Request request,
                                     std::chrono::milliseconds timeout) {
  if (request.target.empty()) request.target = url.target;
  if (request.header("host") == nullptr) request.headers.push_back({"host", url.authority});
  http::ClientOptions options;
  options.timeout = timeout;
  options.tls = url.tls;
  http::Client client(url.host, url.port, options);
  std::string body;
  bool too_large = false;
  auto response = client.send(request, [&](std::string_view bytes) {
    if (body.size() + bytes.size() > kMaxCredentialResponseBytes) {
      too_large = true;  // keep nothing more; the timeout ends an endless body
      return;
    }
    body.append(bytes);
  });
  if (!response) return fail(ErrorCode::kIo, url.authority + ": " + response.error().message);
  if (too_large) {
    return fail(ErrorCode::kIo, url.authority + " answered more than 64 KiB of credentials");
  }
  response->body = std::move(body);
  return response;
}

}  // namespace plinth::aws
