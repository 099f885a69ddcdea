// One bounded HTTP exchange with a credential endpoint (STS, ECS container, IMDS).
#pragma once

#include <chrono>
#include <string>

#include "plinth/core/result.h"
#include "plinth/http/message.h"
#include "plinth/http/url.h"

namespace plinth::aws {

// Sends `request` (its target is replaced by url.target plus `path_suffix` when `request.target`
// is empty) and returns the response. kIo when the endpoint cannot be reached or its body exceeds
// kMaxCredentialResponseBytes. The host header is url.authority.
Result<http::Response> call_endpoint(const http::HttpUrl& url, http::Request request,
                                     std::chrono::milliseconds timeout);

}  // namespace plinth::aws
