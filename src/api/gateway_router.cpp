// Gateway wiring of prompt routers: running a routed inference, the caller's output checks,
// metering every attempt, and the headers and trace that say which model answered.
#include <boost/json.hpp>

#include "gateway_internal.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

inline constexpr std::string_view kChecksHeader = "x-plinth-checks";

// The caller's checks: the x-plinth-checks header (every API), else, for Converse,
// additionalModelRequestFields.plinth.checks. None: an empty set.
Result<router::OutputChecks> output_checks(const http::Request& request) {
  if (const std::string* header = request.header(kChecksHeader)) {
    return router::parse_output_checks(*header);
  }
  std::string_view path = request.path();
  if (!path.ends_with("/converse") && !path.ends_with("/converse-stream")) {
    return router::OutputChecks{};
  }
  boost::system::error_code ec;
  json::value body = json::parse(request.body, ec);  // the Converse parser already accepted it
  const json::value* checks =
      ec ? nullptr : body.find_pointer("/additionalModelRequestFields/plinth/checks", ec);
  if (checks == nullptr) return router::OutputChecks{};
  return router::parse_output_checks(json::serialize(*checks));
}

// An answer that had to follow a schema (a forced tool, outputConfig, response_format) and does
// not (providers::breaks_requested_schema): the caller gets ModelErrorException (or its OpenAI /
// Anthropic form), never the broken JSON. The tokens were spent and stay metered.
std::optional<Error> broken_guarantee(const providers::InferenceRequest& request,
                                      const providers::InferenceResponse& response) {
  if (!providers::breaks_requested_schema(request, response)) return std::nullopt;
  return Error(ErrorCode::kModelError,
               "The model " + response.model_id +
                   " returned output that does not match the requested JSON schema.");
}

}  // namespace

void Gateway::Call::meter_attempt(const catalog::ModelEntry& model,
                                  const providers::Usage& attempt) {
  if (!usage) return;
  usage->input_tokens += attempt.input_tokens;
  usage->output_tokens += attempt.output_tokens;
  usage->cache_read_input_tokens += attempt.cache_read_input_tokens;
  usage->cache_write_input_tokens += attempt.cache_write_input_tokens;
  // Summed exactly (pico-dollars) and rounded once, when the record is written.
  // Prompt-cache reads and writes at the model's cache prices.
  const catalog::TokenCounts tokens{attempt.input_tokens, attempt.output_tokens,
                                    attempt.cache_read_input_tokens,
                                    attempt.cache_write_input_tokens};
  usage_pico_usd = usage_pico_usd.value_or(0) + catalog::compute_cost(model, tokens).pico_usd;
}

void Gateway::Call::meter_answer(const catalog::ModelEntry& model,
                                 std::optional<router::EscalationReason> escalation) {
  answered_by = &model;
  response_headers = {{"x-plinth-invoked-model", model.id},
                      {"x-plinth-escalated", escalation ? "true" : "false"}};
  if (escalation) {
    response_headers.push_back(
        {"x-plinth-escalation-reason", std::string(router::to_string(*escalation))});
  }
  if (!usage) return;
  usage->model_used = model.id;
  usage->provider = std::string(model.provider_name());
  usage->escalated = escalation.has_value();
  usage->escalation_reason = escalation ? std::string(router::to_string(*escalation)) : "";
}

ResponseTrace Gateway::Call::router_trace(std::string_view region) const {
  ResponseTrace trace;
  if (router != nullptr && answered_by != nullptr) {
    trace.prompt_router_invoked_model_id = catalog::foundation_model_arn(region, answered_by->id);
  }
  return trace;
}

Result<providers::InferenceResponse> Gateway::run_inference(
    Call& call, const providers::InferenceRequest& request,
    const providers::StreamCallback& on_event,
    const std::function<void(const catalog::ModelEntry&)>& on_answer_start) {
  if (call.router == nullptr) {
    auto response = services_.provider.infer(request, on_event);
    if (!response) return response;
    // A model's `fallbacks` may have answered instead: it is the one named in the record.
    const catalog::ModelEntry* answered = call.usage_model;
    if (call.usage_model != nullptr && response->model_id != call.usage_model->id) {
      answered = services_.catalog.find(response->model_id);
      if (answered != nullptr) {
        call.meter_model(call.usage ? call.usage->model_requested : "", *answered);
      }
    }
    if (response->replaced.empty() || answered == nullptr) {
      call.meter_usage(response->usage);
    } else {
      // Answers a fallback replaced (they broke the schema) are paid for at their own prices.
      call.usage_pico_usd = 0;
      for (const providers::ReplacedAnswer& earlier : response->replaced) {
        if (const catalog::ModelEntry* model = services_.catalog.find(earlier.model_id)) {
          call.meter_attempt(*model, earlier.usage);
        }
      }
      call.meter_attempt(*answered, response->usage);
    }
    if (auto broken = broken_guarantee(request, *response)) return std::unexpected(*broken);
    return response;
  }
  auto checks = output_checks(call.request);
  if (!checks) return std::unexpected(checks.error());
  router::RouteCallbacks callbacks;
  callbacks.on_event = on_event;
  callbacks.keep_going = [&] {
    return !call.exchange.client_gone() && (request.cancel == nullptr || !request.cancel->load());
  };
  callbacks.on_answer_start = [&](const catalog::ModelEntry& model,
                                  std::optional<router::EscalationReason> reason) {
    call.meter_answer(model, reason);
    if (on_answer_start) on_answer_start(model);
  };
  router::RoutedResponse routed =
      call.router->infer(services_.provider, request, *checks, callbacks);
  // Every attempt is paid for, the failed small one included.
  call.usage_pico_usd = 0;
  for (const router::Attempt& attempt : routed.attempts) {
    call.meter_attempt(*attempt.model, attempt.usage);
  }
  if (call.usage && routed.escalated) {
    call.usage->escalated = true;
    call.usage->escalation_reason = std::string(router::to_string(*routed.reason));
  }
  if (routed.response) {
    if (auto broken = broken_guarantee(request, *routed.response)) {
      return std::unexpected(*broken);
    }
  }
  return std::move(routed.response);
}

}  // namespace plinth::api
