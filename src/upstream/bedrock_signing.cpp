// The bedrock kind's request targets, SigV4 signing and error answers.
#include <boost/json.hpp>

#include "bedrock_wire.h"
#include "plinth/auth/sigv4.h"
#include "plinth/core/encoding.h"
#include "plinth/upstream/transport.h"

namespace plinth::upstream::bedrock {
namespace {

struct ErrorType {
  std::string_view name;
  ErrorCode code;
};

constexpr ErrorType kErrorTypes[] = {
    {"ThrottlingException", ErrorCode::kThrottled},
    {"ServiceQuotaExceededException", ErrorCode::kThrottled},
    {"ServiceUnavailableException", ErrorCode::kUnavailable},
    {"InternalServerException", ErrorCode::kUnavailable},
    {"ModelNotReadyException", ErrorCode::kUnavailable},
    {"ModelStreamErrorException", ErrorCode::kUnavailable},
    {"ModelTimeoutException", ErrorCode::kTimeout},
    {"ValidationException", ErrorCode::kInvalidArgument},
    {"ModelErrorException", ErrorCode::kInvalidArgument},
    {"ResourceNotFoundException", ErrorCode::kNotFound},
    {"AccessDeniedException", ErrorCode::kPermissionDenied},
    {"UnrecognizedClientException", ErrorCode::kPermissionDenied},
    {"ExpiredTokenException", ErrorCode::kPermissionDenied},
};

// "ThrottlingException:http://internal.amazon.com/coral/…" or "com.amazon#ThrottlingException".
std::string_view bare_type(std::string_view type) {
  type = type.substr(0, type.find(':'));
  if (size_t hash = type.rfind('#'); hash != std::string_view::npos) type = type.substr(hash + 1);
  return type;
}

std::optional<ErrorCode> code_of(std::string_view type) {
  type = bare_type(type);
  for (const auto& known : kErrorTypes) {
    // Event-stream exceptions name the type in lower camel case (throttlingException).
    if (type.size() == known.name.size() && !type.empty() &&
        std::tolower(static_cast<unsigned char>(type[0])) ==
            std::tolower(static_cast<unsigned char>(known.name[0])) &&
        type.substr(1) == known.name.substr(1)) {
      return known.code;
    }
  }
  return std::nullopt;
}

std::string message_of(std::string_view payload, std::string* type) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(payload.substr(0, 64 << 10), ec);
  if (ec || !v.is_object()) return std::string(payload.substr(0, 512));
  const auto& o = v.as_object();
  for (const char* key : {"message", "Message"}) {
    if (const auto* m = o.if_contains(key); m != nullptr && m->is_string()) {
      if (type != nullptr && type->empty()) {
        if (const auto* t = o.if_contains("__type"); t != nullptr && t->is_string()) {
          *type = std::string(t->as_string());
        }
      }
      return std::string(m->as_string()).substr(0, 2048);
    }
  }
  return std::string(payload.substr(0, 512));
}

}  // namespace

Error error_from_response(std::string_view provider_id, const http::Response& response) {
  std::string type;
  if (const std::string* header = response.header("x-amzn-errortype")) type = *header;
  std::string message = message_of(response.body, &type);
  if (auto code = code_of(type)) return Error(*code, message);
  return status_error(provider_id, response.status, message);
}

Error error_from_exception(std::string_view exception_type, std::string_view payload) {
  std::string message = message_of(payload, nullptr);
  return Error(code_of(exception_type).value_or(ErrorCode::kUnavailable), message);
}

std::string model_target(std::string_view model_id, std::string_view operation) {
  return "/model/" + uri_encode(model_id) + "/" + std::string(operation);
}

void sign_request(http::Request& request, std::string_view authority, std::string_view base_path,
                  const aws::AwsCredentials& credentials, std::string_view region,
                  std::chrono::system_clock::time_point now) {
  std::erase_if(request.headers, [](const http::Header& h) {
    return h.name == "host" || h.name == "authorization" || h.name.starts_with("x-amz-");
  });
  request.headers.push_back({"host", std::string(authority)});
  std::string target = std::string(base_path) + request.target;
  size_t q = target.find('?');
  auth::SignableRequest signable{request.method,
                                 target.substr(0, q),
                                 q == std::string::npos ? "" : target.substr(q + 1),
                                 {},
                                 request.body};
  for (const auto& h : request.headers) signable.headers.emplace_back(h.name, h.value);
  auth::SignerOptions options;
  options.region = std::string(region);
  options.service = "bedrock";
  options.time = now;
  options.sign_body = true;
  auto signed_request = auth::sign_request(
      signable,
      auth::SigningCredentials{credentials.access_key_id, credentials.secret_access_key,
                               credentials.session_token},
      options);
  request.headers.clear();
  for (auto& [name, value] : signed_request.request.headers)
    request.headers.push_back({name, value});
}

}  // namespace plinth::upstream::bedrock
