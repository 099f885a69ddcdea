// Anthropic Messages request parsing (private to the api module; used by parse_invoke_request).
#pragma once

#include <boost/json.hpp>
#include <string>

#include "plinth/api/request_limits.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

// A block's (system text, message content block or tool) Anthropic cache_control, if any:
// {"type":"ephemeral"} marks the prompt through that block as a cache checkpoint (`point`).
// For the /v1/messages route as well as InvokeModel bodies.
Status cache_control(const boost::json::value& block, const std::string& path,
                     providers::CachePoint point, providers::InferenceRequest& request);

Result<providers::InferenceRequest> parse_anthropic_messages(const boost::json::object& body,
                                                             const RequestLimits& limits);

}  // namespace plinth::api
