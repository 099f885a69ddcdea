// Catalog APIs: GET /v1/models (OpenAI list shape, with routers) and Bedrock's
// ListFoundationModels / GetFoundationModel (GET /foundation-models[/{modelIdentifier}]).
#include <algorithm>
#include <boost/json.hpp>

#include "gateway_internal.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

Result<QueryParameters> parse_query(std::string_view query) {
  auto pairs = parse_form_urlencoded(query);
  if (!pairs) return fail(ErrorCode::kInvalidArgument, "Malformed query string.");
  return std::move(*pairs);
}

json::array strings(const std::vector<std::string>& values) {
  json::array out;
  for (const std::string& value : values) out.emplace_back(value);
  return out;
}

json::object openai_model(const catalog::ModelEntry& model) {
  return json::object{{"id", model.id},
                      {"object", "model"},
                      {"created", 0},
                      {"owned_by", "plinth"},
                      {"tier", catalog::to_string(model.tier)},
                      {"kind", catalog::to_string(model.kind)},
                      {"aliases", strings(model.aliases)},
                      {"price_input_per_mtok", model.price_input_per_mtok},
                      {"price_output_per_mtok", model.price_output_per_mtok},
                      {"context_length", model.context_length}};
}

// A router lists with its small model's tier, prices and context (where every request starts);
// an escalated request also pays the large model's.
json::object openai_router(const router::Router& router) {
  json::object out = openai_model(router.small_model());
  const router::RouterDefinition& definition = router.definition();
  out["id"] = definition.id;
  out["kind"] = "router";
  out["aliases"] = json::array();
  out["small_model"] = definition.small;
  out["large_model"] = definition.large;
  json::array escalate_on;
  for (router::EscalationReason reason : definition.escalate_on) {
    escalate_on.emplace_back(router::to_string(reason));
  }
  out["escalate_on"] = std::move(escalate_on);
  return out;
}

std::string_view output_modality(const catalog::ModelEntry& model) {
  return model.kind == catalog::ModelKind::kText ? "TEXT" : "EMBEDDING";
}

json::object foundation_model(const catalog::ModelEntry& model, std::string_view region) {
  return json::object{{"modelArn", catalog::foundation_model_arn(region, model.id)},
                      {"modelId", model.id},
                      {"modelName", model.id},
                      {"providerName", "Plinth"},
                      {"inputModalities", json::array{"TEXT"}},
                      {"outputModalities", json::array{output_modality(model)}},
                      {"responseStreamingSupported", model.kind == catalog::ModelKind::kText},
                      {"customizationsSupported", json::array()},
                      {"inferenceTypesSupported", json::array{"ON_DEMAND"}},
                      {"modelLifecycle", json::object{{"status", "ACTIVE"}}}};
}

bool one_of(std::string_view value, std::initializer_list<std::string_view> allowed) {
  return std::ranges::find(allowed, value) != allowed.end();
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return std::ranges::equal(a, b,
                            [](char x, char y) { return std::tolower(x) == std::tolower(y); });
}

// ListFoundationModels' filters; kInvalidArgument on a value outside the API's enums.
Result<std::vector<const catalog::ModelEntry*>> filter_models(const catalog::Catalog& catalog,
                                                              const QueryParameters& parameters) {
  std::vector<const catalog::ModelEntry*> models;
  for (const catalog::ModelEntry& model : catalog.entries()) models.push_back(&model);
  auto keep_if = [&](auto predicate) { std::erase_if(models, std::not_fn(predicate)); };
  for (const auto& parameter : parameters) {
    // Not a structured binding: clang before 16 cannot capture those in the lambdas below.
    const auto& name = parameter.first;
    const auto& value = parameter.second;
    if (name == "byProvider") {
      keep_if([&](const catalog::ModelEntry*) { return equals_ignoring_case(value, "Plinth"); });
    } else if (name == "byOutputModality") {
      if (!one_of(value, {"TEXT", "IMAGE", "EMBEDDING"})) {
        return fail(ErrorCode::kInvalidArgument,
                    "Value '" + value +
                        "' at 'byOutputModality' failed to satisfy constraint: Member must "
                        "satisfy enum value set: [TEXT, IMAGE, EMBEDDING]");
      }
      keep_if([&](const catalog::ModelEntry* m) { return output_modality(*m) == value; });
    } else if (name == "byInferenceType") {
      if (!one_of(value, {"ON_DEMAND", "PROVISIONED"})) {
        return fail(ErrorCode::kInvalidArgument,
                    "Value '" + value +
                        "' at 'byInferenceType' failed to satisfy constraint: Member must "
                        "satisfy enum value set: [ON_DEMAND, PROVISIONED]");
      }
      keep_if([&](const catalog::ModelEntry*) { return value == "ON_DEMAND"; });
    } else if (name == "byCustomizationType") {
      keep_if([](const catalog::ModelEntry*) { return false; });  // none is customizable
    }
  }
  return models;
}

}  // namespace

void Gateway::handle_list_models(Call& call) {
  if (call.request.method != "GET") {
    call.respond_error(Error(ErrorCode::kNotFound,
                             "No route for " + call.request.method + " /v1/models; use GET."));
    return;
  }
  auto principal = authenticate(call, "plinth");
  if (!principal) return;
  call.principal = std::move(*principal);
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  if (auth::authorize(*call.principal, "plinth:ListModels", "*", context) !=
      auth::Decision::kAllow) {
    call.respond_error(
        Error(ErrorCode::kPermissionDenied,
              "User: " + call.principal->arn +
                  " is not authorized to perform: plinth:ListModels on resource: *"));
    return;
  }
  json::array data;
  for (const catalog::ModelEntry& model : services_.catalog.entries()) {
    data.push_back(openai_model(model));
  }
  if (services_.routers != nullptr) {
    for (const router::Router& router : services_.routers->routers()) {
      data.push_back(openai_router(router));
    }
  }
  call.respond(200, "application/json",
               json::serialize(json::object{{"object", "list"}, {"data", std::move(data)}}));
}

void Gateway::handle_foundation_models(Call& call, std::string_view path) {
  if (call.request.method != "GET") {
    call.respond_error(Error(ErrorCode::kNotFound,
                             "No route for " + call.request.method + " " + std::string(path)));
    return;
  }
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  auto deny = [&](std::string_view action, const std::string& resource) {
    call.respond_error(Error(ErrorCode::kPermissionDenied,
                             "User: " + call.principal->arn + " is not authorized to perform: " +
                                 std::string(action) + " on resource: " + resource));
  };
  if (path == "/foundation-models") {
    if (auth::authorize(*call.principal, "bedrock:ListFoundationModels", "*", context) !=
        auth::Decision::kAllow) {
      deny("bedrock:ListFoundationModels", "*");
      return;
    }
    auto parameters = parse_query(call.request.query());
    if (!parameters) {
      call.respond_error(parameters.error());
      return;
    }
    auto models = filter_models(services_.catalog, *parameters);
    if (!models) {
      call.respond_error(models.error());
      return;
    }
    json::array summaries;
    for (const catalog::ModelEntry* model : *models) {
      summaries.push_back(foundation_model(*model, options_.region));
    }
    call.respond(200, "application/json",
                 json::serialize(json::object{{"modelSummaries", std::move(summaries)}}));
    return;
  }
  // GetFoundationModel: one percent-encoded segment naming an id, alias or ARN.
  std::string_view segment = path.substr(std::string_view("/foundation-models/").size());
  std::optional<std::string> identifier = uri_decode(segment);
  if (segment.find('/') != std::string_view::npos || !identifier || identifier->empty()) {
    call.respond_error(
        Error(ErrorCode::kInvalidArgument, "The provided model identifier is invalid."));
    return;
  }
  auto model = services_.catalog.resolve(*identifier);
  std::string arn = model ? catalog::foundation_model_arn(options_.region, (*model)->id)
                    : identifier->starts_with("arn:")
                        ? *identifier
                        : catalog::foundation_model_arn(options_.region, *identifier);
  if (auth::authorize(*call.principal, "bedrock:GetFoundationModel", arn, context) !=
      auth::Decision::kAllow) {
    deny("bedrock:GetFoundationModel", arn);
    return;
  }
  if (!model) {
    call.respond_error(model.error().code == ErrorCode::kNotFound
                           ? Error(ErrorCode::kNotFound, "The model " + *identifier +
                                                             " does not exist or is not available.")
                           : model.error());
    return;
  }
  call.respond(
      200, "application/json",
      json::serialize(json::object{{"modelDetails", foundation_model(**model, options_.region)}}));
}

}  // namespace plinth::api
