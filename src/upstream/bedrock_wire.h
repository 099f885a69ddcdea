// The bedrock kind's wire format (private to the upstream module): InferenceRequest -> Converse
// request body, Converse response and ConverseStream events -> InferenceResponse / StreamEvents,
// Bedrock error answers -> Errors, and SigV4 signing of the outbound requests.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/aws/credentials.h"
#include "plinth/core/result.h"
#include "plinth/http/event_stream.h"
#include "plinth/http/message.h"
#include "plinth/providers/provider.h"

namespace plinth::upstream::bedrock {

// The tool that carries structured output when the request asks for a schema but names no tool
// of its own: the upstream is forced to call it and its input becomes the answer's JSON text.
inline constexpr std::string_view kStructuredOutputTool = "plinth_structured_output";

// Bound on a non-streamed Converse / InvokeModel answer.
inline constexpr size_t kMaxResponseBytes = 16u << 20;

// The Converse (and ConverseStream) request body for `request` (its model_id is not part of the
// body: it goes in the path). kInvalidArgument for content the Converse API cannot carry.
Result<std::string> converse_request_body(const providers::InferenceRequest& request);

// A Converse response body -> InferenceResponse (model_id left empty). `structured` = the request
// used kStructuredOutputTool: its input becomes the text answer.
Result<providers::InferenceResponse> parse_converse_response(std::string_view body,
                                                             bool structured);

// Usage from a Converse response, a ConverseStream metadata event, or an InvokeModel answer's
// body / headers (x-amzn-bedrock-input-token-count, …): input_tokens counts all prompt tokens,
// cache reads and writes included. nullopt when the document names no usage.
std::optional<providers::Usage> usage_from_json(std::string_view json);
std::optional<providers::Usage> usage_from_headers(const http::Response& response);

// Reads a ConverseStream event-stream body as it arrives, hands text and tool-use events to
// `on_event`, and assembles the final InferenceResponse.
class ConverseStreamReader {
 public:
  ConverseStreamReader(bool structured, providers::StreamCallback on_event)
      : structured_(structured), on_event_(std::move(on_event)) {}
  // False once the stream failed (error() says why) or the callback cancelled.
  bool feed(std::string_view bytes);
  // After the body ended: the response, or the stream's error (an exception event, a corrupt or
  // truncated stream, a cancel).
  Result<providers::InferenceResponse> finish();
  // Also usable alone by a passthrough relay: the usage of one decoded message, if it has one.
  static std::optional<providers::Usage> usage_of(const http::EventMessage& message);

 private:
  Status handle(const http::EventMessage& message);

  bool structured_;
  providers::StreamCallback on_event_;
  http::EventStreamDecoder decoder_;
  providers::InferenceResponse response_;
  std::optional<Error> failure_;
  bool stopped_ = false;
  bool in_tool_ = false;
};

// A Bedrock error answer (X-Amzn-ErrorType header or __type, and {"message"}) as an Error:
// ThrottlingException -> kThrottled, ServiceUnavailableException / InternalServerException /
// ModelNotReadyException -> kUnavailable, ModelTimeoutException -> kTimeout, ValidationException
// -> kInvalidArgument, ResourceNotFoundException -> kNotFound, AccessDeniedException ->
// kPermissionDenied; the upstream's message passed through. Otherwise by HTTP status.
Error error_from_response(std::string_view provider_id, const http::Response& response);
// An exception message inside an event stream (:exception-type) as an Error, as above.
Error error_from_exception(std::string_view exception_type, std::string_view payload);

// The request target for `operation` ("converse", "converse-stream", "invoke",
// "invoke-with-response-stream") on `model_id` (percent-encoded into one path segment).
std::string model_target(std::string_view model_id, std::string_view operation);

// SigV4 (service "bedrock") over method, `base_path` + target, the host header (set to
// `authority`) and the body; adds x-amz-date, x-amz-content-sha256, x-amz-security-token and
// authorization to `request`.
void sign_request(http::Request& request, std::string_view authority, std::string_view base_path,
                  const aws::AwsCredentials& credentials, std::string_view region,
                  std::chrono::system_clock::time_point now);

}  // namespace plinth::upstream::bedrock
