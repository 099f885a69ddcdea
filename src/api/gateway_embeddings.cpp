// Gateway handlers for embedding bodies sent through InvokeModel (Titan Text Embeddings V2 and
// Cohere Embed v3), and the per-text embedding loop they share with /v1/embeddings.
#include "gateway_internal.h"
#include "plinth/api/bedrock_embeddings.h"
#include "plinth/core/ids.h"

namespace plinth::api {

Result<std::vector<providers::EmbeddingResponse>> Gateway::embed_texts(
    Call& call, const providers::EmbeddingRequest& base, const std::vector<std::string>& texts) {
  std::vector<providers::EmbeddingResponse> results;
  results.reserve(texts.size());
  for (const std::string& text : texts) {
    if (call.exchange.client_gone()) return fail(ErrorCode::kCancelled, "the client has gone");
    providers::EmbeddingRequest one = base;
    one.text = text;
    auto embedding = services_.provider.embed(one);
    if (!embedding) return std::unexpected(embedding.error());
    results.push_back(std::move(*embedding));
  }
  return results;
}

void Gateway::invoke_embedding(Call& call, const catalog::ModelEntry& model, bool stream,
                               const EmbeddingInvocation& invocation, bool titan) {
  if (stream) {
    call.respond_error(
        Error(ErrorCode::kInvalidArgument,
              "The model " + model.id + " does not support InvokeModelWithResponseStream."));
    return;
  }
  if (!reserve_budget(call, embedding_budget_tokens(invocation.texts), 0)) return;
  auto results = embed_texts(call, invocation.request, invocation.texts);
  if (!results) {
    if (results.error().code != ErrorCode::kCancelled) call.respond_error(results.error());
    return;
  }
  int64_t input_tokens = 0;
  for (const providers::EmbeddingResponse& result : *results) input_tokens += result.input_tokens;
  call.meter_tokens(input_tokens, 0);
  call.respond(
      200, "application/json",
      titan ? titan_embedding_response_json(invocation, results->front())
            : cohere_embedding_response_json(invocation, *results, new_uuid(services_.random)));
}

}  // namespace plinth::api
