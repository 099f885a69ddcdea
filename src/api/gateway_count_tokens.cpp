// Gateway handler for Bedrock Runtime CountTokens: the body inside is read by the Converse or
// InvokeModel parser and counted on the prompt the provider would run, so the answer equals the
// usage.inputTokens of the same call. Nothing is billed, budgeted or written to the ledger.
#include "gateway_internal.h"
#include "plinth/api/bedrock_count_tokens.h"
#include "plinth/api/bedrock_invoke.h"

namespace plinth::api {

void Gateway::count_tokens(Call& call, const catalog::ModelEntry& model) {
  if (model.kind != catalog::ModelKind::kText) {
    call.respond_error(Error(ErrorCode::kInvalidArgument,
                             "The provided model " + model.id +
                                 " is an embedding model and doesn't support counting tokens."));
    return;
  }
  auto input = parse_count_tokens_request(call.request.body);
  if (!input) {
    call.respond_error(input.error());
    return;
  }
  providers::InferenceRequest request;
  if (input->kind == CountTokensInput::Kind::kConverse) {
    auto converse = parse_converse_request(input->converse, options_.limits);
    if (!converse) {
      call.respond_error(converse.error());
      return;
    }
    request = std::move(*converse);
  } else {
    auto invoke = parse_invoke_request(input->body, model, options_.limits);
    if (!invoke) {
      call.respond_error(invoke.error());
      return;
    }
    request = std::move(invoke->inference);
  }
  request.model_id = model.id;
  auto tokens = services_.provider.count_tokens(request);
  if (!tokens) {
    call.respond_error(tokens.error());
    return;
  }
  call.respond(200, "application/json", count_tokens_response_json(*tokens));
}

}  // namespace plinth::api
