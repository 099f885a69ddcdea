// Gateway handlers for Bedrock Runtime Converse, ConverseStream, InvokeModel and
// InvokeModelWithResponseStream.
#include "gateway_internal.h"
#include "inference_profile_request.h"
#include "json_input.h"
#include "plinth/api/bedrock_converse.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/core/ids.h"
#include "plinth/http/event_stream.h"
#include "plinth/providers/request_estimate.h"

namespace plinth::api {
namespace {

std::string frame(const StreamEvent& event) {
  return event.kind == StreamEvent::Kind::kEvent
             ? http::encode_event(event.type, event.payload_json)
             : http::encode_exception(event.type, event.payload_json);
}

bool write_events(LazyStream& stream, const std::vector<StreamEvent>& events) {
  for (const StreamEvent& event : events) {
    if (!stream.write(frame(event))) return false;
  }
  return true;
}

Status require_text_model(const catalog::ModelEntry& model, std::string_view operation) {
  if (model.kind == catalog::ModelKind::kText) return ok();
  return fail(ErrorCode::kInvalidArgument, "The model " + model.id +
                                               " is an embedding model and does not support " +
                                               std::string(operation) + ".");
}

}  // namespace

void Gateway::converse(Call& call, const catalog::ModelEntry& model, bool stream) {
  if (auto status = require_text_model(model, stream ? "ConverseStream" : "Converse"); !status) {
    call.respond_error(status.error());
    return;
  }
  auto body = json_input::parse_object_body(call.request.body);
  if (!body) {
    call.respond_error(body.error());
    return;
  }
  auto request = parse_converse_request(*body, options_.limits);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  request->model_id = model.id;
  // requestMetadata is the caller's to group usage by; the model never sees it.
  auto metadata = parse_request_metadata(*body);
  if (!metadata) {
    call.respond_error(metadata.error());
    return;
  }
  if (call.usage) call.usage->request_metadata = std::move(*metadata);
  if (!reserve_budget(call, providers::estimated_input_tokens(*request), request->max_tokens))
    return;
  // A bedrock upstream gets the body as it came, unless outputConfig asks for the schema
  // guarantee (translated, then validated as for a local model).
  if (!body->contains("outputConfig") &&
      forward_to_bedrock(call, model, stream ? "converse-stream" : "converse")) {
    return;
  }
  if (!stream) {
    auto response = infer_until_client_gone(call, *request);
    if (!response) {
      call.respond_error(response.error());
      return;
    }
    call.respond(200, "application/json",
                 converse_response_json(*response, call.router_trace(options_.region)));
    return;
  }
  std::atomic<bool> cancel{false};
  request->cancel = &cancel;
  request->streamed_to_caller = true;
  LazyStream out(call.exchange, std::string(kEventStreamType), call.request_id,
                 &call.response_headers);
  ConverseStreamWriter writer;
  bool started = false;
  auto response = run_inference(call, *request, [&](const providers::StreamEvent& piece) {
    if (call.exchange.client_gone()) cancel = true;
    if (cancel) return false;
    if (!started) {
      started = true;
      if (!out.write(frame(writer.message_start()))) cancel = true;
    }
    if (!cancel && !write_events(out, writer.delta(piece))) cancel = true;
    return !cancel.load();
  });
  if (!response) {
    if (!out.started()) {
      call.respond_error(response.error());
    } else {
      call.meter_stream_error(response.error());
      out.write(frame(ConverseStreamWriter::exception(response.error())));
      out.finish();
    }
    return;
  }
  if (!started && !out.write(frame(writer.message_start()))) return;
  write_events(out, writer.finish(*response, call.router_trace(options_.region)));
  out.finish();
}

void Gateway::invoke(Call& call, const catalog::ModelEntry& model, bool stream) {
  auto request = parse_invoke_request(call.request.body, model, options_.limits);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  if (is_embedding_format(request->format)) {
    invoke_embedding(call, model, stream, request->embedding,
                     request->format == InvokeBodyFormat::kTitanEmbedding);
    return;
  }
  if (!reserve_budget(call, providers::estimated_input_tokens(request->inference),
                      request->inference.max_tokens)) {
    return;
  }
  if (forward_to_bedrock(call, model, stream ? "invoke-with-response-stream" : "invoke")) return;
  std::string message_id = new_base32_id(services_.random, "msg_bdrk_", 24);
  if (!stream) {
    auto response = infer_until_client_gone(call, request->inference);
    if (!response) {
      call.respond_error(response.error());
      return;
    }
    call.respond(200, "application/json",
                 invoke_response_json(request->format, *response, message_id));
    return;
  }
  std::atomic<bool> cancel{false};
  request->inference.cancel = &cancel;
  request->inference.streamed_to_caller = true;
  LazyStream out(call.exchange, std::string(kEventStreamType), call.request_id,
                 &call.response_headers);
  InvokeStreamWriter writer(request->format, message_id, model.id);
  bool started = false;
  int64_t first_byte_ms = 0;
  auto begin = [&] {
    started = true;
    first_byte_ms = elapsed_ms(call.started, services_.clock.steady_now());
    return write_events(out, writer.start());
  };
  auto response = run_inference(
      call, request->inference,
      [&](const providers::StreamEvent& piece) {
        if (call.exchange.client_gone()) cancel = true;
        if (cancel) return false;
        if (!started && !begin()) cancel = true;
        if (!cancel && !write_events(out, writer.delta(piece))) cancel = true;
        return !cancel.load();
      },
      [&](const catalog::ModelEntry& answering) {
        writer = InvokeStreamWriter(request->format, message_id, answering.id);
      });
  if (!response) {
    if (!out.started()) {
      call.respond_error(response.error());
    } else {
      call.meter_stream_error(response.error());
      out.write(frame(InvokeStreamWriter::exception(response.error())));
      out.finish();
    }
    return;
  }
  if (!started && !begin()) return;
  write_events(out, writer.finish(*response, first_byte_ms));
  out.finish();
}

}  // namespace plinth::api
