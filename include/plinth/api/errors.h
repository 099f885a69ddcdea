// The one mapping from internal ErrorCode to each API's wire error (Bedrock/AWS JSON, OpenAI,
// Anthropic).
#pragma once

#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::api {

// The AWS JSON-protocol error types Plinth sends.
enum class AwsErrorType {
  kValidation,
  kAccessDenied,
  kUnrecognizedClient,
  kInvalidSignature,
  kIncompleteSignature,
  kExpiredToken,
  kMissingAuthenticationToken,
  kResourceNotFound,
  kConflict,
  kServiceQuotaExceeded,  // control plane: too many inference profiles
  kTooManyTags,           // control plane: a resource would hold too many tags
  kModelTimeout,
  kModelError,  // 424: the model's output broke the request (e.g. the schema it had to follow)
  kThrottling,
  kServiceUnavailable,
  kInternalServer,
};

// "ValidationException", "AccessDeniedException", ...
std::string_view aws_error_name(AwsErrorType type);
unsigned aws_error_status(AwsErrorType type);
// The X-Amzn-ErrorType header value in the form AWS sends it
// ("ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"); the SDKs keep
// the part before ':'.
std::string aws_error_header(AwsErrorType type);

// Internal code -> AWS error type. Authentication codes follow auth/authenticator.h's table,
// except kInvalidArgument from authenticate() which the gateway maps to IncompleteSignature.
AwsErrorType aws_error_type(ErrorCode code);

// A fully formed error answer, independent of the HTTP library.
struct WireError {
  unsigned status = 500;
  std::string error_type_header;  // X-Amzn-ErrorType (empty for OpenAI)
  std::string content_type;
  std::string body;
};

// {"message": ...} with the status and X-Amzn-ErrorType of the error's code. Internal errors
// carry a generic message (the detail belongs in the log).
WireError bedrock_error(const Error& error);
WireError bedrock_error(AwsErrorType type, std::string_view message);

// The ConverseStream / InvokeModelWithResponseStream exception event name for a mid-stream
// failure ("modelStreamErrorException", "throttlingException", "internalServerException", ...).
std::string_view stream_exception_name(ErrorCode code);

// OpenAI: {"error":{"message","type","code"}} with the status OpenAI uses for that kind of error.
WireError openai_error(const Error& error);

// Anthropic: {"type":"error","error":{"type","message"}} with Anthropic's status for that kind
// (400 invalid_request_error, 401 authentication_error, 403 permission_error, 404
// not_found_error, 413 request_too_large, 429 rate_limit_error, 500 api_error, 504
// timeout_error, 529 overloaded_error).
WireError anthropic_error(const Error& error);

}  // namespace plinth::api
