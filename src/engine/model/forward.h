// Forward passes: decoder steps over batches of sequences, and the bert encoder.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "model/model_weights.h"
#include "ops/thread_pool.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

// One sequence's share of a batched decoder step: its new tokens go at positions
// cache->size() .. cache->size() + tokens.size() - 1.
struct SequenceChunk {
  KvCache* cache = nullptr;
  std::span<const TokenId> tokens;
};

// Runs forward passes with reusable buffers. Not thread-safe: one pass at a time (it drives the
// model's ThreadPool).
class ForwardPass {
 public:
  ForwardPass(const ModelConfig& config, const ModelWeights& weights, ThreadPool& pool);

  // Decoder: processes every chunk's tokens in one pass (each weight matrix is read once for the
  // whole batch), appends their keys/values to the caches and writes the logits of each chunk's
  // last token to logits[i * n_vocab]. All caches must share the exactness of `exact`
  // (F32 cache when exact) and have room for the new tokens.
  void decode(std::span<const SequenceChunk> chunks, bool exact, float* logits);

  // Encoder (bert): pooled, unnormalised embedding of one token sequence (all token type 0).
  std::vector<float> encode(std::span<const TokenId> tokens, bool exact);

 private:
  void ensure_capacity(int64_t n_tokens);
  void embed_tokens(std::span<const TokenId> tokens, float* out) const;
  void add_bias(float* x, const std::vector<float>& bias, int64_t n_tokens, int64_t n) const;

  const ModelConfig& config_;
  const ModelWeights& weights_;
  ThreadPool& pool_;
  // Activation buffers, [token][features]; grown, never shrunk, so steady decoding allocates
  // nothing.
  int64_t capacity_tokens_ = 0;
  std::vector<float> x_, xn_, q_, k_, v_, attn_, proj_, gate_, up_;
  std::vector<int64_t> positions_;
  std::vector<KvCache*> token_cache_;
};

}  // namespace plinth::engine
