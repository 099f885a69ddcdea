// Authorization of model calls: one decision over the resolved model, router or application
// inference profile and every name it answers to (ids, aliases, ARNs, each model a router can
// reach, the model a profile copies).
#include <algorithm>

#include "gateway_internal.h"

namespace plinth::api {

Status Gateway::authorize_model(Call& call, std::string_view action, std::string_view requested_id,
                                const catalog::ModelEntry& model) {
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  // Decided on the resolved resource and every name it answers to, never on the string sent.
  // An Allow on the resolved ARN or on the name the caller used grants the call: a router is
  // granted by its own ARN alone, so an application may be given the router without the right
  // to call the large model directly. An explicit Deny on any name of anything the call can
  // reach denies it: the requested ARN, the resolved ARN, and the foundation-model ARN of the
  // id and of every alias of each model that may answer (for a router: small, large, their
  // fallbacks and the catalog models it falls back to).
  std::vector<std::string> grant_arns;
  std::vector<std::string> deny_arns;
  auto add = [](std::vector<std::string>& arns, std::string arn) {
    if (std::ranges::find(arns, arn) == arns.end()) arns.push_back(std::move(arn));
  };
  auto add_model_names = [&](const catalog::ModelEntry& entry) {
    add(deny_arns, catalog::foundation_model_arn(options_.region, entry.id));
    for (const std::string& alias : entry.aliases) {
      add(deny_arns, catalog::foundation_model_arn(options_.region, alias));
    }
  };
  std::string resolved_arn;
  std::string requested_arn;
  if (call.router != nullptr) {
    resolved_arn = router::prompt_router_arn(options_.region, options_.account_id,
                                             call.router->definition().id);
    requested_arn =
        requested_id.starts_with("arn:")
            ? std::string(requested_id)
            : router::prompt_router_arn(options_.region, options_.account_id, requested_id);
    for (const catalog::ModelEntry* reachable : call.router->reachable_models()) {
      add_model_names(*reachable);
    }
  } else if (call.profile_arn) {
    // An application inference profile: as on Bedrock, the caller needs the action on the
    // profile ARN and on the model it copies (checked below); a Deny on either denies.
    resolved_arn = catalog::foundation_model_arn(options_.region, model.id);
    requested_arn = *call.profile_arn;
    add_model_names(model);
  } else {
    resolved_arn = catalog::foundation_model_arn(options_.region, model.id);
    requested_arn = requested_id.starts_with("arn:")
                        ? std::string(requested_id)
                        : catalog::foundation_model_arn(options_.region, requested_id);
    add_model_names(model);
  }
  add(grant_arns, resolved_arn);
  add(grant_arns, requested_arn);
  for (const std::string& arn : grant_arns) add(deny_arns, arn);

  auto denied = [&](std::string_view resource, std::string_view reason) {
    return fail(ErrorCode::kPermissionDenied,
                "User: " + call.principal->arn +
                    " is not authorized to perform: " + std::string(action) +
                    " on resource: " + std::string(resource) + std::string(reason));
  };
  bool allowed = false;
  bool profile_allowed = false;
  bool model_allowed = false;
  for (const std::string& arn : deny_arns) {
    auth::Decision decision = auth::authorize(*call.principal, action, arn, context);
    if (decision == auth::Decision::kExplicitDeny) {
      return denied(arn, " with an explicit deny in an identity-based policy");
    }
    if (decision != auth::Decision::kAllow) continue;
    if (std::ranges::find(grant_arns, arn) != grant_arns.end()) allowed = true;
    if (call.profile_arn) {
      if (arn == *call.profile_arn) {
        profile_allowed = true;
      } else {
        model_allowed = true;  // any name of the model the profile copies
      }
    }
  }
  if (call.profile_arn) {
    if (!profile_allowed) {
      return denied(*call.profile_arn, " because no identity-based policy allows the " +
                                           std::string(action) + " action");
    }
    if (!model_allowed) {
      return denied(resolved_arn, " because no identity-based policy allows the " +
                                      std::string(action) + " action");
    }
    return ok();
  }
  if (allowed) return ok();
  return denied(resolved_arn,
                " because no identity-based policy allows the " + std::string(action) + " action");
}

}  // namespace plinth::api
