// Generation: one request's decoding state (cache, sampler, constraint, text, result).
#pragma once

#include <memory>
#include <span>
#include <vector>

#include "model/kv_cache.h"
#include "model/model_weights.h"
#include "model/prefix_cache.h"
#include "model/sampler.h"
#include "model/text_stream.h"
#include "plinth/engine/engine.h"

namespace plinth::engine {

// Owned by the thread that called generate(); driven by the batch scheduler's thread between
// submission and completion.
class Generation {
 public:
  // The request must already be validated (non-empty prompt, fits the context). prefixes may be
  // null; otherwise the prompt starts from its longest stored prefix and is stored once run.
  // threads: the model's pool, lent to the sampler's vocabulary passes.
  Generation(const GenerateRequest& request, const Tokenizer& tokenizer, const ModelConfig& config,
             PrefixCache* prefixes, PassThreads threads = {});

  bool exact() const { return request_.exact; }
  bool finished() const { return finished_; }
  KvCache& cache() { return cache_; }
  // What the next forward pass must process: the whole prompt first, then the last token (plus
  // any tokens a constraint forced after it).
  std::span<const TokenId> next_input() const { return next_input_; }

  // Prefix sharing between generations admitted together (see BatchScheduler): before its first
  // pass, a generation can wait for another whose prompt shares a long enough prefix, then take
  // that prefix from the cache instead of computing it a second time.
  // Whether no pass has run yet (the prompt is still to be computed).
  bool prompt_pending() const { return !prompt_done_ && !finished_; }
  // The leading prompt tokens shared with `other` that the prefix cache would store and reuse:
  // 0 when either generation does not use the cache or the shared part is below its minimum.
  int32_t cacheable_shared_prefix(const Generation& other) const;
  // How many leading prompt tokens came from the cache.
  int32_t cached_prompt_tokens() const { return result_.cached_prompt_tokens; }
  // Before the first pass: takes the longest cached prefix of the prompt when it is longer than
  // the one already taken (a generation that waited for another's prompt finds it stored now).
  void take_cached_prefix();

  // Before a pass: ends the generation when the caller cancelled. Returns finished().
  bool check_cancelled();
  // Ends the generation as cancelled (model shutting down).
  void cancel() { finish(StopReason::kCancelled); }
  // After a pass: samples from this sequence's logits (modified: masked tokens become -inf).
  void consume(std::span<float> logits);

  GenerateResult take_result() { return std::move(result_); }

 private:
  void finish(StopReason reason);
  // Records a chosen token (text, stop conditions) and queues it as input for the next pass;
  // false when the generation ended.
  bool commit(TokenId token);
  // Makes sure the prompt up to request_.cache_prefix_tokens is in the prefix cache.
  void store_checkpoint();

  const GenerateRequest& request_;
  const Tokenizer& tokenizer_;
  KvCache cache_;
  Sampler sampler_;
  TextStream stream_;
  std::vector<TokenId> next_input_;
  const TokenId n_vocab_;
  PrefixCache* prefixes_;     // not owned; null when the prompt is not cached
  bool looked_up_ = false;    // take_cached_prefix has looked in prefixes_...
  uint64_t stores_seen_ = 0;  // ...when it held this many stores
  bool prompt_done_ = false;
  std::vector<uint8_t> allowed_;  // constraint mask scratch
  GenerateResult result_;
  bool finished_ = false;
};

}  // namespace plinth::engine
