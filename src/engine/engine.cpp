// Model::load and ModelImpl: validation of requests, generation through the scheduler, embeddings.
#include <cmath>

#include "chat/chat_template.h"
#include "model/model_impl.h"
#include "tokenizer/tokenizer_loader.h"

namespace plinth::engine {

Result<std::shared_ptr<Model>> Model::load(const std::filesystem::path& gguf,
                                           const LoadOptions& options) {
  auto model = ModelImpl::create(gguf, options);
  if (!model) return std::unexpected(model.error());
  return std::shared_ptr<Model>(std::move(*model));
}

Result<std::shared_ptr<ModelImpl>> ModelImpl::create(const std::filesystem::path& gguf,
                                                     const LoadOptions& options) {
  auto file = GgufFile::open(gguf, options.huge_pages ? Residency::kHugePages : Residency::kMapped);
  if (!file) return std::unexpected(file.error());
  auto config = read_model_config(**file);
  if (!config) return std::unexpected(config.error());
  auto weights = bind_model_weights(**file, *config);
  if (!weights) return std::unexpected(weights.error());
  store_weights_in_panels(**file, *weights);
  auto tokenizer = load_tokenizer(**file);
  if (!tokenizer) return std::unexpected(tokenizer.error());
  if ((*tokenizer)->vocab_size() != config->n_vocab)
    return fail(ErrorCode::kCorruptData,
                "model: tokenizer has " + std::to_string((*tokenizer)->vocab_size()) +
                    " tokens but the embedding has " + std::to_string(config->n_vocab));
  return std::shared_ptr<ModelImpl>(new ModelImpl(
      std::move(*file), std::move(*config), std::move(*weights), std::move(*tokenizer), options));
}

ModelImpl::ModelImpl(std::unique_ptr<GgufFile> file, ModelConfig config, ModelWeights weights,
                     std::unique_ptr<Tokenizer> tokenizer, const LoadOptions& options)
    : file_(std::move(file)),
      config_(std::move(config)),
      weights_(std::move(weights)),
      tokenizer_(std::move(tokenizer)),
      pool_(options.threads),
      forward_(config_, weights_, pool_) {
  context_length_ =
      options.context_length > 0 ? options.context_length : std::min(config_.train_context, 4096);
  if (config_.is_encoder) context_length_ = std::min(context_length_, config_.train_context);
  info_.architecture = config_.architecture;
  info_.name = file_->get_string("general.name").value_or("");
  info_.vocab_size = config_.n_vocab;
  info_.context_length = config_.train_context;
  info_.context_window = context_length_;
  info_.embedding_length = config_.n_embd;
  info_.layers = config_.n_layer;
  info_.is_encoder = config_.is_encoder;
  info_.chat_template = file_->get_string("tokenizer.chat_template").value_or("");
  info_.file_bytes = file_->file_size();
  if (!config_.is_encoder && options.prefix_cache_bytes > 0)
    prefixes_ =
        std::make_unique<PrefixCache>(options.prefix_cache_bytes, options.prefix_cache_min_tokens);
  if (!config_.is_encoder)
    scheduler_ =
        std::make_unique<BatchScheduler>(config_, forward_, compute_mutex_, options.max_sequences);
}

ModelImpl::~ModelImpl() { scheduler_.reset(); }

std::string ModelImpl::render_chat(std::span<const ChatMessage> messages,
                                   bool add_generation_prompt) const {
  // Unknown templates fall back to ChatML; the warning is not part of this interface.
  return ::plinth::engine::render_chat(info_.chat_template, messages, add_generation_prompt,
                                       *tokenizer_, nullptr);
}

Result<GenerateResult> ModelImpl::generate(const GenerateRequest& request) {
  if (config_.is_encoder)
    return fail(ErrorCode::kInvalidArgument,
                info_.name + " is an embedding model: it cannot generate");
  if (request.prompt.empty()) return fail(ErrorCode::kInvalidArgument, "the prompt is empty");
  if (request.max_tokens < 0) return fail(ErrorCode::kInvalidArgument, "max_tokens is negative");
  for (TokenId id : request.prompt)
    if (id < 0 || id >= config_.n_vocab)
      return fail(ErrorCode::kInvalidArgument,
                  "prompt token " + std::to_string(id) + " is out of range");
  const int64_t needed = static_cast<int64_t>(request.prompt.size()) + request.max_tokens;
  if (needed > context_length_)
    return fail(ErrorCode::kContextLength,
                "prompt (" + std::to_string(request.prompt.size()) + " tokens) plus max_tokens (" +
                    std::to_string(request.max_tokens) + ") exceeds the context length of " +
                    std::to_string(context_length_) + " tokens");
  Generation generation(request, *tokenizer_, config_, prefixes_.get(),
                        PassThreads{.pool = &pool_, .mutex = &compute_mutex_});
  scheduler_->run(generation);
  return generation.take_result();
}

Result<std::vector<float>> ModelImpl::embed(const EmbedRequest& request) {
  if (!config_.is_encoder)
    return fail(ErrorCode::kInvalidArgument,
                info_.name + " is a generative model: use an embedding model");
  auto tokens = tokenizer_->encode(request.text, /*add_special=*/true, /*parse_special=*/false);
  if (!tokens) return std::unexpected(tokens.error());
  const auto limit = static_cast<size_t>(context_length_);
  if (request.truncation != EmbedTruncation::kNone && tokens->size() > limit && limit >= 2) {
    // Keep the first and last tokens (bert's [CLS] and [SEP]) and cut from the chosen end.
    std::vector<TokenId> kept;
    kept.reserve(limit);
    kept.push_back(tokens->front());
    if (request.truncation == EmbedTruncation::kEnd) {
      kept.insert(kept.end(), tokens->begin() + 1, tokens->begin() + (limit - 1));
    } else {
      kept.insert(kept.end(), tokens->end() - (limit - 1), tokens->end() - 1);
    }
    kept.push_back(tokens->back());
    return embed_tokens(kept, request.normalize, request.exact);
  }
  return embed_tokens(*tokens, request.normalize, request.exact);
}

Result<std::vector<float>> ModelImpl::embed_tokens(std::span<const TokenId> tokens, bool normalize,
                                                   bool exact) {
  if (!config_.is_encoder)
    return fail(ErrorCode::kInvalidArgument,
                info_.name + " is a generative model: use an embedding model");
  if (tokens.empty()) return fail(ErrorCode::kInvalidArgument, "nothing to embed");
  if (static_cast<int64_t>(tokens.size()) > context_length_)
    return fail(ErrorCode::kContextLength, "input (" + std::to_string(tokens.size()) +
                                               " tokens) exceeds the context length of " +
                                               std::to_string(context_length_) + " tokens");
  for (TokenId id : tokens)
    if (id < 0 || id >= config_.n_vocab)
      return fail(ErrorCode::kInvalidArgument, "token " + std::to_string(id) + " is out of range");
  std::vector<float> embedding;
  {
    std::lock_guard lock(compute_mutex_);
    embedding = forward_.encode(tokens, exact);
  }
  if (normalize) {
    double sum_sq = 0;
    for (float v : embedding) sum_sq += static_cast<double>(v) * v;
    const double norm = std::sqrt(sum_sq);
    if (norm > 0)
      for (float& v : embedding) v = static_cast<float>(v / norm);
  }
  return embedding;
}

}  // namespace plinth::engine
