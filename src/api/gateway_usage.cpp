// Gateway ledger wiring: metering each model call, recording it, and GET /v1/usage.
#include "gateway_internal.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

// The caller's application: the x-plinth-application-tag header, else the id of the
// application inference profile named as modelId, else empty.
std::string application_tag(const http::Request& request, std::string_view model_requested) {
  if (const std::string* tag = request.header(ledger::kApplicationTagHeader)) return *tag;
  auto reference = catalog::parse_model_reference(model_requested);
  if (reference &&
      reference->form == catalog::ModelReference::Form::kApplicationInferenceProfileArn) {
    return reference->id;
  }
  return "";
}

struct UsageParameters {
  std::string group_by = "model";
  std::optional<std::string> from;
  std::optional<std::string> to;
};

Result<UsageParameters> parse_usage_parameters(std::string_view query) {
  UsageParameters parameters;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = pair.find('=');
    std::string_view name = pair.substr(0, eq);
    auto value = uri_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!value) return fail(ErrorCode::kInvalidArgument, "Malformed query string.");
    if (name == "group_by") parameters.group_by = std::move(*value);
    if (name == "from") parameters.from = std::move(*value);
    if (name == "to") parameters.to = std::move(*value);
  }
  return parameters;
}

Result<ledger::UsageQuery> usage_query(std::string_view raw_query) {
  auto parameters = parse_usage_parameters(raw_query);
  if (!parameters) return std::unexpected(parameters.error());
  ledger::UsageQuery query;
  auto group_by = ledger::parse_group_by(parameters->group_by);
  if (!group_by) return std::unexpected(group_by.error());
  query.group_by = *group_by;
  if (parameters->from) {
    auto from = ledger::parse_time_bound(*parameters->from);
    if (!from) return std::unexpected(from.error());
    query.from_ms = *from;
  }
  if (parameters->to) {
    auto to = ledger::parse_time_bound(*parameters->to);
    if (!to) return std::unexpected(to.error());
    query.to_ms = *to;
  }
  return query;
}

}  // namespace

void Gateway::Call::meter(std::string_view operation, std::string model_requested) {
  usage.emplace();
  usage->operation = std::string(operation);
  usage->model_requested = std::move(model_requested);
}

void Gateway::Call::meter_model(std::string_view model_requested,
                                const catalog::ModelEntry& model) {
  if (!usage) return;
  usage->model_requested = std::string(model_requested);
  usage->model_used = model.id;
  usage_model = &model;
}

void Gateway::Call::meter_tokens(int64_t input_tokens, int64_t output_tokens) {
  if (!usage) return;
  usage->input_tokens = input_tokens;
  usage->output_tokens = output_tokens;
}

void Gateway::Call::meter_stream_error(const Error& error) {
  if (usage) usage->status = std::string(to_string(error.code));
}

void Gateway::record_usage(Call& call) {
  if (!call.usage) return;
  if (!call.principal) {  // refused before authentication: a metric, not a ledger record
    if (services_.metrics == nullptr) return;
    ledger::UsageRecord refused = *call.usage;
    refused.status = std::to_string(call.http_status);
    refused.latency_ms = elapsed_ms(call.started, services_.clock.steady_now());
    services_.metrics->observe(refused);
    return;
  }
  ledger::UsageRecord record = *call.usage;
  record.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       services_.clock.now().time_since_epoch())
                       .count();
  record.account_id =
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id;
  record.principal_arn = call.principal->arn;
  record.role_session = call.principal->session_name;
  record.application_tag = application_tag(call.request, record.model_requested);
  record.latency_ms = elapsed_ms(call.started, services_.clock.steady_now());
  if (call.usage_pico_usd) {
    record.cost_micro_usd = catalog::Cost{*call.usage_pico_usd}.micro_usd();
  } else if (call.usage_model != nullptr) {
    record.cost_micro_usd =
        catalog::compute_cost(*call.usage_model, record.input_tokens, record.output_tokens)
            .micro_usd();
  }
  // A stream that started answered 200 even though respond() was never called.
  if (record.status.empty())
    record.status = std::to_string(call.http_status ? call.http_status : 200);
  record.request_id = call.request_id;
  call.budget_hold.settle(record.cost_micro_usd);
  if (services_.metrics != nullptr) services_.metrics->observe(record);
  if (services_.ledger != nullptr) services_.ledger->record(std::move(record));
}

bool Gateway::reserve_budget(Call& call, int64_t input_tokens, int64_t max_output_tokens) {
  if (services_.budgets == nullptr || services_.budgets->empty() || !call.principal ||
      call.usage_model == nullptr || !call.usage) {
    return true;
  }
  ledger::BudgetSubject subject{
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id,
      call.principal->arn, application_tag(call.request, call.usage->model_requested)};
  // Rounded up: an estimate never falls short of the cost record_usage() will book.
  catalog::Cost cost = catalog::compute_cost(*call.usage_model, input_tokens, max_output_tokens);
  if (call.router != nullptr) {
    // A routed call may pay for the small attempt and then the large one: reserve both.
    const catalog::ModelEntry& small = call.router->small_model();
    const catalog::ModelEntry& large = call.router->large_model();
    cost.pico_usd = catalog::compute_cost(small, input_tokens, max_output_tokens).pico_usd +
                    catalog::compute_cost(large, input_tokens, max_output_tokens).pico_usd;
  }
  int64_t estimate = (cost.pico_usd + 999'999) / 1'000'000;
  auto hold = services_.budgets->reserve(subject, estimate);
  if (!hold) {
    call.respond_error(hold.error());
    return false;
  }
  call.budget_hold = std::move(*hold);
  return true;
}

int64_t estimated_input_tokens(const providers::InferenceRequest& request) {
  constexpr int64_t kPerMessage = 8;  // role markers and separators of a chat template
  int64_t bytes = 16;
  for (const std::string& text : request.system) bytes += static_cast<int64_t>(text.size());
  for (const providers::Message& message : request.messages) {
    bytes += kPerMessage;
    for (const providers::ContentBlock& block : message.content) {
      bytes += static_cast<int64_t>(block.text.size() + block.tool_name.size() +
                                    block.tool_input_json.size() + block.tool_use_id.size());
    }
  }
  for (const providers::ToolSpec& tool : request.tools) {
    bytes += kPerMessage + static_cast<int64_t>(tool.name.size() + tool.description.size() +
                                                tool.input_schema_json.size());
  }
  if (request.output_schema_json) bytes += static_cast<int64_t>(request.output_schema_json->size());
  return bytes;
}

void Gateway::handle_usage(Call& call) {
  if (call.request.method != "GET") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /v1/usage."));
    return;
  }
  auto principal = authenticate(call, "plinth");
  if (!principal) return;
  call.principal = std::move(*principal);
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  if (auth::authorize(*call.principal, "plinth:GetUsage", "*", context) != auth::Decision::kAllow) {
    call.respond_error(Error(ErrorCode::kPermissionDenied,
                             "User: " + call.principal->arn +
                                 " is not authorized to perform: plinth:GetUsage on resource: *"));
    return;
  }
  if (services_.ledger == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "The usage ledger is not enabled."));
    return;
  }
  auto query = usage_query(call.request.query());
  if (!query) {
    call.respond_error(query.error());
    return;
  }
  auto report = services_.ledger->query(*query);
  if (!report) {
    call.respond_error(report.error());
    return;
  }
  call.respond(200, "application/json", ledger::usage_report_json(*report));
}

}  // namespace plinth::api
