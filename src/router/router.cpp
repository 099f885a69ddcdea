// Router construction, the small-then-large decision with same-tier fallback, and RouterSet.
#include "plinth/router/router.h"

#include <algorithm>
#include <unordered_set>

namespace plinth::router {
namespace {

constexpr int kMaxRetriesLimit = 10;

Error bad(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

// Errors another model (or another try) may not have; a bad request or a cancel is final.
bool retryable(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kInternal ||
         code == ErrorCode::kIo || code == ErrorCode::kTimeout || code == ErrorCode::kThrottled;
}

Result<const catalog::ModelEntry*> text_model(const catalog::Catalog& catalog,
                                              std::string_view router_id, std::string_view name) {
  const catalog::ModelEntry* model = catalog.find(name);
  if (model == nullptr) {
    return std::unexpected(
        bad("router " + std::string(router_id) + ": unknown model '" + std::string(name) + "'"));
  }
  if (model->kind != catalog::ModelKind::kText) {
    return std::unexpected(bad("router " + std::string(router_id) + ": model '" +
                               std::string(name) + "' is not a text model"));
  }
  return model;
}

}  // namespace

Result<Router> Router::create(RouterDefinition definition, const catalog::Catalog& catalog) {
  if (definition.id.empty()) return std::unexpected(bad("router id must not be empty"));
  if (definition.max_retries < 0 || definition.max_retries > kMaxRetriesLimit) {
    return std::unexpected(
        bad("router " + definition.id + ": max_retries must be between 0 and 10"));
  }
  Router router;
  auto small = text_model(catalog, definition.id, definition.small);
  if (!small) return std::unexpected(small.error());
  auto large = text_model(catalog, definition.id, definition.large);
  if (!large) return std::unexpected(large.error());
  for (std::string& fallback : definition.fallbacks) {
    auto model = text_model(catalog, definition.id, fallback);
    if (!model) return std::unexpected(model.error());
    fallback = (*model)->id;
  }
  definition.small = (*small)->id;
  definition.large = (*large)->id;
  router.definition_ = std::move(definition);
  router.catalog_ = &catalog;
  router.small_ = *small;
  router.large_ = *large;
  return router;
}

std::vector<const catalog::ModelEntry*> Router::tier_candidates(
    const catalog::ModelEntry& first) const {
  std::vector<const catalog::ModelEntry*> candidates{&first};
  auto add = [&](const catalog::ModelEntry* model) {
    if (model != nullptr && model->kind == catalog::ModelKind::kText && model->tier == first.tier &&
        std::ranges::find(candidates, model) == candidates.end()) {
      candidates.push_back(model);
    }
  };
  for (const std::string& id : definition_.fallbacks) add(catalog_->find(id));
  for (const catalog::ModelEntry& model : catalog_->entries()) add(&model);
  return candidates;
}

std::vector<const catalog::ModelEntry*> Router::reachable_models() const {
  std::vector<const catalog::ModelEntry*> reachable;
  size_t attempts = static_cast<size_t>(std::max(definition_.max_retries, 0)) + 1;
  for (const catalog::ModelEntry* first : {small_, large_}) {
    std::vector<const catalog::ModelEntry*> candidates = tier_candidates(*first);
    for (size_t i = 0; i < candidates.size() && i < attempts; ++i) {
      if (std::ranges::find(reachable, candidates[i]) == reachable.end()) {
        reachable.push_back(candidates[i]);
      }
    }
  }
  return reachable;
}

RoutedResponse Router::infer(providers::Provider& provider,
                             const providers::InferenceRequest& request, const OutputChecks& checks,
                             const RouteCallbacks& callbacks) const {
  RoutedResponse routed;
  bool streamed = false;  // some output reached callbacks.on_event: no more fallback after that
  // Tries `first` and then its tier's other models, 1 + max_retries calls at most.
  auto run_tier = [&](const catalog::ModelEntry& first,
                      const auto& make_callback) -> Result<providers::InferenceResponse> {
    std::vector<const catalog::ModelEntry*> candidates = tier_candidates(first);
    Error last;
    for (int i = 0; i <= definition_.max_retries; ++i) {
      const catalog::ModelEntry& model = *candidates[i % candidates.size()];
      providers::InferenceRequest attempt_request = request;
      attempt_request.model_id = model.id;
      auto result = provider.infer(attempt_request, make_callback(model));
      Attempt attempt{&model, {}, std::nullopt};
      if (result) {
        // The model's own catalog fallbacks may have answered, after answers that broke the
        // schema: each is paid for at its own model's prices.
        for (const providers::ReplacedAnswer& earlier : result->replaced) {
          if (const catalog::ModelEntry* replaced = catalog_->find(earlier.model_id)) {
            routed.attempts.push_back({replaced, earlier.usage, std::nullopt});
          }
        }
        if (const catalog::ModelEntry* answered = catalog_->find(result->model_id)) {
          attempt.model = answered;
        }
        attempt.usage = result->usage;
        routed.attempts.push_back(attempt);
        routed.answered_by = attempt.model;
        return result;
      }
      attempt.error = result.error();
      routed.attempts.push_back(std::move(attempt));
      last = result.error();
      if (!retryable(last.code) || streamed) break;
    }
    return std::unexpected(last);
  };

  // The small tier's output is held back until the answer is known to pass.
  std::vector<providers::OwnedStreamEvent> buffered;
  auto buffering = [&](const catalog::ModelEntry&) -> providers::StreamCallback {
    buffered.clear();
    return [&](const providers::StreamEvent& event) {
      buffered.emplace_back(event);
      return !callbacks.keep_going || callbacks.keep_going();
    };
  };
  auto small = run_tier(*small_, buffering);
  if (!small) {
    routed.response = std::unexpected(small.error());
    return routed;
  }
  std::optional<EscalationReason> reason;
  for (EscalationReason failed : failed_reasons(request, *small, checks)) {
    if (std::ranges::find(definition_.escalate_on, failed) != definition_.escalate_on.end()) {
      reason = failed;
      break;
    }
  }
  if (!reason) {
    if (callbacks.on_answer_start) callbacks.on_answer_start(*routed.answered_by, std::nullopt);
    for (const providers::OwnedStreamEvent& event : buffered) {
      if (callbacks.on_event && !callbacks.on_event(event.view())) break;
    }
    routed.response = std::move(small);
    return routed;
  }

  routed.escalated = true;
  routed.reason = reason;
  // The large tier streams live: its answer is final whatever it says.
  auto live = [&](const catalog::ModelEntry& model) -> providers::StreamCallback {
    return [&callbacks, &streamed, &model, reason](const providers::StreamEvent& event) {
      if (!streamed) {
        streamed = true;
        if (callbacks.on_answer_start) callbacks.on_answer_start(model, reason);
      }
      if (callbacks.on_event) return callbacks.on_event(event);
      return !callbacks.keep_going || callbacks.keep_going();
    };
  };
  auto large = run_tier(*large_, live);
  if (large && !streamed && callbacks.on_answer_start) {
    callbacks.on_answer_start(*routed.answered_by, reason);
  }
  routed.response = std::move(large);
  return routed;
}

Result<RouterSet> RouterSet::from_definitions(std::vector<RouterDefinition> definitions,
                                              const catalog::Catalog& catalog) {
  RouterSet set;
  std::unordered_set<std::string> ids;
  for (RouterDefinition& definition : definitions) {
    if (catalog.find(definition.id) != nullptr) {
      return std::unexpected(
          bad("router id '" + definition.id + "' is already a model id or alias"));
    }
    if (!ids.insert(definition.id).second) {
      return std::unexpected(bad("router id used twice: " + definition.id));
    }
    auto router = Router::create(std::move(definition), catalog);
    if (!router) return std::unexpected(router.error());
    set.routers_.push_back(std::move(*router));
  }
  return set;
}

Result<RouterSet> RouterSet::from_config(const Config& config, const catalog::Catalog& catalog) {
  std::vector<RouterDefinition> definitions;
  for (const RouterConfig& entry : config.routers) {
    RouterDefinition definition{entry.id, entry.small,     entry.large,
                                {},       entry.fallbacks, entry.max_retries};
    for (const std::string& name : entry.escalate_on) {
      auto reason = parse_escalation_reason(name);
      if (!reason)
        return std::unexpected(bad("router " + entry.id + ": " + reason.error().message));
      definition.escalate_on.push_back(*reason);
    }
    definitions.push_back(std::move(definition));
  }
  return from_definitions(std::move(definitions), catalog);
}

const Router* RouterSet::find(std::string_view model_id) const {
  auto reference = catalog::parse_model_reference(model_id);
  if (!reference || (reference->form != catalog::ModelReference::Form::kPlainId &&
                     reference->form != catalog::ModelReference::Form::kPromptRouterArn)) {
    return nullptr;
  }
  for (const Router& router : routers_) {
    if (router.definition().id == reference->id) return &router;
  }
  return nullptr;
}

std::string prompt_router_arn(std::string_view region, std::string_view account,
                              std::string_view router_id) {
  std::string arn = "arn:aws:bedrock:";
  arn += region;
  arn += ':';
  arn += account;
  arn += ":prompt-router/";
  arn += router_id;
  return arn;
}

}  // namespace plinth::router
