// Validation rules shared by the Converse, Anthropic, Llama and OpenAI request parsers.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/request_limits.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api::shared_validation {

// A text content block (designated initializers would trip -Wmissing-field-initializers).
inline providers::ContentBlock text_block(std::string text) {
  providers::ContentBlock block;
  block.text = std::move(text);
  return block;
}

// "user" | "assistant", else the AWS enum-constraint message.
Result<providers::Role> parse_role(std::string_view role, std::string_view path);

// An integer in [1, limits.max_tokens]; nullopt when absent.
Result<std::optional<int32_t>> max_tokens(const boost::json::object& o, std::string_view key,
                                          std::string_view path, const RequestLimits& limits);

// An array of non-empty strings (or, with allow_single_string, one string), at most
// limits.max_stop_sequences of them.
Result<std::vector<std::string>> stop_sequences(const boost::json::object& o, std::string_view key,
                                                std::string_view path, const RequestLimits& limits,
                                                bool allow_single_string = false);

// A positive integer; nullopt when absent.
Result<std::optional<int32_t>> top_k(const boost::json::object& o, std::string_view key,
                                     std::string_view path);

// A JSON Schema given as JSON text: it must parse to an object. Returns it re-serialized.
Result<std::string> schema_text(std::string_view text, std::string_view path);

// A prompt-cache checkpoint: Bedrock's cachePoint ({"type":"default"}) or Anthropic's
// cache_control ({"type":"ephemeral"}, optional "ttl"), `spec` being that object. Validates it and
// appends `point` to request.cache_points; more than providers::kMaxCachePoints is refused.
Status add_cache_point(const boost::json::value& spec, std::string_view type, std::string_view path,
                       providers::CachePoint point, providers::InferenceRequest& request);

}  // namespace plinth::api::shared_validation
