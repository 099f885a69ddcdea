// Gateway handlers for the OpenAI-compatible /v1/chat/completions and /v1/embeddings.
#include "gateway_internal.h"
#include "plinth/api/openai.h"
#include "plinth/core/ids.h"
#include "plinth/http/sse.h"
#include "plinth/providers/request_estimate.h"

namespace plinth::api {

void Gateway::chat_completions(Call& call) {
  auto request = parse_chat_completion_request(call.request.body, options_.limits);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  providers::InferenceRequest& inference = request->inference;
  if (admit_text_inference(call, request->model, request->stream, inference) == nullptr) return;
  std::string id = new_base32_id(services_.random, "chatcmpl-", 24);
  int64_t created = services_.clock.unix_seconds();
  if (!request->stream) {
    auto response = infer_until_client_gone(call, inference);
    if (!response) {
      call.respond_error(response.error());
      return;
    }
    // A router answers with the model that answered; a model with the name the caller used.
    call.respond(
        200, "application/json",
        chat_completion_response_json(
            *response, id, call.answered_by ? call.answered_by->id : request->model, created));
    return;
  }
  std::atomic<bool> cancel{false};
  inference.cancel = &cancel;
  inference.streamed_to_caller = true;
  LazyStream out(call.exchange, "text/event-stream", call.request_id, &call.response_headers);
  ChatCompletionStreamWriter writer(id, request->model, created);
  bool started = false;
  auto response = run_inference(
      call, inference,
      [&](const providers::StreamEvent& piece) {
        if (call.exchange.client_gone()) cancel = true;
        if (cancel) return false;
        if (!started) {
          started = true;
          if (!out.write(http::format_sse_data(writer.start()))) cancel = true;
        }
        if (auto chunk = writer.delta(piece);
            chunk && !cancel && !out.write(http::format_sse_data(*chunk))) {
          cancel = true;
        }
        return !cancel.load();
      },
      [&](const catalog::ModelEntry& answering) {
        writer = ChatCompletionStreamWriter(id, answering.id, created);
      });
  if (!response) {
    if (!out.started()) {
      call.respond_error(response.error());
    } else {
      call.meter_stream_error(response.error());
      for (const std::string& line : ChatCompletionStreamWriter::error(response.error())) {
        out.write(http::format_sse_data(line));
      }
      out.finish();
    }
    return;
  }
  if (!started && !out.write(http::format_sse_data(writer.start()))) return;
  for (const std::string& line : writer.finish(*response, request->include_usage)) {
    if (!out.write(http::format_sse_data(line))) return;
  }
  out.finish();
}

const catalog::ModelEntry* Gateway::admit_text_inference(Call& call,
                                                         const std::string& requested_model,
                                                         bool stream,
                                                         providers::InferenceRequest& inference) {
  const catalog::ModelEntry* model = resolve_model(call, requested_model);
  if (model == nullptr) return nullptr;
  if (model->kind != catalog::ModelKind::kText) {
    call.respond_error(Error(
        ErrorCode::kInvalidArgument,
        "The model " + requested_model + " is an embedding model; it cannot answer messages."));
    return nullptr;
  }
  std::string_view action =
      stream ? "bedrock:InvokeModelWithResponseStream" : "bedrock:InvokeModel";
  if (auto allowed = authorize_model(call, action, requested_model, *model); !allowed) {
    call.respond_error(allowed.error());
    return nullptr;
  }
  inference.model_id = model->id;
  if (!reserve_budget(call, providers::estimated_input_tokens(inference), inference.max_tokens))
    return nullptr;
  return model;
}

void Gateway::embeddings(Call& call) {
  auto request = parse_embeddings_request(call.request.body, options_.limits);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  const catalog::ModelEntry* model = resolve_model(call, request->model);
  if (model == nullptr) return;
  if (model->kind != catalog::ModelKind::kEmbedding) {
    call.respond_error(Error(ErrorCode::kInvalidArgument,
                             "The model " + request->model +
                                 " is a text model; use an embedding model for /v1/embeddings."));
    return;
  }
  if (auto allowed = authorize_model(call, "bedrock:InvokeModel", request->model, *model);
      !allowed) {
    call.respond_error(allowed.error());
    return;
  }
  if (!reserve_budget(call, embedding_budget_tokens(request->inputs), 0)) return;
  providers::EmbeddingRequest base;
  base.model_id = model->id;
  base.dimensions = request->dimensions;
  base.normalize = true;
  auto results = embed_texts(call, base, request->inputs);
  if (!results) {
    if (results.error().code != ErrorCode::kCancelled) call.respond_error(results.error());
    return;
  }
  int64_t input_tokens = 0;
  for (const providers::EmbeddingResponse& result : *results) input_tokens += result.input_tokens;
  call.meter_tokens(input_tokens, 0);
  call.respond(200, "application/json",
               embeddings_response_json(*results, request->model, request->base64));
}

}  // namespace plinth::api
