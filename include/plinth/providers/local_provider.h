// The local provider: answers InferenceRequests with GGUF models run by Plinth's own engine.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plinth/core/config.h"
#include "plinth/providers/provider.h"

namespace plinth::engine {
class Model;
}

namespace plinth::providers {

struct LocalModel {
  ModelConfig config;
  std::shared_ptr<engine::Model> model;
};

class LocalProvider final : public Provider {
 public:
  explicit LocalProvider(std::vector<LocalModel> models);
  ~LocalProvider() override;

  // Loads every model in the config (a missing or corrupt file is an error naming it).
  static Result<std::unique_ptr<LocalProvider>> load(const std::vector<ModelConfig>& models,
                                                     int engine_threads);

  Result<InferenceResponse> infer(const InferenceRequest& request,
                                  const StreamCallback& on_event) override;
  Result<int64_t> count_tokens(const InferenceRequest& request) override;
  Result<EmbeddingResponse> embed(const EmbeddingRequest& request) override;

  // The engine model behind a catalog id (nullptr when unknown), for the CLI and benchmarks.
  std::shared_ptr<engine::Model> model(const std::string& id) const;

 private:
  const LocalModel* find(const std::string& id) const;
  std::vector<LocalModel> models_;
};

}  // namespace plinth::providers
