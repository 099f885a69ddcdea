// Bedrock control plane for application inference profiles: Create/Get/List/Delete
// InferenceProfile and TagResource/UntagResource/ListTagsForResource, as @aws-sdk/client-bedrock
// calls them (REST JSON, SigV4 service "bedrock"), authorized on the profile's ARN.
#include <boost/json.hpp>
#include <charconv>
#include <utility>

#include "gateway_internal.h"
#include "inference_profile_request.h"
#include "plinth/core/encoding.h"
#include "plinth/store/inference_profiles.h"
#include "query/query_xml.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

constexpr std::string_view kProfilesPath = "/inference-profiles";
constexpr int64_t kDefaultMaxResults = 100;
constexpr int64_t kMaxMaxResults = 1000;
constexpr size_t kMaxNextTokenBytes = 2048;

std::string iso_time(int64_t ms) {
  return query::iso8601(std::chrono::system_clock::time_point(std::chrono::milliseconds(ms)));
}

// Geography prefix of the system-defined (cross-region) profiles in this region: us, eu, apac.
std::string_view geography(std::string_view region) {
  if (region.starts_with("eu-")) return "eu";
  if (region.starts_with("ap-")) return "apac";
  return "us";
}

json::object models_of(std::string_view region, std::string_view model_id) {
  return json::object{{"modelArn", catalog::foundation_model_arn(region, model_id)}};
}

std::string system_profile_id(const catalog::ModelEntry& model, std::string_view region) {
  return std::string(geography(region)) + "." + model.id;
}

std::string system_profile_arn(const catalog::ModelEntry& model, std::string_view region,
                               std::string_view account) {
  return "arn:aws:bedrock:" + std::string(region) + ":" + std::string(account) +
         ":inference-profile/" + system_profile_id(model, region);
}

// The text model of the system-defined profile `identifier` names ("GEO.MODEL" or its exact
// inference-profile ARN), or null.
const catalog::ModelEntry* system_profile_model(const catalog::Catalog& catalog,
                                                std::string_view region, std::string_view account,
                                                std::string_view identifier) {
  std::string prefix = std::string(geography(region)) + ".";
  std::string arn_prefix =
      "arn:aws:bedrock:" + std::string(region) + ":" + std::string(account) + ":inference-profile/";
  std::string_view id = identifier;
  if (id.starts_with(arn_prefix)) id.remove_prefix(arn_prefix.size());
  if (!id.starts_with(prefix)) return nullptr;
  std::string_view model_id = id.substr(prefix.size());
  const catalog::ModelEntry* model = catalog.find(model_id);
  if (model == nullptr || model->kind != catalog::ModelKind::kText || model->id != model_id) {
    return nullptr;
  }
  return model;
}

// The system-defined (cross-region) profile "GEO.MODEL" Bedrock offers for a text model.
json::object system_profile_json(const catalog::ModelEntry& model, std::string_view region,
                                 std::string_view account) {
  std::string id = system_profile_id(model, region);
  return json::object{{"inferenceProfileName", id},
                      {"inferenceProfileArn", system_profile_arn(model, region, account)},
                      {"inferenceProfileId", id},
                      {"models", json::array{models_of(region, model.id)}},
                      {"status", "ACTIVE"},
                      {"type", "SYSTEM_DEFINED"},
                      {"description", "Routes requests to " + model.id},
                      {"createdAt", iso_time(0)},
                      {"updatedAt", iso_time(0)}};
}

json::object application_profile_json(const store::InferenceProfileRecord& profile, std::string arn,
                                      std::string_view region) {
  json::object out{{"inferenceProfileName", profile.name},
                   {"inferenceProfileArn", std::move(arn)},
                   {"inferenceProfileId", profile.id},
                   {"models", json::array{models_of(region, profile.model_id)}},
                   {"status", "ACTIVE"},
                   {"type", "APPLICATION"},
                   {"createdAt", iso_time(profile.created_ms)},
                   {"updatedAt", iso_time(profile.updated_ms)}};
  if (!profile.description.empty()) out["description"] = profile.description;
  return out;
}

using QueryParameters = std::vector<std::pair<std::string, std::string>>;

struct ListParameters {
  int64_t max_results = kDefaultMaxResults;
  std::string next_token;
  std::string type = "SYSTEM_DEFINED";  // Bedrock lists system-defined profiles by default
};

Result<ListParameters> list_parameters(std::string_view query) {
  auto pairs = parse_form_urlencoded(query);
  if (!pairs) return fail(ErrorCode::kInvalidArgument, "Malformed query string.");
  ListParameters out;
  for (const auto& [name, value] : *pairs) {
    if (name == "maxResults") {
      int64_t n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > kMaxMaxResults) {
        return fail(ErrorCode::kInvalidArgument,
                    "1 validation error detected: Value at 'maxResults' failed to satisfy "
                    "constraint: Member must be between 1 and 1000");
      }
      out.max_results = n;
    } else if (name == "nextToken") {
      if (value.empty() || value.size() > kMaxNextTokenBytes) {
        return fail(ErrorCode::kInvalidArgument, "The nextToken is invalid.");
      }
      out.next_token = value;
    } else if (name == "type") {
      if (value != "SYSTEM_DEFINED" && value != "APPLICATION") {
        return fail(ErrorCode::kInvalidArgument,
                    "1 validation error detected: Value '" + value.substr(0, 64) +
                        "' at 'typeEquals' failed to satisfy constraint: Member must satisfy "
                        "enum value set: [SYSTEM_DEFINED, APPLICATION]");
      }
      out.type = value;
    }
  }
  return out;
}

}  // namespace

bool Gateway::is_inference_profile_path(std::string_view path) {
  return path == kProfilesPath || path.starts_with("/inference-profiles/") ||
         path == "/tagResource" || path == "/untagResource" || path == "/listTagsForResource";
}

std::string Gateway::profile_arn(std::string_view account, std::string_view id) const {
  return "arn:aws:bedrock:" + options_.region + ":" + std::string(account) +
         ":application-inference-profile/" + std::string(id);
}

std::string Gateway::account_of(const auth::Principal& principal) const {
  return principal.account_id.empty() ? options_.account_id : principal.account_id;
}

Result<store::InferenceProfileRecord> Gateway::find_profile(const std::string& account,
                                                            std::string_view identifier) {
  auto not_found = [&] {
    return fail(
        ErrorCode::kNotFound,
        "The inference profile " + std::string(identifier.substr(0, 2048)) + " does not exist.");
  };
  if (identifier.starts_with("arn:")) {
    auto reference = catalog::parse_model_reference(identifier);
    if (!reference ||
        reference->form != catalog::ModelReference::Form::kApplicationInferenceProfileArn ||
        reference->region != options_.region || reference->account != account) {
      return not_found();
    }
    // Only the exact ARN the profile answers to names it (no other partition or spelling).
    if (identifier != profile_arn(account, reference->id)) return not_found();
    auto found = services_.profiles->get(account, reference->id);
    if (!found && found.error().code == ErrorCode::kNotFound) return not_found();
    return found;
  }
  auto by_id = services_.profiles->get(account, std::string(identifier));
  if (by_id || by_id.error().code != ErrorCode::kNotFound) return by_id;
  auto by_name = services_.profiles->get_by_name(account, std::string(identifier));
  if (!by_name && by_name.error().code == ErrorCode::kNotFound) return not_found();
  return by_name;
}

void Gateway::handle_inference_profiles(Call& call) {
  auto principal = authenticate(call, "bedrock");
  if (!principal) return;
  call.principal = std::move(*principal);
  if (services_.profiles == nullptr) {
    call.respond_error(Error(ErrorCode::kUnavailable, "Inference profiles need the SQLite store."));
    return;
  }
  std::string account = account_of(*call.principal);
  std::string_view path = call.request.path();
  const std::string& method = call.request.method;
  if (path == "/tagResource" || path == "/untagResource" || path == "/listTagsForResource") {
    if (method != "POST") {
      call.respond_error(Error(ErrorCode::kNotFound, "Use POST for " + std::string(path) + "."));
      return;
    }
    handle_profile_tags(call, account);
    return;
  }
  if (path == kProfilesPath) {
    if (method == "POST") {
      create_inference_profile(call, account);
    } else if (method == "GET") {
      list_inference_profiles(call, account);
    } else {
      call.respond_error(
          Error(ErrorCode::kNotFound, "No route for " + method + " " + std::string(kProfilesPath)));
    }
    return;
  }
  // GET or DELETE /inference-profiles/{inferenceProfileIdentifier}: one percent-encoded segment.
  std::string_view segment = path.substr(kProfilesPath.size() + 1);
  std::optional<std::string> identifier = uri_decode(segment);
  if (segment.find('/') != std::string_view::npos || !identifier || identifier->empty() ||
      identifier->size() > 2048 || !is_valid_utf8(*identifier)) {
    call.respond_error(
        Error(ErrorCode::kInvalidArgument, "The inference profile identifier is invalid."));
    return;
  }
  if (method != "GET" && method != "DELETE") {
    call.respond_error(Error(ErrorCode::kNotFound, "No route for " + method + " " +
                                                       std::string(kProfilesPath) + "/{id}"));
    return;
  }
  std::string_view action =
      method == "GET" ? "bedrock:GetInferenceProfile" : "bedrock:DeleteInferenceProfile";
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  // A system-defined profile ("us.MODEL" or its inference-profile ARN) is answered from the
  // catalog; anything else names a stored application profile.
  const catalog::ModelEntry* system_model =
      system_profile_model(services_.catalog, options_.region, account, *identifier);
  auto profile = system_model != nullptr
                     ? Result<store::InferenceProfileRecord>(fail(ErrorCode::kNotFound, ""))
                     : find_profile(account, *identifier);
  if (!profile && profile.error().code != ErrorCode::kNotFound) {
    call.respond_error(profile.error());
    return;
  }
  std::string arn = system_model != nullptr
                        ? system_profile_arn(*system_model, options_.region, account)
                    : profile                         ? profile_arn(account, profile->id)
                    : identifier->starts_with("arn:") ? *identifier
                                                      : profile_arn(account, *identifier);
  if (auth::authorize(*call.principal, action, arn, context) != auth::Decision::kAllow) {
    call.respond_error(Error(ErrorCode::kPermissionDenied,
                             "User: " + call.principal->arn + " is not authorized to perform: " +
                                 std::string(action) + " on resource: " + arn));
    return;
  }
  if (system_model != nullptr) {
    if (method == "GET") {
      call.respond(200, "application/json",
                   json::serialize(system_profile_json(*system_model, options_.region, account)));
    } else {
      call.respond_error(Error(ErrorCode::kInvalidArgument,
                               "A system-defined inference profile cannot be deleted."));
    }
    return;
  }
  if (!profile) {
    call.respond_error(
        Error(ErrorCode::kNotFound, "The inference profile " + *identifier + " does not exist."));
    return;
  }
  if (method == "GET") {
    call.respond(200, "application/json",
                 json::serialize(application_profile_json(*profile, arn, options_.region)));
    return;
  }
  if (auto removed = services_.profiles->remove(account, profile->id); !removed) {
    call.respond_error(removed.error());
    return;
  }
  call.respond(200, "application/json", "{}");
}

void Gateway::list_inference_profiles(Call& call, const std::string& account) {
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  if (auth::authorize(*call.principal, "bedrock:ListInferenceProfiles", "*", context) !=
      auth::Decision::kAllow) {
    call.respond_error(Error(ErrorCode::kPermissionDenied,
                             "User: " + call.principal->arn +
                                 " is not authorized to perform: bedrock:ListInferenceProfiles "
                                 "on resource: *"));
    return;
  }
  auto parameters = list_parameters(call.request.query());
  if (!parameters) {
    call.respond_error(parameters.error());
    return;
  }
  // nextToken: "s<index>" into the catalog's text models, or "a<last id>" for stored profiles.
  char kind = parameters->type == "APPLICATION" ? 'a' : 's';
  const std::string& token = parameters->next_token;
  if (!token.empty() && token.front() != kind) {
    call.respond_error(Error(ErrorCode::kInvalidArgument, "The nextToken is invalid."));
    return;
  }
  std::string cursor = token.empty() ? "" : token.substr(1);
  json::array summaries;
  std::string next;
  if (kind == 'a') {
    auto page = services_.profiles->list(account, cursor, parameters->max_results + 1);
    if (!page) {
      call.respond_error(page.error());
      return;
    }
    for (const store::InferenceProfileRecord& profile : *page) {
      if (std::cmp_equal(summaries.size(), parameters->max_results)) {
        next = "a" + std::string(summaries.back().as_object().at("inferenceProfileId").as_string());
        break;
      }
      summaries.push_back(
          application_profile_json(profile, profile_arn(account, profile.id), options_.region));
    }
  } else {
    size_t start = 0;
    if (!cursor.empty()) {
      auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), start);
      if (ec != std::errc() || end != cursor.data() + cursor.size()) {
        call.respond_error(Error(ErrorCode::kInvalidArgument, "The nextToken is invalid."));
        return;
      }
    }
    const auto& entries = services_.catalog.entries();
    for (size_t i = start; i < entries.size(); ++i) {
      if (entries[i].kind != catalog::ModelKind::kText) continue;
      if (std::cmp_equal(summaries.size(), parameters->max_results)) {
        next = "s" + std::to_string(i);
        break;
      }
      summaries.push_back(system_profile_json(entries[i], options_.region, account));
    }
  }
  json::object out{{"inferenceProfileSummaries", std::move(summaries)}};
  if (!next.empty()) out["nextToken"] = next;
  call.respond(200, "application/json", json::serialize(out));
}

}  // namespace plinth::api
