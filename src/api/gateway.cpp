// Gateway routing, authentication, authorization and per-principal concurrency limits.
#include "plinth/api/gateway.h"

#include "gateway_internal.h"
#include "plinth/api/query_api.h"
#include "plinth/core/encoding.h"
#include "plinth/core/ids.h"
#include "plinth/core/log.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::api {

void Gateway::Call::respond(int status, std::string content_type, std::string body) {
  http::Response response;
  response.status = status;
  http_status = status;
  response.headers.push_back({"content-type", std::move(content_type)});
  response.headers.push_back({std::string(kRequestIdHeader), request_id});
  response.headers.insert(response.headers.end(), response_headers.begin(), response_headers.end());
  response.body = std::move(body);
  exchange.respond(std::move(response));
}

void Gateway::Call::respond_wire(const WireError& wire) {
  http::Response response;
  response.status = static_cast<int>(wire.status);
  http_status = response.status;
  response.headers.push_back({"content-type", wire.content_type});
  response.headers.push_back({std::string(kRequestIdHeader), request_id});
  if (!wire.error_type_header.empty()) {
    response.headers.push_back({"x-amzn-ErrorType", wire.error_type_header});
  }
  response.body = wire.body;
  exchange.respond(std::move(response));
}

void Gateway::Call::respond_error(const Error& error) {
  if (error.code == ErrorCode::kInternal || error.code == ErrorCode::kIo ||
      error.code == ErrorCode::kCorruptData) {
    log::error("request {} failed: {} ({})", request_id, error.message, to_string(error.code));
  }
  respond_wire(openai_errors ? openai_error(error) : bedrock_error(error));
}

bool LazyStream::write(std::string_view bytes) {
  if (!stream_) {
    std::vector<http::Header> headers{{"content-type", content_type_},
                                      {std::string(kRequestIdHeader), request_id_}};
    if (content_type_ == "text/event-stream") headers.push_back({"cache-control", "no-cache"});
    if (extra_headers_)
      headers.insert(headers.end(), extra_headers_->begin(), extra_headers_->end());
    stream_ = exchange_.start_stream(200, std::move(headers));
    if (!stream_) return false;
  }
  return stream_->write(bytes);
}

void LazyStream::finish() {
  if (stream_) stream_->finish();
}

int64_t elapsed_ms(std::chrono::steady_clock::time_point from,
                   std::chrono::steady_clock::time_point to) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(to - from).count();
}

GatewayOptions GatewayOptions::from_config(const Config& config) {
  GatewayOptions options;
  options.region = config.region;
  options.account_id = config.account_id;
  options.max_concurrent_per_principal = config.limits.max_concurrent_per_principal;
  options.metrics_require_auth = config.metrics.require_auth;
  options.task_role = config.task_role;
  options.limits.max_tokens = config.limits.max_tokens;
  options.limits.default_max_tokens =
      std::min(options.limits.default_max_tokens, config.limits.max_tokens);
  return options;
}

Gateway::Gateway(GatewayOptions options, GatewayServices services)
    : options_(std::move(options)), services_(services) {}

http::Handler Gateway::handler() {
  return
      [this](const http::Request& request, http::Exchange& exchange) { handle(request, exchange); };
}

http::Response Gateway::error_response(int status, std::string_view message) {
  AwsErrorType type = AwsErrorType::kValidation;
  if (status == 408) type = AwsErrorType::kModelTimeout;
  if (status == 429) type = AwsErrorType::kThrottling;
  if (status == 503) type = AwsErrorType::kServiceUnavailable;
  if (status >= 500 && status != 503) type = AwsErrorType::kInternalServer;
  WireError wire = bedrock_error(type, message);
  http::Response response;
  response.status = status;  // keep the server's own status (413, 431, ...)
  response.headers.push_back({"content-type", wire.content_type});
  response.headers.push_back({"x-amzn-ErrorType", wire.error_type_header});
  response.headers.push_back({std::string(kRequestIdHeader), new_uuid(services_.random)});
  response.body = std::move(wire.body);
  return response;
}

int Gateway::in_flight(const std::string& principal_arn) const {
  std::lock_guard lock(in_flight_mutex_);
  auto it = in_flight_.find(principal_arn);
  return it == in_flight_.end() ? 0 : it->second;
}

Result<std::unique_ptr<Gateway::ConcurrencySlot>> Gateway::acquire_slot(
    const auth::Principal& principal) {
  std::lock_guard lock(in_flight_mutex_);
  int& count = in_flight_[principal.arn];
  if (count >= options_.max_concurrent_per_principal) {
    if (count == 0) in_flight_.erase(principal.arn);
    return fail(ErrorCode::kThrottled,
                "Too many concurrent requests for this principal; wait and try again.");
  }
  ++count;
  return std::make_unique<ConcurrencySlot>(*this, principal.arn);
}

void Gateway::release_slot(const std::string& key) {
  std::lock_guard lock(in_flight_mutex_);
  auto it = in_flight_.find(key);
  if (it != in_flight_.end() && --it->second <= 0) in_flight_.erase(it);
}

namespace {

auth::SignableRequest signable(const http::Request& request) {
  auth::SignableRequest out;
  out.method = request.method;
  out.raw_path = std::string(request.path());
  out.raw_query = std::string(request.query());
  for (const auto& header : request.headers) out.headers.emplace_back(header.name, header.value);
  out.body = request.body;
  return out;
}

// The credential scope's service named by the Authorization header or X-Amz-Credential.
std::optional<std::string> scope_service(const http::Request& request) {
  if (const std::string* authorization = request.header("authorization")) {
    if (auto parts = auth::parse_authorization_header(*authorization)) return parts->service;
    return std::nullopt;
  }
  if (auto parts = auth::parse_presigned_query(request.query())) return parts->service;
  return std::nullopt;
}

// The request target and the header values that may be stored (ledger rows, documents) and
// written back in JSON: the name of the first that is not UTF-8, if any.
std::optional<std::string> stored_field_not_utf8(const http::Request& request) {
  if (!is_valid_utf8(request.target)) return "The request target";
  for (std::string_view name : {ledger::kApplicationTagHeader, std::string_view("idempotency-key"),
                                std::string_view("content-type")}) {
    const std::string* value = request.header(name);
    if (value != nullptr && !is_valid_utf8(*value)) return "The " + std::string(name) + " header";
  }
  return std::nullopt;
}

}  // namespace

Result<auth::Principal> Gateway::authenticate(Call& call, std::string_view service) {
  const std::string* authorization = call.request.header("authorization");
  // Bearer tokens (API keys) are for the Bedrock APIs and the OpenAI-compatible ones, as on AWS;
  // Plinth's own REST APIs (usage, budgets, documents) keep SigV4.
  bool bearer_accepted = service == "bedrock" || call.openai_errors;
  if (bearer_accepted && authorization != nullptr && authorization->starts_with("Bearer ")) {
    auto principal = services_.authenticator.authenticate_bearer(
        std::string_view(*authorization).substr(7), options_.region);
    if (!principal) call.respond_error(principal.error());
    return principal;
  }
  auto principal = services_.authenticator.authenticate(signable(call.request), service);
  if (!principal) {
    Error error = principal.error();
    // The authenticator reports malformed signatures as kInvalidArgument; on the wire that is
    // IncompleteSignatureException, not a ValidationException.
    if (error.code == ErrorCode::kInvalidArgument && !call.openai_errors) {
      call.respond_wire(bedrock_error(AwsErrorType::kIncompleteSignature, error.message));
      return std::unexpected(error);
    }
    // OpenAI clients expect every credential problem as 401 invalid_api_key.
    if (error.code == ErrorCode::kInvalidArgument) error.code = ErrorCode::kUnauthenticated;
    call.respond_error(error);
    return std::unexpected(error);
  }
  return principal;
}

void Gateway::handle(const http::Request& request, http::Exchange& exchange) {
  Call call{request, exchange,     new_uuid(services_.random),
            false,   std::nullopt, services_.clock.steady_now(),
            0,       std::nullopt, nullptr,
            {}};
  std::string_view path = request.path();
  if (path == "/health" || path == "/ping") {
    if (request.method != "GET" && request.method != "HEAD") {
      call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /health."));
      return;
    }
    call.respond(200, "application/json", R"({"status":"ok"})");
    return;
  }
  if (std::optional<std::string> field = stored_field_not_utf8(request)) {
    call.openai_errors = path == "/v1/chat/completions" || path == "/v1/embeddings";
    call.respond_error(Error(ErrorCode::kInvalidArgument, *field + " is not valid UTF-8."));
    return;
  }
  if (path == kContainerCredentialsPath) {
    handle_container_credentials(call);
    return;
  }
  if (path == "/v1/usage" || path.starts_with("/v1/usage/")) {
    handle_usage(call);  // Bedrock-shaped errors, like every SigV4 "plinth" API
    return;
  }
  if (path == "/console" || path.starts_with("/console/")) {
    exchange.respond(console_response(request));  // static assets only: no credentials
    return;
  }
  if (path == "/v1/budgets") {
    handle_budgets(call);
    return;
  }
  if (path == "/metrics") {
    handle_metrics(call);
    return;
  }
  if (path == "/v1/search") {
    handle_search(call);
    record_usage(call);
    return;
  }
  if (is_documents_path(path)) {
    handle_documents(call);  // Bedrock-shaped errors, like every SigV4 "plinth" API
    return;
  }
  if (is_inference_profile_path(path)) {
    handle_inference_profiles(call);
    return;
  }
  if (path.starts_with("/v1/")) call.openai_errors = true;
  if (path == "/v1/models") {
    handle_list_models(call);
    return;
  }
  if (path == "/foundation-models" || path.starts_with("/foundation-models/")) {
    handle_foundation_models(call, path);
    return;
  }
  if (request.method != "POST") {
    call.respond_error(
        Error(ErrorCode::kNotFound, "No route for " + request.method + " " + std::string(path)));
    return;
  }
  if (path == "/") {
    handle_query(call);
    return;
  }
  if (path.starts_with("/model/")) {
    std::string_view rest = path.substr(7);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0) {
      handle_model(call, rest.substr(0, slash), rest.substr(slash + 1));
      record_usage(call);
      return;
    }
  }
  if (path.starts_with("/knowledgebases/")) {
    std::string_view rest = path.substr(16);
    size_t slash = rest.find('/');
    if (slash != std::string_view::npos && slash > 0 && rest.substr(slash + 1) == "retrieve") {
      handle_retrieve(call, rest.substr(0, slash));
      record_usage(call);
      return;
    }
  }
  if (path == "/v1/chat/completions" || path == "/v1/embeddings") {
    handle_openai(call, path.substr(4));
    record_usage(call);
    return;
  }
  call.respond_error(Error(ErrorCode::kNotFound, "No route for POST " + std::string(path)));
}

void Gateway::handle_query(Call& call) {
  const http::Request& request = call.request;
  auto query_error = [&](const Error& error, std::string_view ns) {
    QueryResponse response = query_error_response(error, call.request_id, ns);
    call.respond(response.status, response.content_type, std::move(response.body));
  };
  // Unsigned, as on AWS: the web identity token is the credential.
  if (auto form = parse_form(request.body);
      form && form->contains("Action") && form->at("Action") == "AssumeRoleWithWebIdentity") {
    QueryResponse response =
        handle_assume_role_with_web_identity(request.body, services_.web_identity, call.request_id);
    call.respond(response.status, response.content_type, std::move(response.body));
    return;
  }
  std::optional<std::string> service = scope_service(request);
  if (!service) {
    bool has_auth = request.header("authorization") != nullptr;
    query_error(Error(has_auth ? ErrorCode::kInvalidArgument : ErrorCode::kUnauthenticated,
                      has_auth ? "Authorization header requires a valid Credential scope."
                               : "Request is missing Authentication Token"),
                kStsNamespace);
    return;
  }
  std::string_view ns = *service == "iam" ? kIamNamespace : kStsNamespace;
  if (*service != "sts" && *service != "iam") {
    query_error(Error(ErrorCode::kInvalidArgument,
                      "Credential should be scoped to a valid service: sts or iam."),
                ns);
    return;
  }
  if ((*service == "sts" && services_.sts == nullptr) ||
      (*service == "iam" && services_.iam == nullptr)) {
    query_error(Error(ErrorCode::kUnavailable, "The " + *service + " service is not enabled."), ns);
    return;
  }
  auto principal = services_.authenticator.authenticate(signable(request), *service);
  if (!principal) {
    query_error(principal.error(), ns);
    return;
  }
  auto action = query_action(*service, request.body, options_.account_id);
  if (!action) {
    query_error(action.error(), ns);
    return;
  }
  auth::RequestContext context{options_.region, request.secure, services_.clock.now(),
                               request.remote_address};
  if (action->needs_identity_authorization &&
      auth::authorize(*principal, action->iam_action, action->resource, context) !=
          auth::Decision::kAllow) {
    query_error(Error(ErrorCode::kPermissionDenied,
                      "User: " + principal->arn + " is not authorized to perform: " +
                          action->iam_action + " on resource: " + action->resource),
                ns);
    return;
  }
  QueryResponse response =
      *service == "sts"
          ? handle_sts(*principal, request.body, *services_.sts, context, call.request_id)
          : handle_iam(*principal, request.body, *services_.iam, call.request_id);
  call.respond(response.status, response.content_type, std::move(response.body));
}

void Gateway::handle_model(Call& call, std::string_view model_segment, std::string_view operation) {
  bool stream = operation == "converse-stream" || operation == "invoke-with-response-stream";
  bool converse_op = operation == "converse" || operation == "converse-stream";
  bool count_op = operation == "count-tokens";
  if (!converse_op && !count_op && operation != "invoke" &&
      operation != "invoke-with-response-stream") {
    call.respond_error(Error(ErrorCode::kNotFound, "Unknown operation: " + std::string(operation)));
    return;
  }
  // Metered before authentication so that metrics count refused signatures too (the ledger
  // records only authenticated calls). CountTokens is free: never metered.
  if (!count_op) {
    call.meter(converse_op ? (stream ? "ConverseStream" : "Converse")
                           : (stream ? "InvokeModelWithResponseStream" : "InvokeModel"),
               std::string(model_segment));
  }
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  // The model id is one percent-encoded path segment: decode it exactly once.
  std::optional<std::string> model_id = uri_decode(model_segment);
  if (!model_id || model_id->empty() || !is_valid_utf8(*model_id)) {
    call.respond_error(
        Error(ErrorCode::kInvalidArgument, "The provided model identifier is invalid."));
    return;
  }
  const catalog::ModelEntry* model = resolve_model(call, *model_id);
  if (model == nullptr) return;
  std::string_view action = count_op ? "bedrock:CountTokens"
                            : stream ? "bedrock:InvokeModelWithResponseStream"
                                     : "bedrock:InvokeModel";
  if (auto allowed = authorize_model(call, action, *model_id, *model); !allowed) {
    call.respond_error(allowed.error());
    return;
  }
  auto slot = acquire_slot(*call.principal);
  if (!slot) {
    call.respond_error(slot.error());
    return;
  }
  if (count_op) {
    count_tokens(call, *model);
  } else if (converse_op) {
    converse(call, *model, stream);
  } else {
    invoke(call, *model, stream);
  }
}

const catalog::ModelEntry* Gateway::resolve_model(Call& call, const std::string& requested_id) {
  if (call.usage) call.usage->model_requested = requested_id;
  if (services_.profiles != nullptr && call.principal) {
    auto reference = catalog::parse_model_reference(requested_id);
    if (reference &&
        reference->form == catalog::ModelReference::Form::kApplicationInferenceProfileArn) {
      return resolve_profile(call, requested_id);
    }
  }
  if (services_.routers != nullptr) {
    if (const router::Router* router = services_.routers->find(requested_id)) {
      // The small model stands for the router until one answers (kind checks, body formats).
      call.router = router;
      call.meter_model(requested_id, router->small_model());
      return &router->small_model();
    }
  }
  auto model = services_.catalog.resolve(requested_id);
  if (!model) {
    call.respond_error(model.error());
    return nullptr;
  }
  call.meter_model(requested_id, **model);
  return *model;
}

const catalog::ModelEntry* Gateway::resolve_profile(Call& call, const std::string& requested_id) {
  std::string account = account_of(*call.principal);
  auto profile = find_profile(account, requested_id);
  if (!profile) {
    call.respond_error(profile.error());
    return nullptr;
  }
  auto model = services_.catalog.resolve(profile->model_id);
  if (!model) {
    call.respond_error(Error(ErrorCode::kNotFound, "The model " + profile->model_id +
                                                       " behind the inference profile " +
                                                       requested_id + " is not available."));
    return nullptr;
  }
  call.profile_arn = profile_arn(account, profile->id);
  call.meter_model(requested_id, **model);
  if (call.usage) {
    call.usage->inference_profile = *call.profile_arn;
    call.usage->profile_tags.clear();
    for (store::ProfileTag& tag : profile->tags) {
      call.usage->profile_tags.push_back({std::move(tag.key), std::move(tag.value)});
    }
  }
  return *model;
}

Result<providers::InferenceResponse> Gateway::infer_until_client_gone(
    Call& call, providers::InferenceRequest& request) {
  std::atomic<bool> cancel{false};
  request.cancel = &cancel;
  auto response = run_inference(call, request, [&](const providers::StreamEvent&) {
    if (call.exchange.client_gone()) cancel = true;
    return !cancel.load();
  });
  request.cancel = nullptr;
  return response;
}

void Gateway::handle_openai(Call& call, std::string_view operation) {
  call.meter(operation == "chat/completions" ? "ChatCompletions" : "Embeddings", "");
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  auto slot = acquire_slot(*call.principal);
  if (!slot) {
    call.respond_error(slot.error());
    return;
  }
  if (operation == "chat/completions") {
    chat_completions(call);
  } else {
    embeddings(call);
  }
}

}  // namespace plinth::api
