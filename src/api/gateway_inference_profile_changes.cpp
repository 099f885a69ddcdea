// Bedrock control plane, the calls that change profiles: CreateInferenceProfile (idempotent on
// clientRequestToken, bounded per account) and TagResource / UntagResource /
// ListTagsForResource on application inference profile ARNs.
#include <algorithm>
#include <boost/json.hpp>

#include "gateway_internal.h"
#include "inference_profile_request.h"
#include "plinth/core/encoding.h"
#include "plinth/store/inference_profiles.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

// A random id of 12 characters of [a-z0-9], as Bedrock's application profile ids.
std::string new_profile_id(Random& random) {
  constexpr std::string_view kAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string id;
  for (unsigned char b : random.bytes(12)) id += kAlphabet[b % kAlphabet.size()];
  return id;
}

json::array tags_json(const std::vector<store::ProfileTag>& tags) {
  json::array out;
  for (const store::ProfileTag& tag : tags) {
    out.push_back(json::object{{"key", tag.key}, {"value", tag.value}});
  }
  return out;
}

int64_t unix_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}

}  // namespace

void Gateway::create_inference_profile(Call& call, const std::string& account) {
  auto request = parse_create_profile_request(call.request.body);
  if (!request) {
    call.respond_error(request.error());
    return;
  }
  std::ranges::sort(request->tags, {}, &store::ProfileTag::key);  // as the store keeps them
  // copyFrom names a foundation model (id or ARN) or a system-defined inference profile.
  auto source = catalog::parse_model_reference(request->copy_from);
  if (!source) {
    call.respond_error(source.error());
    return;
  }
  if (source->form == catalog::ModelReference::Form::kApplicationInferenceProfileArn ||
      source->form == catalog::ModelReference::Form::kPromptRouterArn) {
    call.respond_error(Error(ErrorCode::kInvalidArgument,
                             "modelSource.copyFrom must name a foundation model or a "
                             "system-defined inference profile."));
    return;
  }
  auto model = services_.catalog.resolve(request->copy_from);
  if (!model) {
    call.respond_error(model.error());
    return;
  }
  // As on Bedrock: the caller needs the action on the new profile and on the model it copies.
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  std::string wildcard = profile_arn(account, "*");
  std::vector<std::pair<std::string_view, std::string>> checks = {
      {"bedrock:CreateInferenceProfile", wildcard},
      {"bedrock:CreateInferenceProfile",
       catalog::foundation_model_arn(options_.region, (*model)->id)}};
  if (!request->tags.empty()) checks.push_back({"bedrock:TagResource", wildcard});
  for (const auto& [action, resource] : checks) {
    if (auth::authorize(*call.principal, action, resource, context) != auth::Decision::kAllow) {
      call.respond_error(Error(ErrorCode::kPermissionDenied,
                               "User: " + call.principal->arn + " is not authorized to perform: " +
                                   std::string(action) + " on resource: " + resource));
      return;
    }
  }
  auto respond_created = [&](const std::string& id) {
    call.respond(201, "application/json",
                 json::serialize(json::object{{"inferenceProfileArn", profile_arn(account, id)},
                                              {"status", "ACTIVE"}}));
  };
  // A retried create (same clientRequestToken) answers with the profile the first one made.
  auto earlier = services_.profiles->find_by_token(account, request->client_request_token);
  if (!earlier) {
    call.respond_error(earlier.error());
    return;
  }
  if (*earlier) {
    const store::InferenceProfileRecord& made = **earlier;
    if (made.name != request->name || made.model_source != request->copy_from ||
        made.description != request->description || made.tags != request->tags) {
      call.respond_error(Error(ErrorCode::kConflict,
                               "The clientRequestToken was already used with other parameters."));
      return;
    }
    respond_created(made.id);
    return;
  }
  int64_t now = unix_ms(services_.clock);
  store::InferenceProfileRecord profile{account,
                                        new_profile_id(services_.random),
                                        request->name,
                                        request->description,
                                        request->copy_from,
                                        (*model)->id,
                                        request->client_request_token,
                                        now,
                                        now,
                                        request->tags};
  if (auto created = services_.profiles->create(profile, options_.max_inference_profiles);
      !created) {
    if (created.error().code == ErrorCode::kPayloadTooLarge) {
      call.respond_wire(
          bedrock_error(AwsErrorType::kServiceQuotaExceeded, created.error().message));
    } else {
      call.respond_error(created.error());
    }
    return;
  }
  respond_created(profile.id);
}

void Gateway::handle_profile_tags(Call& call, const std::string& account) {
  std::string_view path = call.request.path();
  std::string arn;
  std::string_view action;
  Result<TagResourceRequest> tag_request = fail(ErrorCode::kInternal, "");
  Result<UntagResourceRequest> untag_request = fail(ErrorCode::kInternal, "");
  if (path == "/tagResource") {
    action = "bedrock:TagResource";
    tag_request = parse_tag_resource_request(call.request.body);
    if (!tag_request) return call.respond_error(tag_request.error());
    arn = tag_request->resource_arn;
  } else if (path == "/untagResource") {
    action = "bedrock:UntagResource";
    untag_request = parse_untag_resource_request(call.request.body);
    if (!untag_request) return call.respond_error(untag_request.error());
    arn = untag_request->resource_arn;
  } else {
    action = "bedrock:ListTagsForResource";
    auto parsed = parse_list_tags_request(call.request.body);
    if (!parsed) return call.respond_error(parsed.error());
    arn = std::move(*parsed);
  }
  if (!is_valid_utf8(arn)) {
    return call.respond_error(Error(ErrorCode::kInvalidArgument, "The resourceARN is invalid."));
  }
  auto profile = find_profile(account, arn);
  if (!profile && profile.error().code != ErrorCode::kNotFound) {
    return call.respond_error(profile.error());
  }
  // Authorized on the ARN the profile answers to (only ARNs name taggable resources).
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  std::string resource = profile ? profile_arn(account, profile->id) : arn;
  if (auth::authorize(*call.principal, action, resource, context) != auth::Decision::kAllow) {
    return call.respond_error(Error(ErrorCode::kPermissionDenied,
                                    "User: " + call.principal->arn +
                                        " is not authorized to perform: " + std::string(action) +
                                        " on resource: " + resource));
  }
  if (!profile) return call.respond_error(profile.error());
  int64_t now = unix_ms(services_.clock);
  if (path == "/tagResource") {
    auto tagged = services_.profiles->tag(account, profile->id, tag_request->tags,
                                          static_cast<int64_t>(kMaxTagsPerResource), now);
    if (!tagged && tagged.error().code == ErrorCode::kPayloadTooLarge) {
      return call.respond_wire(bedrock_error(AwsErrorType::kTooManyTags, tagged.error().message));
    }
    if (!tagged) return call.respond_error(tagged.error());
  } else if (path == "/untagResource") {
    auto untagged = services_.profiles->untag(account, profile->id, untag_request->tag_keys, now);
    if (!untagged) return call.respond_error(untagged.error());
  } else {
    return call.respond(200, "application/json",
                        json::serialize(json::object{{"tags", tags_json(profile->tags)}}));
  }
  call.respond(200, "application/json", "{}");
}

}  // namespace plinth::api
