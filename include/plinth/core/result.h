// Errors as values: Error (a typed code and a message) and Result<T> = std::expected<T, Error>.
#pragma once

#include <version>
#if defined(__cpp_lib_expected)
#include <expected>
#else
// The standard library has no std::expected for this compiler (clang 14 reads libstdc++ 12's
// <expected> as empty: it requires __cpp_concepts >= 202002). The code base spells
// std::expected / std::unexpected in ~600 places, so the own equivalent is made visible under
// those names; GCC 12 never takes this branch.
#include "plinth/core/expected_compat.h"
namespace std {
using ::plinth::compat::bad_expected_access;
using ::plinth::compat::expected;
using ::plinth::compat::unexpect;
using ::plinth::compat::unexpect_t;
using ::plinth::compat::unexpected;
}  // namespace std
#endif
#include <string>
#include <string_view>
#include <utility>

namespace plinth {

// What went wrong, independent of any wire protocol. Each API maps codes to its own error shape
// in one place (Bedrock: X-Amzn-ErrorType + HTTP status; STS/IAM: <ErrorResponse>).
enum class ErrorCode {
  kInvalidArgument,   // malformed or semantically invalid input (Bedrock ValidationException)
  kNotFound,          // unknown model, user, role, document (ResourceNotFoundException)
  kAlreadyExists,     // entity exists (IAM EntityAlreadyExists)
  kConflict,          // state conflict, e.g. idempotency key reused with another body
  kUnauthenticated,   // missing or malformed credentials
  kInvalidSignature,  // signature does not match
  kUnknownAccessKey,  // access key id not known (UnrecognizedClientException)
  kExpiredToken,      // session token or signature time out of range
  kPermissionDenied,  // policy denies (AccessDeniedException)
  kThrottled,         // limits or budgets (ThrottlingException)
  kTimeout,           // generation exceeded its deadline (ModelTimeoutException)
  kUnavailable,       // temporarily cannot serve (ServiceUnavailableException)
  kPayloadTooLarge,   // body above the configured limit
  kContextLength,     // prompt + max tokens exceed the model's context
  kCancelled,         // the caller went away
  kModelError,        // the model's answer broke the request's guarantee (ModelErrorException)
  kCorruptData,       // a file or stored record failed validation
  kIo,                // file system or network failure
  kInternal,          // a bug: should never reach a caller in practice
};

std::string_view to_string(ErrorCode code);

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;

  Error() = default;
  Error(ErrorCode c, std::string m) : code(c), message(std::move(m)) {}
};

template <typename T>
using Result = std::expected<T, Error>;

// Result<void> for operations that return nothing but may fail.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message) {
  return std::unexpected<Error>(Error(code, std::move(message)));
}

inline Status ok() { return {}; }

}  // namespace plinth
