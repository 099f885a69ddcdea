// CountTokens request envelope: unwraps input.converse or input.invokeModel.body so that the
// Converse and InvokeModel parsers read them exactly as they read those calls' bodies.
#include "plinth/api/bedrock_count_tokens.h"

#include "json_input.h"
#include "plinth/core/encoding.h"

namespace plinth::api {

namespace json = boost::json;
using json_input::malformed;

Result<CountTokensInput> parse_count_tokens_request(std::string_view body) {
  auto parsed = json_input::parse_object_body(body);
  if (!parsed) return std::unexpected(parsed.error());
  auto input = json_input::optional_object(*parsed, "input", "input");
  if (!input) return std::unexpected(input.error());
  if (*input == nullptr) return malformed("input", "required: converse or invokeModel");
  auto converse = json_input::optional_object(**input, "converse", "input.converse");
  if (!converse) return std::unexpected(converse.error());
  auto invoke = json_input::optional_object(**input, "invokeModel", "input.invokeModel");
  if (!invoke) return std::unexpected(invoke.error());
  if ((*converse == nullptr) == (*invoke == nullptr) || (*input)->size() != 1) {
    return malformed("input", "exactly one of converse or invokeModel is required");
  }
  CountTokensInput result;
  if (*converse != nullptr) {
    result.kind = CountTokensInput::Kind::kConverse;
    result.converse = **converse;
    return result;
  }
  auto encoded = json_input::optional_string(**invoke, "body", "input.invokeModel.body");
  if (!encoded) return std::unexpected(encoded.error());
  if (!*encoded) return malformed("input.invokeModel.body", "required");
  std::optional<std::string> decoded = base64_decode(**encoded);
  if (!decoded) return malformed("input.invokeModel.body", "not valid base64");
  result.kind = CountTokensInput::Kind::kInvokeModel;
  result.body = std::move(*decoded);
  return result;
}

std::string count_tokens_response_json(int64_t input_tokens) {
  return "{\"inputTokens\":" + std::to_string(input_tokens) + "}";
}

}  // namespace plinth::api
