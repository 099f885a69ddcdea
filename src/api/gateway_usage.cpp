// Gateway ledger wiring: metering each model call, recording it, and GET /v1/usage (the grouped
// report), /v1/usage/series (a time series) and /v1/usage/recent (the newest calls).
#include <charconv>
#include <map>

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

using Parameters = std::map<std::string, std::string, std::less<>>;

// The query string's parameters by name (the last of a repeated name wins).
Result<Parameters> parse_parameters(std::string_view query) {
  auto pairs = parse_form_urlencoded(query);
  if (!pairs) return fail(ErrorCode::kInvalidArgument, "Malformed query string.");
  Parameters parameters;
  for (auto& [name, value] : *pairs) parameters[name] = std::move(value);
  return parameters;
}

// Reads the optional time bound `name` into `out`.
Status read_time_bound(const Parameters& parameters, std::string_view name, int64_t& out) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return ok();
  auto bound = ledger::parse_time_bound(it->second);
  if (!bound) return std::unexpected(bound.error());
  out = *bound;
  return ok();
}

Result<ledger::UsageQuery> usage_query(const Parameters& parameters) {
  ledger::UsageQuery query;
  auto group_by = parameters.find("group_by");
  auto parsed = ledger::parse_grouping(group_by == parameters.end() ? "model" : group_by->second);
  if (!parsed) return std::unexpected(parsed.error());
  query.group_by = parsed->by;
  query.label_key = std::move(parsed->label_key);
  if (auto read = read_time_bound(parameters, "from", query.from_ms); !read) {
    return std::unexpected(read.error());
  }
  if (auto read = read_time_bound(parameters, "to", query.to_ms); !read) {
    return std::unexpected(read.error());
  }
  return query;
}

// Buckets a series shows when the caller gives no `from`: a day of hours, a month of days.
constexpr int64_t kDefaultHourBuckets = 24;
constexpr int64_t kDefaultDayBuckets = 30;

// bucket=hour|day (hour), by=model|tag|principal|operation (model), to (now), from (to minus
// the default number of buckets).
Result<ledger::SeriesQuery> series_query(const Parameters& parameters, int64_t now_ms) {
  ledger::SeriesQuery query;
  auto bucket = parameters.find("bucket");
  auto parsed_bucket =
      ledger::parse_series_bucket(bucket == parameters.end() ? "hour" : bucket->second);
  if (!parsed_bucket) return std::unexpected(parsed_bucket.error());
  query.bucket = *parsed_bucket;
  auto by = parameters.find("by");
  auto parsed_by = ledger::parse_group_by(by == parameters.end() ? "model" : by->second);
  if (!parsed_by) return std::unexpected(parsed_by.error());
  query.by = *parsed_by;
  query.to_ms = now_ms + 1;  // the current millisecond's calls too
  if (auto read = read_time_bound(parameters, "to", query.to_ms); !read) {
    return std::unexpected(read.error());
  }
  int64_t width = ledger::bucket_ms(query.bucket);
  int64_t count =
      query.bucket == ledger::SeriesBucket::kHour ? kDefaultHourBuckets : kDefaultDayBuckets;
  query.from_ms = std::max<int64_t>(0, (query.to_ms - 1) / width * width - (count - 1) * width);
  if (auto read = read_time_bound(parameters, "from", query.from_ms); !read) {
    return std::unexpected(read.error());
  }
  return query;
}

// limit=N: 1..kMaxRecentCalls, default kDefaultRecentCalls.
constexpr int kDefaultRecentCalls = 50;
constexpr int kMaxRecentCalls = 1000;

Result<int> recent_limit(const Parameters& parameters) {
  auto it = parameters.find("limit");
  if (it == parameters.end()) return kDefaultRecentCalls;
  int limit = 0;
  auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), limit);
  if (ec != std::errc() || end != it->second.data() + it->second.size() || limit < 1 ||
      limit > kMaxRecentCalls) {
    return fail(ErrorCode::kInvalidArgument,
                "limit must be an integer from 1 to " + std::to_string(kMaxRecentCalls) + ".");
  }
  return limit;
}

// The JSON answer for one of the GET /v1/usage paths.
Result<std::string> usage_body(std::string_view path, const Parameters& parameters,
                               ledger::Ledger& ledger, int64_t now_ms) {
  if (path == "/v1/usage") {
    auto query = usage_query(parameters);
    if (!query) return std::unexpected(query.error());
    auto report = ledger.query(*query);
    if (!report) return std::unexpected(report.error());
    return ledger::usage_report_json(*report);
  }
  if (path == "/v1/usage/series") {
    auto query = series_query(parameters, now_ms);
    if (!query) return std::unexpected(query.error());
    auto series = ledger.series(*query);
    if (!series) return std::unexpected(series.error());
    return ledger::usage_series_json(*series);
  }
  if (path == "/v1/usage/recent") {
    auto limit = recent_limit(parameters);
    if (!limit) return std::unexpected(limit.error());
    auto calls = ledger.recent(*limit);
    if (!calls) return std::unexpected(calls.error());
    return ledger::usage_calls_json(*calls);
  }
  return fail(ErrorCode::kNotFound, "No route for GET " + std::string(path));
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
  usage->provider = std::string(model.provider_name());
  usage_model = &model;
}

void Gateway::Call::meter_tokens(int64_t input_tokens, int64_t output_tokens) {
  if (!usage) return;
  usage->input_tokens = input_tokens;
  usage->output_tokens = output_tokens;
}

void Gateway::Call::meter_usage(const providers::Usage& inference_usage) {
  if (!usage) return;
  usage->input_tokens = inference_usage.input_tokens;
  usage->output_tokens = inference_usage.output_tokens;
  usage->cache_read_input_tokens = inference_usage.cache_read_input_tokens;
  usage->cache_write_input_tokens = inference_usage.cache_write_input_tokens;
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
        catalog::compute_cost(*call.usage_model,
                              {record.input_tokens, record.output_tokens,
                               record.cache_read_input_tokens, record.cache_write_input_tokens})
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
  if (auto held = hold_budget(call, input_tokens, max_output_tokens); !held) {
    call.respond_error(held.error());
    return false;
  }
  return true;
}

Status Gateway::hold_budget(Call& call, int64_t input_tokens, int64_t max_output_tokens) {
  if (services_.budgets == nullptr || services_.budgets->empty() || !call.principal ||
      call.usage_model == nullptr || !call.usage) {
    return ok();
  }
  ledger::BudgetSubject subject{
      call.principal->account_id.empty() ? options_.account_id : call.principal->account_id,
      call.principal->arn, application_tag(call.request, call.usage->model_requested),
      call.usage->profile_tags};
  // Rounded up: an estimate never falls short of the cost record_usage() will book, even when
  // every input token is a prompt-cache write priced above input.
  auto most = [&](const catalog::ModelEntry& model) {
    const bool write_costs_more =
        model.price_cache_write_per_mtok.value_or(0) > model.price_input_per_mtok;
    return catalog::compute_cost(
               model, {input_tokens, max_output_tokens, 0, write_costs_more ? input_tokens : 0})
        .pico_usd;
  };
  catalog::Cost cost{most(*call.usage_model)};
  if (call.router != nullptr) {
    // A routed call may pay for the small attempt and then the large one: reserve both.
    cost.pico_usd = most(call.router->small_model()) + most(call.router->large_model());
  }
  int64_t estimate = (cost.pico_usd + 999'999) / 1'000'000;
  auto hold = services_.budgets->reserve(subject, estimate);
  if (!hold) return std::unexpected(hold.error());
  call.budget_hold = std::move(*hold);
  return ok();
}

void Gateway::handle_usage(Call& call) {
  if (call.request.method != "GET") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation,
                                    "Use GET for " + std::string(call.request.path()) + "."));
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
  auto parameters = parse_parameters(call.request.query());
  if (!parameters) {
    call.respond_error(parameters.error());
    return;
  }
  int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       services_.clock.now().time_since_epoch())
                       .count();
  auto body = usage_body(call.request.path(), *parameters, *services_.ledger, now_ms);
  if (!body) {
    call.respond_error(body.error());
    return;
  }
  call.respond(200, "application/json", std::move(*body));
}

}  // namespace plinth::api
