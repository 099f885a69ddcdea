// Upstream providers: [[providers]] configs made into Providers (one per kind), and the
// CatalogProvider that answers each catalog model with its own provider, with fallbacks.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "plinth/catalog/catalog.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/providers/provider.h"
#include "plinth/upstream/transport.h"

namespace plinth::upstream {

using ProviderConfig = plinth::ProviderConfig;

// What every provider kind may need from the server around it.
struct ProviderDeps {
  std::shared_ptr<Clock> clock = Clock::real();
  std::shared_ptr<Random> random = Random::secure();
  std::string default_region = "us-east-1";  // the server's region, for bedrock without one
  // Reads an environment variable (tests substitute); default: std::getenv.
  std::function<std::optional<std::string>(const std::string&)> getenv;
  BreakerOptions breaker;
};

// The provider for one [[providers]] entry. kInvalidArgument on a bad base_url/endpoint or a
// missing API key (named by its variable or file, never shown).
Result<std::unique_ptr<providers::Provider>> make_provider(const ProviderConfig& config,
                                                           const ProviderDeps& deps);

// The transport options of a provider: its id, endpoint, timeouts, retries and breaker.
TransportOptions transport_options(const ProviderConfig& config, const ProviderDeps& deps,
                                   Endpoint endpoint);

// The API key named by api_key_env or api_key_file (surrounding whitespace trimmed); "" when
// neither is set. kInvalidArgument when the variable is unset or the file cannot be read.
Result<std::string> read_api_key(const ProviderConfig& config, const ProviderDeps& deps);

// The Provider the gateway, routers and documents call: a model naming a provider is answered
// by it (under its upstream_model name; the response names the catalog model), every other by
// the local engine. When the answering provider fails retryably (throttled, unavailable, timed
// out, circuit open) before anything reached the caller, the model's fallbacks are tried in
// order; InferenceResponse::model_id then names the fallback that answered. An upstream's
// structured output is validated against the schema (or the forced tool's input schema), as
// the engine does for local models, so that routers escalate on it alike.
class CatalogProvider final : public providers::Provider {
 public:
  // `catalog` and `local` must outlive it. Fails on an unknown provider id or provider error.
  static Result<std::unique_ptr<CatalogProvider>> create(const Config& config,
                                                         const catalog::Catalog& catalog,
                                                         providers::Provider& local,
                                                         const ProviderDeps& deps);
  // With providers made elsewhere (tests), keyed by [[providers]] id.
  CatalogProvider(const catalog::Catalog& catalog, providers::Provider& local,
                  std::map<std::string, std::unique_ptr<providers::Provider>> upstreams);
  ~CatalogProvider() override;

  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& request,
                                             const providers::StreamCallback& on_event) override;
  Result<int64_t> count_tokens(const providers::InferenceRequest& request) override;
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override;

  // The upstream provider with this [[providers]] id; nullptr when none.
  providers::Provider* upstream(const std::string& provider_id) const;

 private:
  // The model itself, then its fallbacks (each once), as catalog entries.
  std::vector<const catalog::ModelEntry*> candidates(const std::string& model_id) const;
  providers::Provider& provider_for(const catalog::ModelEntry& model) const;

  const catalog::Catalog& catalog_;
  providers::Provider& local_;
  std::map<std::string, std::unique_ptr<providers::Provider>> upstreams_;
};

}  // namespace plinth::upstream
