// Generation: sampling with constraints, log-probs, stop conditions and streaming per request.
#include "model/generation.h"

#include <algorithm>
#include <limits>

namespace plinth::engine {

Generation::Generation(const GenerateRequest& request, const Tokenizer& tokenizer,
                       const ModelConfig& config, PrefixCache* prefixes, PassThreads threads)
    : request_(request),
      tokenizer_(tokenizer),
      cache_(config.n_layer, config.kv_dim(),
             static_cast<int32_t>(request.prompt.size()) + std::max(request.max_tokens, 0),
             /*f16=*/!request.exact),
      sampler_(request.sampling, /*log_sum_exp_wanted=*/request.logprobs > 0, threads),
      stream_(request.stop_sequences, request.on_text),
      next_input_(request.prompt),
      n_vocab_(config.n_vocab),
      prefixes_(request.exact || !request.cache_prompt ? nullptr : prefixes) {
  result_.prompt_tokens = static_cast<int32_t>(request.prompt.size());
  take_cached_prefix();
  if (request.max_tokens <= 0) finish(StopReason::kMaxTokens);
}

void Generation::take_cached_prefix() {
  if (prefixes_ == nullptr || prompt_done_) return;
  // Nothing stored since the last look: it would find the same.
  const uint64_t stores = prefixes_->stores();
  if (looked_up_ && stores == stores_seen_) return;
  looked_up_ = true;
  stores_seen_ = stores;
  PrefixCache::Hit hit = prefixes_->lookup(request_.prompt);
  if (hit.kv == nullptr || !hit.kv->same_shape(cache_) ||
      hit.tokens <= result_.cached_prompt_tokens)
    return;
  cache_.copy_prefix_from(*hit.kv, hit.tokens);
  next_input_.assign(request_.prompt.begin() + hit.tokens, request_.prompt.end());
  result_.cached_prompt_tokens = hit.tokens;
}

int32_t Generation::cacheable_shared_prefix(const Generation& other) const {
  if (prefixes_ == nullptr || other.prefixes_ != prefixes_) return 0;
  // The other prompt, once run, is stored whole: what a lookup would then give this one.
  return prefixes_->reusable_length(other.request_.prompt, request_.prompt);
}

bool Generation::check_cancelled() {
  if (!finished_ && request_.cancel != nullptr && request_.cancel->load(std::memory_order_relaxed))
    finish(StopReason::kCancelled);
  return finished_;
}

void Generation::finish(StopReason reason) {
  if (finished_) return;
  finished_ = true;
  result_.stop_reason = reason;
  if (reason == StopReason::kEndOfGeneration || reason == StopReason::kMaxTokens) {
    if (stream_.finish() == TextStream::Outcome::kCancelled)
      result_.stop_reason = StopReason::kCancelled;
  }
  result_.text = stream_.text();
  if (result_.stop_reason == StopReason::kStopSequence)
    result_.stop_sequence = stream_.matched_stop();
}

void Generation::consume(std::span<float> logits) {
  if (finished_) return;
  if (!prompt_done_) {
    // The pass that just ran finished the prompt: its KV cache is worth keeping.
    prompt_done_ = true;
    if (prefixes_ != nullptr && prefixes_->insert(request_.prompt, cache_))
      result_.cache_written_tokens = result_.prompt_tokens - result_.cached_prompt_tokens;
    store_checkpoint();
  }
  TokenConstraint* constraint = request_.constraint;
  if (constraint != nullptr && constraint->is_complete()) {
    finish(StopReason::kEndOfGeneration);  // only end-of-generation may follow
    return;
  }
  std::optional<TokenId> token = sampler_.sample(logits);
  // Log-probabilities come from the raw logits, before temperature and masks (the sampler's own
  // exp pass sums them when every token is a candidate; its block maxima find the top ones).
  double lse = 0.0;
  std::vector<TokenLogprob> top;
  if (request_.logprobs > 0) {
    lse = sampler_.raw_log_sum_exp(logits);
    top = sampler_.top_logprobs(logits, request_.logprobs, lse);
  }
  if (constraint != nullptr && token && !constraint->allows(*token)) {
    allowed_.assign(logits.size(), 1);
    constraint->fill_mask(allowed_);
    for (size_t i = 0; i < logits.size(); ++i)
      if (!allowed_[i]) logits[i] = -std::numeric_limits<float>::infinity();
    token = sampler_.sample_masked(logits);
  }
  if (!token) {  // the constraint allows nothing: nothing valid can follow
    finish(StopReason::kEndOfGeneration);
    return;
  }
  if (constraint != nullptr) constraint->accept(*token);
  ++result_.generated_tokens;
  if (request_.logprobs > 0) {
    result_.steps.push_back(
        {*token, static_cast<float>(logits[static_cast<size_t>(*token)] - lse), std::move(top)});
  }
  next_input_.clear();
  if (!commit(*token)) return;
  // Fast-forward: tokens the constraint forces need no sampling, only a pass that extends the
  // cache (all of them in one chunk). Skipped when log-probs are requested, which need logits.
  if (constraint != nullptr && request_.logprobs == 0) {
    for (TokenId forced : constraint->forced_tokens()) {
      if (forced < 0 || forced >= n_vocab_ || constraint->is_complete()) break;
      constraint->accept(forced);
      ++result_.generated_tokens;
      if (!commit(forced)) return;
    }
  }
}

void Generation::store_checkpoint() {
  const int32_t length = std::min(request_.cache_prefix_tokens, result_.prompt_tokens);
  if (prefixes_ == nullptr || length <= 0) return;
  const auto prefix = std::span<const TokenId>(request_.prompt).first(static_cast<size_t>(length));
  // The whole prompt (stored above) holds the prefix; when it was too large for the budget, the
  // prefix goes in on its own.
  if (!prefixes_->holds(prefix)) prefixes_->insert(prefix, cache_);
  if (prefixes_->holds(prefix))
    result_.checkpoint_written_tokens = std::max(0, length - result_.cached_prompt_tokens);
}

bool Generation::commit(TokenId token) {
  if (tokenizer_.is_end_of_generation(token)) {
    finish(StopReason::kEndOfGeneration);
    return false;
  }
  result_.tokens.push_back(token);
  switch (stream_.append(tokenizer_.token_bytes(token))) {
    case TextStream::Outcome::kStopSequence:
      finish(StopReason::kStopSequence);
      return false;
    case TextStream::Outcome::kCancelled:
      finish(StopReason::kCancelled);
      return false;
    case TextStream::Outcome::kContinue:
      break;
  }
  if (static_cast<int32_t>(result_.tokens.size()) >= request_.max_tokens) {
    finish(StopReason::kMaxTokens);
    return false;
  }
  next_input_.push_back(token);
  return true;
}

}  // namespace plinth::engine
