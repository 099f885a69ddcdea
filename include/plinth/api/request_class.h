// Which class of work each route is, so the http server keeps /health and event streams off the
// threads that model calls use (http::ServerOptions::classify).
#pragma once

#include "plinth/http/server.h"

namespace plinth::api {

// /health, /ping and /metrics are control; GET /v1/jobs/{id}/events is long-lived; the rest
// (model calls included) is ordinary.
http::RequestClass classify_request(const http::Request& request);

}  // namespace plinth::api
