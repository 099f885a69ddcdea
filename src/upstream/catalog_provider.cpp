// CatalogProvider: each catalog model answered by its own provider, with fallbacks (on retryable
// errors, and on complete answers that break the requested schema) and the schema validation of
// upstream answers.
#include <algorithm>

#include "plinth/structured/structured.h"
#include "plinth/upstream/upstream.h"

namespace plinth::upstream {
namespace {

// Did an upstream's answer meet the request's schema or forced tool? (nullopt: nothing asked)
std::optional<bool> validate_upstream_output(const providers::InferenceRequest& request,
                                             const providers::InferenceResponse& response) {
  using Kind = providers::ContentBlock::Kind;
  if (request.forced_tool) {
    auto tool =
        std::find_if(request.tools.begin(), request.tools.end(),
                     [&](const providers::ToolSpec& t) { return t.name == *request.forced_tool; });
    for (const providers::ContentBlock& block : response.content) {
      if (block.kind != Kind::kToolUse || block.tool_name != *request.forced_tool) continue;
      if (tool == request.tools.end()) return true;
      return structured::validate(tool->input_schema_json, block.tool_input_json).has_value();
    }
    return false;  // the forced tool was not called
  }
  if (request.output_schema_json) {
    std::string text;
    for (const providers::ContentBlock& block : response.content) {
      if (block.kind == Kind::kText) text += block.text;
    }
    return structured::validate(*request.output_schema_json, text).has_value();
  }
  if (!request.tools.empty()) {  // every tool call's input must match that tool's schema
    for (const providers::ContentBlock& block : response.content) {
      if (block.kind != Kind::kToolUse) continue;
      auto tool =
          std::find_if(request.tools.begin(), request.tools.end(),
                       [&](const providers::ToolSpec& t) { return t.name == block.tool_name; });
      if (tool == request.tools.end()) return false;
      if (!structured::validate(tool->input_schema_json, block.tool_input_json)) return false;
    }
    return true;
  }
  return std::nullopt;
}

}  // namespace

CatalogProvider::CatalogProvider(
    const catalog::Catalog& catalog, providers::Provider& local,
    std::map<std::string, std::unique_ptr<providers::Provider>> upstreams)
    : catalog_(catalog), local_(local), upstreams_(std::move(upstreams)) {}

CatalogProvider::~CatalogProvider() = default;

Result<std::unique_ptr<CatalogProvider>> CatalogProvider::create(const Config& config,
                                                                 const catalog::Catalog& catalog,
                                                                 providers::Provider& local,
                                                                 const ProviderDeps& deps) {
  std::map<std::string, std::unique_ptr<providers::Provider>> upstreams;
  for (const ProviderConfig& provider : config.providers) {
    auto made = make_provider(provider, deps);
    if (!made) {
      return fail(made.error().code, "provider " + provider.id + ": " + made.error().message);
    }
    upstreams.emplace(provider.id, std::move(*made));
  }
  for (const catalog::ModelEntry& model : catalog.entries()) {
    if (!model.provider.empty() && !upstreams.contains(model.provider)) {
      return fail(ErrorCode::kInvalidArgument,
                  "model " + model.id + ": provider '" + model.provider + "' is not configured");
    }
  }
  return std::make_unique<CatalogProvider>(catalog, local, std::move(upstreams));
}

providers::Provider* CatalogProvider::upstream(const std::string& provider_id) const {
  auto it = upstreams_.find(provider_id);
  return it == upstreams_.end() ? nullptr : it->second.get();
}

std::vector<const catalog::ModelEntry*> CatalogProvider::candidates(
    const std::string& model_id) const {
  std::vector<const catalog::ModelEntry*> out;
  const catalog::ModelEntry* first = catalog_.find(model_id);
  if (first == nullptr) return out;
  out.push_back(first);
  for (const std::string& name : first->fallbacks) {
    const catalog::ModelEntry* fallback = catalog_.find(name);
    if (fallback != nullptr && std::find(out.begin(), out.end(), fallback) == out.end()) {
      out.push_back(fallback);
    }
  }
  return out;
}

providers::Provider& CatalogProvider::provider_for(const catalog::ModelEntry& model) const {
  if (model.provider.empty()) return local_;
  providers::Provider* provider = upstream(model.provider);
  return provider != nullptr ? *provider : local_;  // create() refused unknown ids
}

Result<providers::InferenceResponse> CatalogProvider::infer(
    const providers::InferenceRequest& request, const providers::StreamCallback& on_event) {
  auto models = candidates(request.model_id);
  if (models.empty()) return local_.infer(request, on_event);  // the engine's own not-found
  // Something reached the caller: a fallback would repeat it. (Events of a call that is not
  // streamed to its caller reach nobody; the response carries the answer.)
  bool streamed = false;
  providers::StreamCallback tracked;
  if (on_event) {
    tracked = [&](const providers::StreamEvent& event) {
      streamed = request.streamed_to_caller;
      return on_event(event);
    };
  }
  Result<providers::InferenceResponse> last = fail(ErrorCode::kInternal, "no model tried");
  // A complete answer that broke the requested schema moves on to the next model, when nothing
  // was streamed yet; it is kept (and answered, as a model error) should no later model answer.
  std::vector<providers::ReplacedAnswer> replaced;
  std::optional<providers::InferenceResponse> broken;
  for (size_t i = 0; i < models.size(); ++i) {
    const catalog::ModelEntry* model = models[i];
    const bool more = i + 1 < models.size();
    if (model->provider.empty()) {
      providers::InferenceRequest local = request;
      local.model_id = model->id;
      last = local_.infer(local, tracked);
    } else {
      providers::InferenceRequest upstream_request = request;
      upstream_request.model_id = model->upstream_model;
      last = provider_for(*model).infer(upstream_request, tracked);
      if (last) {
        last->model_id = model->id;
        last->output_valid = validate_upstream_output(request, *last);
      }
    }
    if (last && more && !streamed && providers::breaks_requested_schema(request, *last)) {
      replaced.push_back({last->model_id, last->usage});
      broken = std::move(*last);
      continue;
    }
    if (last || streamed || !retryable_error(last.error())) break;
  }
  if (!last && broken) {  // the broken answer stands: it was paid for, and it says what failed
    replaced.pop_back();
    last = std::move(*broken);
  }
  if (last) last->replaced = std::move(replaced);
  return last;
}

Result<int64_t> CatalogProvider::count_tokens(const providers::InferenceRequest& request) {
  const catalog::ModelEntry* model = catalog_.find(request.model_id);
  if (model == nullptr || model->provider.empty()) return local_.count_tokens(request);
  providers::InferenceRequest upstream_request = request;
  upstream_request.model_id = model->upstream_model;
  auto counted = provider_for(*model).count_tokens(upstream_request);
  if (!counted && counted.error().code == ErrorCode::kInvalidArgument) {
    return fail(ErrorCode::kInvalidArgument,
                "The provided model " + request.model_id + " doesn't support counting tokens.");
  }
  return counted;
}

Result<providers::EmbeddingResponse> CatalogProvider::embed(
    const providers::EmbeddingRequest& request) {
  auto models = candidates(request.model_id);
  if (models.empty()) return local_.embed(request);
  Result<providers::EmbeddingResponse> last = fail(ErrorCode::kInternal, "no model tried");
  for (const catalog::ModelEntry* model : models) {
    providers::EmbeddingRequest one = request;
    one.model_id = model->provider.empty() ? model->id : model->upstream_model;
    last = provider_for(*model).embed(one);
    if (last) last->model_id = model->id;
    if (last || !retryable_error(last.error())) return last;
  }
  return last;
}

}  // namespace plinth::upstream
