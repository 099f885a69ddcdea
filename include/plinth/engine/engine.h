// The engine's public face: load a GGUF model, tokenize, render chats, generate, embed.
// Like llama.cpp's C API, this is the whole boundary: nothing here knows about HTTP or schemas.
#pragma once

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::engine {

using TokenId = int32_t;

// Read-only view of a tokenizer, enough for detokenizing and for the structured-output module to
// precompute which tokens may follow a given state.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual int32_t vocab_size() const = 0;
  // Text to ids. add_special: the model's automatic BOS/EOS (CLS/SEP for bert).
  // parse_special: recognise special-token text such as "<|im_start|>" in `text`.
  virtual Result<std::vector<TokenId>> encode(std::string_view text, bool add_special,
                                              bool parse_special) const = 0;
  // The bytes a token stands for when it is emitted (SentencePiece "▁" -> " ", byte-fallback
  // tokens -> their byte, byte-level BPE -> the original bytes). Control tokens -> "" unless
  // render_special.
  virtual std::string token_bytes(TokenId id, bool render_special = false) const = 0;
  // Ids to text; an incomplete UTF-8 tail is kept as is (use an incremental decoder when
  // streaming).
  virtual std::string decode(std::span<const TokenId> ids, bool render_special = false) const = 0;
  virtual bool is_control(TokenId id) const = 0;            // control / special, never plain text
  virtual bool is_end_of_generation(TokenId id) const = 0;  // EOS, EOT, <|im_end|>, ...
  virtual std::optional<TokenId> bos() const = 0;
  virtual std::optional<TokenId> eos() const = 0;
};

struct ChatMessage {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ModelInfo {
  std::string architecture;  // llama | qwen2 | qwen3 | bert
  std::string name;
  int32_t vocab_size = 0;
  int32_t context_length = 0;  // training context from the file
  int32_t context_window = 0;  // what this load serves: prompt + max_tokens must fit in it
  int32_t embedding_length = 0;
  int32_t layers = 0;
  bool is_encoder = false;    // bert: embeddings only
  std::string chat_template;  // tokenizer.chat_template, may be empty
  uint64_t file_bytes = 0;
};

// Masks tokens before sampling (the structured-output module implements this).
// Called on the generating thread; one instance per generation, never shared.
class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Cheap check of a single candidate (tried first on the sampled token).
  virtual bool allows(TokenId token) = 0;
  // Sets allowed[i] = false for each token i that may not come next; allowed.size() == vocab size.
  virtual void fill_mask(std::span<uint8_t> allowed) = 0;
  // Commit a token chosen from the allowed set.
  virtual void accept(TokenId token) = 0;
  // True when the output is complete (only end-of-generation may follow).
  virtual bool is_complete() const = 0;
  // Tokens that are the only possible continuation (fast-forward); empty when there is a choice.
  virtual std::vector<TokenId> forced_tokens() { return {}; }
};

struct SamplingParams {
  float temperature = 0.0f;  // 0 = greedy
  int32_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  uint64_t seed = 0;
};

enum class StopReason { kEndOfGeneration, kMaxTokens, kStopSequence, kCancelled };

struct TokenLogprob {
  TokenId id = 0;
  float logprob = 0;  // log-softmax of the raw logits (before temperature and masks)
};

struct GeneratedStep {
  TokenId id = 0;
  float logprob = 0;
  std::vector<TokenLogprob> top;  // top `logprobs` alternatives, most likely first
};

// Called for each piece of text as it becomes complete UTF-8; return false to cancel.
using TextCallback = std::function<bool(std::string_view text_piece)>;

struct GenerateRequest {
  std::vector<TokenId> prompt;
  int32_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop_sequences;  // matched on text; the stop text is not emitted
  int32_t logprobs = 0;                     // top-K per step (0 = none)
  bool exact = false;                       // F32 activations and F32 KV cache
  TokenConstraint* constraint = nullptr;    // not owned; may be null
  // Reuse and store the prompt's KV cache in the model's prefix cache (fast mode only: exact
  // generations always run the whole prompt).
  bool cache_prompt = true;
  // An explicit cache checkpoint: the first cache_prefix_tokens prompt tokens are stored in the
  // prefix cache (with the whole prompt when it fits, else on their own). 0 = none.
  int32_t cache_prefix_tokens = 0;
  const std::atomic<bool>* cancel = nullptr;  // not owned; may be null
  TextCallback on_text;                       // may be empty
};

struct GenerateResult {
  std::vector<TokenId> tokens;  // generated ids (without the end-of-generation token)
  std::string text;             // detokenized, stop sequence removed
  StopReason stop_reason = StopReason::kEndOfGeneration;
  std::string stop_sequence;         // which one matched, for kStopSequence
  std::vector<GeneratedStep> steps;  // filled when logprobs > 0
  int32_t prompt_tokens = 0;
  int32_t generated_tokens = 0;      // includes a final end-of-generation token if one was produced
  int32_t cached_prompt_tokens = 0;  // leading prompt tokens read from the prefix cache
  int32_t cache_written_tokens = 0;  // prompt tokens newly stored in the prefix cache
  // Of the checkpoint's prefix (cache_prefix_tokens), the tokens this generation stored: those
  // past cached_prompt_tokens, once the prefix is in the cache. 0 without a checkpoint.
  int32_t checkpoint_written_tokens = 0;
};

// An input longer than the context: refused (kNone), or cut to fit by dropping tokens after
// the leading [CLS] (kStart) or before the closing [SEP] (kEnd).
enum class EmbedTruncation { kNone, kStart, kEnd };

struct EmbedRequest {
  std::string text;
  bool normalize = true;
  bool exact = false;
  EmbedTruncation truncation = EmbedTruncation::kNone;
};

struct LoadOptions {
  int32_t threads = 0;         // 0 = hardware concurrency
  int32_t context_length = 0;  // 0 = min(training context, 4096)
  int32_t max_sequences = 16;  // sequences decoded together (continuous batching)
  // Prompt prefix cache: KV caches of recent prompts kept for reuse, least recently used evicted
  // beyond this many bytes (0 = off); shared prefixes shorter than the minimum are not reused.
  size_t prefix_cache_bytes = size_t{256} << 20;
  int32_t prefix_cache_min_tokens = 32;
  // Weights read into memory backed by transparent huge pages (one-token decode streams every
  // weight: 20-30% faster matmuls from memory); false maps the file instead (pages shared with
  // other processes that map it, read on first use).
  bool huge_pages = true;
};

// A loaded model. Thread-safe: generate() and embed() may be called from many threads at once;
// concurrent generations are batched into shared forward passes.
class Model {
 public:
  virtual ~Model() = default;
  static Result<std::shared_ptr<Model>> load(const std::filesystem::path& gguf,
                                             const LoadOptions& options = {});

  virtual const ModelInfo& info() const = 0;
  virtual const Tokenizer& tokenizer() const = 0;
  // Renders a conversation with the model's chat template (recognised family, else ChatML).
  virtual std::string render_chat(std::span<const ChatMessage> messages,
                                  bool add_generation_prompt = true) const = 0;
  // kContextLength when prompt + max_tokens exceed the context; kInvalidArgument on encoders.
  virtual Result<GenerateResult> generate(const GenerateRequest& request) = 0;
  // Pooled embedding (bert); kInvalidArgument on decoders.
  virtual Result<std::vector<float>> embed(const EmbedRequest& request) = 0;
};

}  // namespace plinth::engine
