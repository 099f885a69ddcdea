// Bedrock inbound calls to a model of a bedrock upstream: the caller's body forwarded unchanged
// under the upstream model's name and re-signed with the gateway's credentials, the answer
// relayed (event streams byte for byte), the ledger metered from the upstream's own counts.
#include "gateway_internal.h"
#include "plinth/upstream/bedrock_passthrough.h"

namespace plinth::api {

bool Gateway::forward_to_bedrock(Call& call, const catalog::ModelEntry& model,
                                 std::string_view operation) {
  // Routed calls, and models with fallbacks, take the translated path: the router validates and
  // escalates, the catalog provider falls back; a forwarded body could do neither.
  if (model.provider.empty() || call.router != nullptr || !model.fallbacks.empty() ||
      !services_.bedrock_passthrough) {
    return false;
  }
  upstream::BedrockPassthrough* passthrough = services_.bedrock_passthrough(model.provider);
  if (passthrough == nullptr) return false;

  const std::string& upstream_model =
      model.upstream_model.empty() ? model.id : model.upstream_model;
  const std::string* content_type = call.request.header("content-type");
  const std::string* accept = call.request.header("accept");
  const bool stream = operation.ends_with("stream");
  std::atomic<bool> cancel{false};
  LazyStream out(call.exchange, std::string(kEventStreamType), call.request_id,
                 &call.response_headers);
  http::BodySink sink;
  if (stream) {
    sink = [&](std::string_view bytes) {
      if (call.exchange.client_gone() || !out.write(bytes)) cancel = true;
      return !cancel.load();
    };
  }
  auto forwarded =
      passthrough->forward(upstream_model, operation, call.request.body,
                           content_type ? *content_type : "", accept ? *accept : "", sink, &cancel);
  if (!forwarded) {
    if (!out.started()) {
      call.respond_error(forwarded.error());
    } else {
      call.meter_stream_error(forwarded.error());
      out.finish();
    }
    return true;
  }
  if (forwarded->usage) call.meter_usage(*forwarded->usage);  // cache counts included
  if (stream) {
    out.finish();
    return true;
  }
  for (const auto& header : forwarded->response.headers) {
    if (header.name.starts_with("x-amzn-bedrock-")) call.response_headers.push_back(header);
  }
  const std::string* answer_type = forwarded->response.header("content-type");
  call.respond(200, answer_type ? *answer_type : "application/json",
               std::move(forwarded->response.body));
  return true;
}

}  // namespace plinth::api
