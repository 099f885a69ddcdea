// The Gateway: the http Handler that authenticates, authorizes, limits and dispatches every
// request to the Bedrock Runtime, OpenAI-compatible, Anthropic Messages and STS/IAM Query wire
// formats.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/api/request_limits.h"
#include "plinth/auth/authenticator.h"
#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"
#include "plinth/auth/sts.h"
#include "plinth/auth/web_identity.h"
#include "plinth/catalog/catalog.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/random.h"
#include "plinth/http/message.h"
#include "plinth/http/server.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"
#include "plinth/ledger/metrics.h"
#include "plinth/providers/provider.h"
#include "plinth/router/router.h"
#include "plinth/store/storage_health.h"

namespace plinth::upstream {
class BedrockPassthrough;
}  // namespace plinth::upstream
namespace plinth::vectors {
class VectorStore;
struct SearchHit;
}  // namespace plinth::vectors
namespace plinth::documents {
class DocumentService;
}
namespace plinth::store {
class InferenceProfileStore;
struct InferenceProfileRecord;
}  // namespace plinth::store

namespace plinth::api {

inline constexpr std::string_view kContainerCredentialsPath = "/v1/container-credentials";
inline constexpr std::string_view kAnthropicMessagesPath = "/v1/messages";
struct EmbeddingInvocation;

struct GatewayOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  int max_concurrent_per_principal = 64;
  RequestLimits limits;
  bool metrics_require_auth = false;  // GET /metrics needs SigV4 and plinth:GetMetrics
  // GET /v1/container-credentials answers with this role's credentials to a caller whose
  // Authorization header is the token; either empty: the endpoint answers 404.
  std::string task_role;
  std::string container_credentials_token;
  int64_t max_inference_profiles = 1000;  // application inference profiles per account

  static GatewayOptions from_config(const Config& config);
};

// What the Gateway calls; all must outlive it. sts / iam may be null (then POST / answers
// ServiceUnavailable for that service).
struct GatewayServices {
  const auth::Authenticator& authenticator;
  const Clock& clock;
  Random& random;  // request ids and message ids; must be safe to call from several threads
  const catalog::Catalog& catalog;
  providers::Provider& provider;  // answers for every catalog model id
  const auth::StsService* sts = nullptr;
  auth::IamService* iam = nullptr;
  // STS AssumeRoleWithWebIdentity; null: it answers ServiceUnavailable.
  const auth::WebIdentityService* web_identity = nullptr;
  // Ledger: when set, every model call is recorded (success or failure) and GET /v1/usage
  // answers from it; when null, /v1/usage answers ServiceUnavailable.
  ledger::Ledger* ledger = nullptr;
  // Budgets: when set, every model call reserves its estimated cost first (ThrottlingException
  // when a hard limit would be exceeded) and settles the actual cost when recorded.
  ledger::Budgets* budgets = nullptr;
  // Metrics: when set, every recorded model call is counted and GET /metrics answers.
  ledger::Metrics* metrics = nullptr;
  // Prompt routers usable as modelId; null or empty: none.
  const router::RouterSet* routers = nullptr;
  // Knowledge bases: when set, Bedrock Agent Runtime Retrieve and GET /v1/search answer from
  // it; when null, they answer ServiceUnavailable.
  vectors::VectorStore* vectors = nullptr;
  // Documents: when set, /v1/pipelines, /v1/documents and /v1/jobs answer from it; when null,
  // they answer ServiceUnavailable.
  documents::DocumentService* documents = nullptr;
  // Application inference profiles: when set, the control-plane profile and tag APIs answer and
  // profile ARNs work as modelId; when null, those APIs answer ServiceUnavailable.
  store::InferenceProfileStore* profiles = nullptr;
  // The store: when set, /health reports its database (503 when it does not answer) and each
  // domain's schema version; when null, /health answers {"status":"ok"}.
  store::Store* storage = nullptr;
  // The [[providers]] entry of kind bedrock with this id, which forwards Bedrock inbound calls
  // unchanged (gateway_bedrock_passthrough.cpp); empty or null: every call is translated.
  std::function<upstream::BedrockPassthrough*(const std::string& provider_id)>
      bedrock_passthrough{};
};

class Gateway {
 public:
  Gateway(GatewayOptions options, GatewayServices services);

  // Thread-safe; blocks for the length of an inference.
  void handle(const http::Request& request, http::Exchange& exchange);
  // A Handler that calls handle() on this Gateway (which must outlive the server).
  http::Handler handler();
  // Bedrock-shaped bodies for the errors the http server produces itself
  // (http::ServerOptions::error_response).
  http::Response error_response(int status, std::string_view message);

  // Requests currently running for a principal ARN (tests, metrics).
  int in_flight(const std::string& principal_arn) const;

 private:
  struct Call;  // one request in progress (gateway_internal.h)
  class ConcurrencySlot;

  void handle_query(Call& call);
  void handle_container_credentials(Call& call);  // gateway_container_credentials.cpp
  void handle_model(Call& call, std::string_view model_segment, std::string_view operation);
  void handle_openai(Call& call, std::string_view operation);
  // POST /v1/messages, the Anthropic Messages API (gateway_anthropic.cpp).
  void handle_anthropic_messages(Call& call);
  // Catalog APIs (gateway_catalog.cpp): GET /v1/models, GET /foundation-models[/{id}].
  void handle_list_models(Call& call);
  void handle_foundation_models(Call& call, std::string_view path);

  void converse(Call& call, const catalog::ModelEntry& model, bool stream);
  void invoke(Call& call, const catalog::ModelEntry& model, bool stream);
  // CountTokens (gateway_count_tokens.cpp): not billed, not budgeted.
  void count_tokens(Call& call, const catalog::ModelEntry& model);
  void chat_completions(Call& call);
  // For /v1/chat/completions and /v1/messages: resolves the model the body names, checks it is a
  // text model, authorizes InvokeModel (or ...WithResponseStream) on it, sets the request's
  // model_id and reserves the budget; on failure answers and returns null.
  const catalog::ModelEntry* admit_text_inference(Call& call, const std::string& requested_model,
                                                  bool stream,
                                                  providers::InferenceRequest& inference);
  void embeddings(Call& call);
  // Application inference profiles and tags (gateway_inference_profiles.cpp).
  static bool is_inference_profile_path(std::string_view path);
  void handle_inference_profiles(Call& call);
  void create_inference_profile(Call& call, const std::string& account);
  void list_inference_profiles(Call& call, const std::string& account);
  void handle_profile_tags(Call& call, const std::string& account);
  // The stored profile an identifier (id, name or application-profile ARN) names in `account`.
  Result<store::InferenceProfileRecord> find_profile(const std::string& account,
                                                     std::string_view identifier);
  std::string profile_arn(std::string_view account, std::string_view id) const;
  // The caller's account (the gateway's own for principals without one).
  std::string account_of(const auth::Principal& principal) const;
  // Titan and Cohere InvokeModel bodies (gateway_embeddings.cpp).
  void invoke_embedding(Call& call, const catalog::ModelEntry& model, bool stream,
                        const EmbeddingInvocation& invocation, bool titan);
  // Embeds each text with `base`'s settings (one forward pass each: the encoder runs one
  // sequence at a time); kCancelled once the client has gone.
  Result<std::vector<providers::EmbeddingResponse>> embed_texts(
      Call& call, const providers::EmbeddingRequest& base, const std::vector<std::string>& texts);
  // Ledger (gateway_usage.cpp).
  void handle_usage(Call& call);
  // Documents REST API (gateway_documents*.cpp).
  static bool is_documents_path(std::string_view path);
  void handle_documents(Call& call);
  void stream_job_events(Call& call, const std::string& account, const std::string& job_id);
  void record_usage(Call& call);
  // Budgets and metrics (gateway_budgets.cpp).
  void handle_budgets(Call& call);
  void handle_metrics(Call& call);
  void handle_health(Call& call);
  // SigV4 (service "plinth") and plinth:<action> on "*"; on failure answers and returns false.
  bool authorize_plinth(Call& call, std::string_view action);
  // Holds the call's estimated cost against every matching budget; on refusal answers and
  // returns false.
  bool reserve_budget(Call& call, int64_t input_tokens, int64_t max_output_tokens);
  // The same hold without answering: kThrottled naming the budget on refusal.
  Status hold_budget(Call& call, int64_t input_tokens, int64_t max_output_tokens);
  // Knowledge bases (gateway_retrieve.cpp).
  void handle_retrieve(Call& call, std::string_view knowledge_base_segment);
  void handle_search(Call& call);
  // Checks the knowledge base id's form and that the caller may perform `action` on it; on
  // failure answers and returns false.
  bool authorize_knowledge_base(Call& call, std::string_view action, std::string_view id);
  // Embeds `text` with the knowledge base's model (metered on the call) and searches the base.
  Result<std::vector<vectors::SearchHit>> search_knowledge_base(
      Call& call, const std::string& knowledge_base_id, const std::string& text, int k,
      std::optional<std::string> exclude_document_id);

  // "Authorization: Bearer …" (a Bedrock API key, short- or long-term, or a CreateBearerToken
  // token) for service "bedrock" and the OpenAI-shaped /v1 routes, else SigV4 for `service`;
  // answers the call when it fails.
  Result<auth::Principal> authenticate(Call& call, std::string_view service);
  // Resolves the model the caller named and meters it; on failure answers and returns null.
  const catalog::ModelEntry* resolve_model(Call& call, const std::string& requested_id);
  // An application inference profile ARN: the model it copies (ResourceNotFoundException once
  // deleted); notes the profile on the call for authorization and the ledger.
  const catalog::ModelEntry* resolve_profile(Call& call, const std::string& requested_id);
  // Runs one inference for the call, through its router when the caller named one, and meters
  // it (gateway_router.cpp). on_answer_start runs before the answer's first event.
  Result<providers::InferenceResponse> run_inference(
      Call& call, const providers::InferenceRequest& request,
      const providers::StreamCallback& on_event,
      const std::function<void(const catalog::ModelEntry&)>& on_answer_start = {});
  // Runs a non-streaming inference that stops when the client goes away.
  Result<providers::InferenceResponse> infer_until_client_gone(
      Call& call, providers::InferenceRequest& request);
  // A Bedrock inbound call (operation converse, converse-stream, invoke,
  // invoke-with-response-stream) to a model of a bedrock upstream, forwarded as it came; false
  // when the model is not one (routers and models with fallbacks are translated instead).
  bool forward_to_bedrock(Call& call, const catalog::ModelEntry& model, std::string_view operation);
  Status authorize_model(Call& call, std::string_view action, std::string_view requested_id,
                         const catalog::ModelEntry& model);
  Result<std::unique_ptr<ConcurrencySlot>> acquire_slot(const auth::Principal& principal);
  void release_slot(const std::string& key);

  GatewayOptions options_;
  GatewayServices services_;
  mutable std::mutex in_flight_mutex_;
  std::map<std::string, int> in_flight_;  // guarded by in_flight_mutex_
};

}  // namespace plinth::api
