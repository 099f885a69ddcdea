// ErrorCode -> Bedrock (AWS JSON protocol), OpenAI and Anthropic error shapes, one table each.
#include "plinth/api/errors.h"

#include <boost/json.hpp>

namespace plinth::api {

std::string_view aws_error_name(AwsErrorType type) {
  switch (type) {
    case AwsErrorType::kValidation:
      return "ValidationException";
    case AwsErrorType::kAccessDenied:
      return "AccessDeniedException";
    case AwsErrorType::kUnrecognizedClient:
      return "UnrecognizedClientException";
    case AwsErrorType::kInvalidSignature:
      return "InvalidSignatureException";
    case AwsErrorType::kIncompleteSignature:
      return "IncompleteSignatureException";
    case AwsErrorType::kExpiredToken:
      return "ExpiredTokenException";
    case AwsErrorType::kMissingAuthenticationToken:
      return "MissingAuthenticationTokenException";
    case AwsErrorType::kResourceNotFound:
      return "ResourceNotFoundException";
    case AwsErrorType::kConflict:
      return "ConflictException";
    case AwsErrorType::kServiceQuotaExceeded:
      return "ServiceQuotaExceededException";
    case AwsErrorType::kTooManyTags:
      return "TooManyTagsException";
    case AwsErrorType::kModelTimeout:
      return "ModelTimeoutException";
    case AwsErrorType::kModelError:
      return "ModelErrorException";
    case AwsErrorType::kThrottling:
      return "ThrottlingException";
    case AwsErrorType::kServiceUnavailable:
      return "ServiceUnavailableException";
    case AwsErrorType::kInternalServer:
      return "InternalServerException";
  }
  return "InternalServerException";
}

unsigned aws_error_status(AwsErrorType type) {
  switch (type) {
    case AwsErrorType::kValidation:
    case AwsErrorType::kServiceQuotaExceeded:
    case AwsErrorType::kTooManyTags:
      return 400;
    case AwsErrorType::kAccessDenied:
    case AwsErrorType::kUnrecognizedClient:
    case AwsErrorType::kInvalidSignature:
    case AwsErrorType::kIncompleteSignature:
    case AwsErrorType::kExpiredToken:
    case AwsErrorType::kMissingAuthenticationToken:
      return 403;
    case AwsErrorType::kResourceNotFound:
      return 404;
    case AwsErrorType::kModelTimeout:
      return 408;
    case AwsErrorType::kModelError:
      return 424;
    case AwsErrorType::kConflict:
      return 409;
    case AwsErrorType::kThrottling:
      return 429;
    case AwsErrorType::kServiceUnavailable:
      return 503;
    case AwsErrorType::kInternalServer:
      return 500;
  }
  return 500;
}

std::string aws_error_header(AwsErrorType type) {
  return std::string(aws_error_name(type)) +
         ":http://internal.amazon.com/coral/com.amazon.bedrock/";
}

AwsErrorType aws_error_type(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kContextLength:
    case ErrorCode::kPayloadTooLarge:
      return AwsErrorType::kValidation;
    case ErrorCode::kNotFound:
      return AwsErrorType::kResourceNotFound;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      return AwsErrorType::kConflict;
    case ErrorCode::kUnauthenticated:
      return AwsErrorType::kMissingAuthenticationToken;
    case ErrorCode::kInvalidSignature:
      return AwsErrorType::kInvalidSignature;
    case ErrorCode::kUnknownAccessKey:
      return AwsErrorType::kUnrecognizedClient;
    case ErrorCode::kExpiredToken:
      return AwsErrorType::kExpiredToken;
    case ErrorCode::kPermissionDenied:
      return AwsErrorType::kAccessDenied;
    case ErrorCode::kThrottled:
      return AwsErrorType::kThrottling;
    case ErrorCode::kTimeout:
      return AwsErrorType::kModelTimeout;
    case ErrorCode::kModelError:
      return AwsErrorType::kModelError;
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled:
      return AwsErrorType::kServiceUnavailable;
    case ErrorCode::kCorruptData:
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return AwsErrorType::kInternalServer;
  }
  return AwsErrorType::kInternalServer;
}

WireError bedrock_error(AwsErrorType type, std::string_view message) {
  WireError wire;
  wire.status = aws_error_status(type);
  wire.error_type_header = aws_error_header(type);
  wire.content_type = "application/json";
  wire.body = boost::json::serialize(boost::json::object{{"message", message}});
  return wire;
}

WireError bedrock_error(const Error& error) {
  // Internal failures keep their detail in the log, not on the wire.
  AwsErrorType type = aws_error_type(error.code);
  std::string_view message = error.message;
  if (type == AwsErrorType::kInternalServer) message = "The server encountered an internal error.";
  WireError wire = bedrock_error(type, message);
  if (error.code == ErrorCode::kPayloadTooLarge) wire.status = 413;
  return wire;
}

std::string_view stream_exception_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kContextLength:
      return "validationException";
    case ErrorCode::kThrottled:
      return "throttlingException";
    case ErrorCode::kTimeout:
      return "modelTimeoutException";
    case ErrorCode::kUnavailable:
      return "serviceUnavailableException";
    case ErrorCode::kCancelled:
    case ErrorCode::kCorruptData:
    case ErrorCode::kModelError:
      return "modelStreamErrorException";
    default:
      return "internalServerException";
  }
}

WireError openai_error(const Error& error) {
  unsigned status = aws_error_status(aws_error_type(error.code));
  std::string_view type = "server_error";
  std::string_view code = "internal_error";
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kPayloadTooLarge:
      type = "invalid_request_error";
      code = "invalid_value";
      break;
    case ErrorCode::kContextLength:
      type = "invalid_request_error";
      code = "context_length_exceeded";
      break;
    case ErrorCode::kNotFound:
      type = "invalid_request_error";
      code = "model_not_found";
      break;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInvalidSignature:
    case ErrorCode::kUnknownAccessKey:
    case ErrorCode::kExpiredToken:
      // OpenAI answers every credential problem with 401 invalid_api_key.
      status = 401;
      type = "invalid_request_error";
      code = "invalid_api_key";
      break;
    case ErrorCode::kPermissionDenied:
      type = "permission_error";
      code = "permission_denied";
      break;
    case ErrorCode::kThrottled:
      type = "rate_limit_error";
      code = "rate_limit_exceeded";
      break;
    case ErrorCode::kTimeout:
      type = "timeout_error";
      code = "timeout";
      break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled:
      type = "server_error";
      code = "service_unavailable";
      break;
    case ErrorCode::kModelError:
      // OpenAI has no own code for it: a server error, with the reason kept.
      status = 500;
      type = "server_error";
      code = "model_error";
      break;
    default:
      break;
  }
  if (error.code == ErrorCode::kPayloadTooLarge) status = 413;
  std::string_view message = error.message;
  if (status == 500 && error.code != ErrorCode::kModelError)
    message = "The server encountered an internal error.";
  WireError wire;
  wire.status = status;
  wire.content_type = "application/json";
  wire.body = boost::json::serialize(boost::json::object{
      {"error", boost::json::object{{"message", message}, {"type", type}, {"code", code}}}});
  return wire;
}

WireError anthropic_error(const Error& error) {
  unsigned status = 500;
  std::string_view type = "api_error";
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kContextLength:
      status = 400;
      type = "invalid_request_error";
      break;
    case ErrorCode::kPayloadTooLarge:
      status = 413;
      type = "request_too_large";
      break;
    case ErrorCode::kNotFound:
      status = 404;
      type = "not_found_error";
      break;
    case ErrorCode::kUnauthenticated:
    case ErrorCode::kInvalidSignature:
    case ErrorCode::kUnknownAccessKey:
    case ErrorCode::kExpiredToken:
      status = 401;
      type = "authentication_error";
      break;
    case ErrorCode::kPermissionDenied:
      status = 403;
      type = "permission_error";
      break;
    case ErrorCode::kThrottled:
      status = 429;
      type = "rate_limit_error";
      break;
    case ErrorCode::kTimeout:
      status = 504;
      type = "timeout_error";
      break;
    case ErrorCode::kUnavailable:
    case ErrorCode::kCancelled:
      status = 529;
      type = "overloaded_error";
      break;
    case ErrorCode::kAlreadyExists:
    case ErrorCode::kConflict:
      status = 409;
      type = "invalid_request_error";
      break;
    default:
      break;
  }
  std::string_view message = error.message;
  // A model error keeps its reason (api_error, 500); internal failures keep theirs in the log.
  if (status == 500 && error.code != ErrorCode::kModelError)
    message = "The server encountered an internal error.";
  WireError wire;
  wire.status = status;
  wire.content_type = "application/json";
  wire.body = boost::json::serialize(boost::json::object{
      {"type", "error"}, {"error", boost::json::object{{"type", type}, {"message", message}}}});
  return wire;
}

}  // namespace plinth::api
