// Gateway handler for the Anthropic Messages API (POST /v1/messages): authenticated with a Plinth
// credential as x-api-key or a Bearer token, authorized, budgeted, routed and metered exactly as
// /v1/chat/completions is.
#include "gateway_internal.h"
#include "plinth/api/anthropic_messages.h"
#include "plinth/core/ids.h"
#include "plinth/http/sse.h"

namespace plinth::api {
namespace {

bool write_events(LazyStream& out, const std::vector<http::SseEvent>& events) {
  for (const http::SseEvent& event : events) {
    if (!out.write(http::format_sse(event))) return false;
  }
  return true;
}

}  // namespace

void Gateway::handle_anthropic_messages(Call& call) {
  call.meter("Messages", "");
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  auto slot = acquire_slot(*call.principal);
  if (!slot) {
    call.respond_error(slot.error());
    return;
  }
  auto request = parse_anthropic_messages_request(call.request.body, options_.limits);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  if (call.usage && request->metadata_user_id) {
    // The caller's end user, to group usage by; the model never sees it.
    call.usage->request_metadata = {{"user_id", *request->metadata_user_id}};
  }
  providers::InferenceRequest& inference = request->inference;
  if (admit_text_inference(call, request->model, request->stream, inference) == nullptr) return;
  std::string id = new_base32_id(services_.random, "msg_", 24);
  if (!request->stream) {
    auto response = infer_until_client_gone(call, inference);
    if (!response) {
      call.respond_error(response.error());
      return;
    }
    // A router answers with the model that answered; a model with the name the caller used.
    call.respond(200, "application/json",
                 anthropic_message_json(*response, id,
                                        call.answered_by ? call.answered_by->id : request->model));
    return;
  }
  std::atomic<bool> cancel{false};
  inference.cancel = &cancel;
  inference.streamed_to_caller = true;
  LazyStream out(call.exchange, "text/event-stream", call.request_id, &call.response_headers);
  AnthropicStreamWriter writer(id, request->model);
  bool started = false;
  auto send = [&](const std::vector<http::SseEvent>& events) {
    if (!started) {
      started = true;
      if (!write_events(out, writer.start())) cancel = true;
    }
    if (!cancel && !write_events(out, events)) cancel = true;
  };
  auto response = run_inference(
      call, inference,
      [&](const providers::StreamEvent& piece) {
        if (call.exchange.client_gone()) cancel = true;
        if (cancel) return false;
        send(writer.delta(piece));
        return !cancel.load();
      },
      [&](const catalog::ModelEntry& answering) {
        writer = AnthropicStreamWriter(id, answering.id);
      });
  if (!response) {
    if (!out.started()) {
      call.respond_error(response.error());
    } else {
      call.meter_stream_error(response.error());
      out.write(http::format_sse(AnthropicStreamWriter::error(response.error())));
      out.finish();
    }
    return;
  }
  send(writer.finish(*response));
  if (!cancel) out.finish();
}

}  // namespace plinth::api
