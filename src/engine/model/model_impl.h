// ModelImpl: the engine::Model behind Model::load — file, weights, tokenizer, scheduler.
#pragma once

#include <memory>
#include <mutex>

#include "gguf/gguf_file.h"
#include "model/batch_scheduler.h"
#include "model/forward.h"
#include "model/model_weights.h"
#include "model/prefix_cache.h"
#include "ops/thread_pool.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

class ModelImpl final : public Model {
 public:
  static Result<std::shared_ptr<ModelImpl>> create(const std::filesystem::path& gguf,
                                                   const LoadOptions& options);
  ~ModelImpl() override;

  const ModelInfo& info() const override { return info_; }
  const Tokenizer& tokenizer() const override { return *tokenizer_; }
  std::string render_chat(std::span<const ChatMessage> messages,
                          bool add_generation_prompt) const override;
  Result<GenerateResult> generate(const GenerateRequest& request) override;
  Result<std::vector<float>> embed(const EmbedRequest& request) override;

  // Embedding of already tokenized input (tests feed reference ids).
  Result<std::vector<float>> embed_tokens(std::span<const TokenId> tokens, bool normalize,
                                          bool exact);
  const ModelConfig& config() const { return config_; }
  int32_t context_length() const { return context_length_; }

 private:
  ModelImpl(std::unique_ptr<GgufFile> file, ModelConfig config, ModelWeights weights,
            std::unique_ptr<Tokenizer> tokenizer, const LoadOptions& options);

  std::unique_ptr<GgufFile> file_;  // the mapping every weight view points into
  ModelConfig config_;
  ModelWeights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  ModelInfo info_;
  int32_t context_length_ = 0;
  ThreadPool pool_;
  std::mutex compute_mutex_;  // guards forward_ and pool_: one forward pass at a time
  ForwardPass forward_;
  std::unique_ptr<PrefixCache> prefixes_;      // null when LoadOptions turned it off
  std::unique_ptr<BatchScheduler> scheduler_;  // declared last: stopped before the rest goes
};

}  // namespace plinth::engine
