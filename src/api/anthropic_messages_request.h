// Anthropic Messages request parsing (private to the api module; used by parse_invoke_request).
#pragma once

#include <boost/json.hpp>

#include "plinth/api/request_limits.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

Result<providers::InferenceRequest> parse_anthropic_messages(const boost::json::object& body,
                                                             const RequestLimits& limits);

}  // namespace plinth::api
