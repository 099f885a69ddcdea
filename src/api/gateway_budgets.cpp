// Gateway budget and metrics endpoints: GET /v1/budgets and GET /metrics.
#include "gateway_internal.h"

namespace plinth::api {

bool Gateway::authorize_plinth(Call& call, std::string_view action) {
  auto principal = authenticate(call, "plinth");
  if (!principal) return false;
  call.principal = std::move(*principal);
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  if (auth::authorize(*call.principal, action, "*", context) != auth::Decision::kAllow) {
    call.respond_error(Error(ErrorCode::kPermissionDenied,
                             "User: " + call.principal->arn + " is not authorized to perform: " +
                                 std::string(action) + " on resource: *"));
    return false;
  }
  return true;
}

void Gateway::handle_budgets(Call& call) {
  if (call.request.method != "GET") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /v1/budgets."));
    return;
  }
  if (!authorize_plinth(call, "plinth:GetBudgets")) return;
  std::vector<ledger::BudgetState> states;
  if (services_.budgets != nullptr) states = services_.budgets->snapshot();
  call.respond(200, "application/json", ledger::budgets_json(states));
}

void Gateway::handle_metrics(Call& call) {
  if (call.request.method != "GET") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /metrics."));
    return;
  }
  // Open unless configured otherwise: Prometheus scrapers do not sign SigV4, and the series
  // carry no principals, tags or request ids.
  if (options_.metrics_require_auth && !authorize_plinth(call, "plinth:GetMetrics")) return;
  if (services_.metrics == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "Metrics are not enabled."));
    return;
  }
  call.respond(200, std::string(ledger::kMetricsContentType), services_.metrics->render());
}

}  // namespace plinth::api
