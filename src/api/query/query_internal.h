// Shared pieces of the STS and IAM Query handlers (private to src/api/query).
#pragma once

#include <map>
#include <optional>
#include <string>

#include "plinth/api/query_api.h"

namespace plinth::api::query {

using Params = std::map<std::string, std::string>;

// Maps an error raised inside a handler (kInvalidArgument: ValidationError or
// MalformedPolicyDocument) to its Query <ErrorResponse>.
QueryResponse handler_error(const Error& error, std::string_view request_id,
                            std::string_view xml_namespace);
// Required parameter or a ValidationError naming it.
Result<std::string> required(const Params& params, const std::string& name);
std::optional<std::string> optional_param(const Params& params, const std::string& name);
// Integer parameter (absent: nullopt); ValidationError when not an integer.
Result<std::optional<int>> optional_int(const Params& params, const std::string& name);
// <NAMEResponse xmlns><NAMEResult>…</NAMEResult><ResponseMetadata>…</NAMEResponse>; an empty
// result omits the Result element (Delete*/Put* actions).
QueryResponse success(std::string_view action, std::string_view xml_namespace,
                      std::string_view result_inner, std::string_view request_id,
                      bool with_result = true);

}  // namespace plinth::api::query
