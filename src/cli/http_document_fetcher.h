// The DocumentFetcher `plinth serve` gives web identity: JWKS and OpenID configurations over
// Plinth's own HTTP client, with a timeout and a size bound.
#pragma once

#include <chrono>

#include "plinth/auth/web_identity.h"

namespace plinth::cli {

class HttpDocumentFetcher final : public auth::DocumentFetcher {
 public:
  explicit HttpDocumentFetcher(std::chrono::milliseconds timeout = std::chrono::seconds(5))
      : timeout_(timeout) {}
  // http:// or https:// URLs; kIo on failure, a non-200 answer or more than kMaxJwksBytes.
  Result<std::string> fetch(const std::string& url) const override;

 private:
  std::chrono::milliseconds timeout_;
};

}  // namespace plinth::cli
