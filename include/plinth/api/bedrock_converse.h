// Bedrock Runtime Converse / ConverseStream: request JSON -> InferenceRequest, response JSON,
// and the ConverseStream event sequence.
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/request_limits.h"
#include "plinth/api/stream_event.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api {

// Validates a Converse request body. model_id is left empty (the gateway fills in the resolved
// catalog id). kInvalidArgument with a Bedrock-like message on any problem.
Result<providers::InferenceRequest> parse_converse_request(std::string_view body,
                                                           const RequestLimits& limits);
// The same, for a body already parsed (the gateway reads requestMetadata from it too).
Result<providers::InferenceRequest> parse_converse_request(const boost::json::object& body,
                                                           const RequestLimits& limits);

// Optional `trace` section of a Converse response.
struct ResponseTrace {
  std::optional<std::string> prompt_router_invoked_model_id;  // trace.promptRouter.invokedModelId
};

// "end_turn" | "max_tokens" | "stop_sequence" | "tool_use" | "content_filtered"
std::string_view converse_stop_reason(providers::StopReason reason);

std::string converse_response_json(const providers::InferenceResponse& response,
                                   const ResponseTrace& trace = {});

// Produces the ConverseStream events in order: messageStart, contentBlockDelta..., (tool-use
// blocks), contentBlockStop, messageStop, metadata. One instance per stream; not thread-safe.
class ConverseStreamWriter {
 public:
  StreamEvent message_start();
  // A text delta of content block 0; nullopt for empty text.
  std::optional<StreamEvent> text_delta(std::string_view text);
  // Closes the stream. Text in `response` is emitted only when no delta was streamed (a
  // provider that answered without streaming); tool uses always come here.
  std::vector<StreamEvent> finish(const providers::InferenceResponse& response,
                                  const ResponseTrace& trace = {});
  // A mid-stream failure as an exception message.
  static StreamEvent exception(const Error& error);

 private:
  bool streamed_text_ = false;
};

}  // namespace plinth::api
