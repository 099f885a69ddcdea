// Names for error codes (used in logs and as a fallback in wire errors).
#include "plinth/core/result.h"

namespace plinth {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
      return "InvalidArgument";
    case ErrorCode::kNotFound:
      return "NotFound";
    case ErrorCode::kAlreadyExists:
      return "AlreadyExists";
    case ErrorCode::kConflict:
      return "Conflict";
    case ErrorCode::kUnauthenticated:
      return "Unauthenticated";
    case ErrorCode::kInvalidSignature:
      return "InvalidSignature";
    case ErrorCode::kUnknownAccessKey:
      return "UnknownAccessKey";
    case ErrorCode::kExpiredToken:
      return "ExpiredToken";
    case ErrorCode::kPermissionDenied:
      return "PermissionDenied";
    case ErrorCode::kThrottled:
      return "Throttled";
    case ErrorCode::kTimeout:
      return "Timeout";
    case ErrorCode::kUnavailable:
      return "Unavailable";
    case ErrorCode::kPayloadTooLarge:
      return "PayloadTooLarge";
    case ErrorCode::kContextLength:
      return "ContextLength";
    case ErrorCode::kCancelled:
      return "Cancelled";
    case ErrorCode::kModelError:
      return "ModelError";
    case ErrorCode::kCorruptData:
      return "CorruptData";
    case ErrorCode::kIo:
      return "Io";
    case ErrorCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

}  // namespace plinth
