// Bedrock inbound -> a bedrock upstream without translation: the caller's body is forwarded under
// the upstream model's name and re-signed with the gateway's own AWS credentials; event streams
// are relayed byte for byte while the usage is read from them for the ledger.
#pragma once

#include <atomic>
#include <optional>
#include <string>
#include <string_view>

#include "plinth/core/result.h"
#include "plinth/http/client.h"
#include "plinth/http/message.h"
#include "plinth/providers/provider.h"

namespace plinth::upstream {

struct ForwardedCall {
  // The upstream's 2xx answer: status and headers (content-type, x-amzn-*), and for a
  // non-streamed answer its body; a streamed body went to the sink instead.
  http::Response response;
  // The upstream's own token counts (Converse usage, stream metadata, InvokeModel headers or
  // invocation metrics); nullopt when it sent none.
  std::optional<providers::Usage> usage;
};

class BedrockPassthrough {
 public:
  virtual ~BedrockPassthrough() = default;
  // `operation`: converse, converse-stream, invoke or invoke-with-response-stream; `body`: the
  // caller's request body as received; `content_type` / `accept`: the caller's (InvokeModel).
  // With a sink, a 2xx answer's bytes go to it as they arrive (never retried after the first).
  // A non-2xx answer is an Error keeping the Bedrock error type (ThrottlingException ->
  // kThrottled, ValidationException -> kInvalidArgument, …) and the upstream's message.
  virtual Result<ForwardedCall> forward(std::string_view upstream_model, std::string_view operation,
                                        std::string body, std::string_view content_type,
                                        std::string_view accept, const http::BodySink& sink,
                                        const std::atomic<bool>* cancel) = 0;
};

}  // namespace plinth::upstream
