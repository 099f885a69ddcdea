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

// Produces the ConverseStream events in order: messageStart, then per content block
// (contentBlockStart for a tool use), contentBlockDelta..., contentBlockStop; then messageStop and
// metadata. One instance per stream; not thread-safe.
class ConverseStreamWriter {
 public:
  StreamEvent message_start();
  // The events for one streamed piece of the answer (none for an empty one).
  std::vector<StreamEvent> delta(const providers::StreamEvent& piece);
  // Closes the stream. The response's content is emitted here only when nothing was streamed
  // (a provider that answered without streaming).
  std::vector<StreamEvent> finish(const providers::InferenceResponse& response,
                                  const ResponseTrace& trace = {});
  // A mid-stream failure as an exception message.
  static StreamEvent exception(const Error& error);

 private:
  enum class Block { kNone, kText, kToolUse };
  std::vector<StreamEvent> close_block();

  Block open_ = Block::kNone;
  int64_t index_ = 0;  // the open block's index, or the next block's when none is open
  bool streamed_ = false;
};

}  // namespace plinth::api
