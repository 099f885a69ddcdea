// Bedrock Runtime CountTokens (POST /model/{modelId}/count-tokens): the request's envelope and
// the response. The Converse or InvokeModel body inside is parsed by those APIs' own parsers.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::api {

struct CountTokensInput {
  enum class Kind { kConverse, kInvokeModel } kind = Kind::kConverse;
  boost::json::object converse;  // kConverse: input.converse, a Converse request body
  std::string body;  // kInvokeModel: input.invokeModel.body decoded, an InvokeModel body
};

// {"input":{"converse":{messages, system, toolConfig, ...}}} or
// {"input":{"invokeModel":{"body":"<base64>"}}}: exactly one of the two.
Result<CountTokensInput> parse_count_tokens_request(std::string_view body);

// {"inputTokens":N}
std::string count_tokens_response_json(int64_t input_tokens);

}  // namespace plinth::api
