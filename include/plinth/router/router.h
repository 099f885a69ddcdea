// Prompt routers: a small model first, escalation to the large one when its output fails, and
// same-tier fallback on provider errors; the output checks callers attach to a request.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/catalog/catalog.h"
#include "plinth/core/config.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::router {

// Why a small model's answer was not good enough.
enum class EscalationReason {
  kInvalidOutput,  // a schema or tool was requested and the output did not validate
  kMaxTokens,      // generation stopped at max tokens
  kChecks,         // the caller's OutputChecks failed
};

// "invalid_output" | "max_tokens" | "checks"
std::string_view to_string(EscalationReason reason);
Result<EscalationReason> parse_escalation_reason(std::string_view text);

// What the caller requires of an answer; an empty set requires nothing.
struct OutputChecks {
  std::vector<std::string> required_fields;          // top-level fields of the JSON answer
  std::optional<providers::StopReason> stop_reason;  // the stop reason expected
  std::optional<int64_t> min_length;                 // minimum text length in Unicode code points
};

// {"required_fields":["total"],"stop_reason":"end_turn","min_length":10} — every key optional;
// stop_reason is a Bedrock stop reason name. kInvalidArgument on anything else.
Result<OutputChecks> parse_output_checks(std::string_view json_text);

// The reasons `response` fails, in the order invalid_output, max_tokens, checks. A max-tokens
// stop is no failure when the checks expect exactly that stop reason.
std::vector<EscalationReason> failed_reasons(const providers::InferenceRequest& request,
                                             const providers::InferenceResponse& response,
                                             const OutputChecks& checks);

struct RouterDefinition {
  std::string id;
  std::string small;  // catalog id or alias
  std::string large;
  std::vector<EscalationReason> escalate_on;
  std::vector<std::string> fallbacks;  // tried (on provider errors) by the failed model's tier
  int max_retries = 2;                 // provider-error retries per tier
};

// One call to a provider made on behalf of a routed request.
struct Attempt {
  const catalog::ModelEntry* model = nullptr;
  providers::Usage usage;      // zero when the call failed
  std::optional<Error> error;  // the provider's error, if it failed
};

struct RoutedResponse {
  Result<providers::InferenceResponse> response;  // the answer, or the last provider error
  const catalog::ModelEntry* answered_by = nullptr;
  std::vector<Attempt> attempts;  // in order; every one of them is paid for
  bool escalated = false;
  std::optional<EscalationReason> reason;  // set when escalated
};

struct RouteCallbacks {
  // Receives the output the caller sees: a small-tier answer is buffered and replayed once it
  // passes; a large-tier answer streams live. Return false to cancel. May be empty.
  providers::StreamCallback on_event;
  // Called once, for the model that answers, before its first event reaches on_event (or when it
  // finishes, if it streamed none): headers and stream writers. `reason` is set when escalated.
  std::function<void(const catalog::ModelEntry& model, std::optional<EscalationReason> reason)>
      on_answer_start;
  // Polled while a small-tier answer is buffered; false cancels it. May be empty.
  std::function<bool()> keep_going;
};

class Router {
 public:
  // `catalog` must outlive the router; small, large and fallbacks must be its text models.
  static Result<Router> create(RouterDefinition definition, const catalog::Catalog& catalog);

  const RouterDefinition& definition() const { return definition_; }
  const catalog::ModelEntry& small_model() const { return *small_; }
  const catalog::ModelEntry& large_model() const { return *large_; }
  // Every model infer() may call: each tier's first 1 + max_retries candidates (the model
  // itself, its fallbacks, then the catalog's models of that tier), small tier first.
  std::vector<const catalog::ModelEntry*> reachable_models() const;

  // Small model first (falling back within its tier on provider errors, at most max_retries
  // retries), then the large model when the answer fails for a reason in escalate_on.
  RoutedResponse infer(providers::Provider& provider, const providers::InferenceRequest& request,
                       const OutputChecks& checks, const RouteCallbacks& callbacks) const;

 private:
  Router() = default;
  // The models to try in `tier`, `first` first: fallbacks of that tier, then the catalog's.
  std::vector<const catalog::ModelEntry*> tier_candidates(const catalog::ModelEntry& first) const;

  RouterDefinition definition_;
  const catalog::Catalog* catalog_ = nullptr;
  const catalog::ModelEntry* small_ = nullptr;
  const catalog::ModelEntry* large_ = nullptr;
};

// The configured routers, looked up by id or prompt-router ARN.
class RouterSet {
 public:
  RouterSet() = default;
  // Fails with kInvalidArgument on an unknown model, a non-text model, an id that clashes with
  // a model id or alias, a duplicate router id, or an unknown escalation reason.
  static Result<RouterSet> from_config(const Config& config, const catalog::Catalog& catalog);
  static Result<RouterSet> from_definitions(std::vector<RouterDefinition> definitions,
                                            const catalog::Catalog& catalog);

  // A plain router id or arn:aws:bedrock:REGION:ACCOUNT:(default-)prompt-router/ID; nullptr when
  // model_id names no router.
  const Router* find(std::string_view model_id) const;
  const std::vector<Router>& routers() const { return routers_; }

 private:
  std::vector<Router> routers_;
};

// arn:aws:bedrock:REGION:ACCOUNT:prompt-router/ID, the resource policies name.
std::string prompt_router_arn(std::string_view region, std::string_view account,
                              std::string_view router_id);

}  // namespace plinth::router
