// ForwardPass: batched decoder steps (llama, qwen2, qwen3) and the bert encoder.
#include "model/forward.h"

#include <algorithm>
#include <functional>

#include "ops/attention.h"
#include "ops/matmul.h"
#include "ops/simd_kernels.h"

namespace plinth::engine {
namespace {

// Below this many multiply-adds a parallel_for costs more in wake-ups than it saves.
constexpr int64_t kMinParallelWork = 1 << 15;

void run_jobs(ThreadPool& pool, int64_t n_jobs, int64_t work,
              const std::function<void(int64_t, int64_t)>& fn) {
  if (work < kMinParallelWork) {
    fn(0, n_jobs);
  } else {
    pool.parallel_for(n_jobs, fn);
  }
}

void add_rows(float* x, const float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] += y[i];
}

}  // namespace

ForwardPass::ForwardPass(const ModelConfig& config, const ModelWeights& weights, ThreadPool& pool)
    : config_(config), weights_(weights), pool_(pool) {}

void ForwardPass::ensure_capacity(int64_t n) {
  if (n <= capacity_tokens_) return;
  const ModelConfig& c = config_;
  const int64_t wide = std::max<int64_t>(c.n_embd, c.q_dim());
  x_.resize(n * c.n_embd);
  xn_.resize(n * wide);
  q_.resize(n * c.q_dim());
  k_.resize(n * c.kv_dim());
  v_.resize(n * c.kv_dim());
  attn_.resize(n * c.q_dim());
  proj_.resize(n * c.n_embd);
  gate_.resize(n * c.n_ff);
  up_.resize(n * c.n_ff);
  positions_.resize(n);
  token_cache_.resize(n);
  capacity_tokens_ = n;
}

void ForwardPass::embed_tokens(std::span<const TokenId> tokens, float* out) const {
  for (size_t i = 0; i < tokens.size(); ++i)
    read_weight_row(weights_.token_embd, tokens[i], out + static_cast<int64_t>(i) * config_.n_embd);
}

void ForwardPass::add_bias(float* x, const std::vector<float>& bias, int64_t n_tokens,
                           int64_t n) const {
  if (bias.empty()) return;
  for (int64_t t = 0; t < n_tokens; ++t) add_rows(x + t * n, bias.data(), n);
}

void ForwardPass::decode(std::span<const SequenceChunk> chunks, bool exact, float* logits) {
  const ModelConfig& c = config_;
  int64_t total = 0;
  for (const SequenceChunk& chunk : chunks) total += static_cast<int64_t>(chunk.tokens.size());
  if (total == 0) return;
  ensure_capacity(total);
  const int64_t d = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim();

  int64_t t = 0;
  for (const SequenceChunk& chunk : chunks) {
    embed_tokens(chunk.tokens, x_.data() + t * d);
    for (size_t j = 0; j < chunk.tokens.size(); ++j, ++t) {
      positions_[t] = chunk.cache->size() + static_cast<int64_t>(j);
      token_cache_[t] = chunk.cache;
    }
  }

  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = weights_.layers[il];
    std::copy(x_.begin(), x_.begin() + total * d, xn_.begin());
    for (int64_t i = 0; i < total; ++i)
      rms_norm(xn_.data() + i * d, l.attn_norm.data(), d, c.norm_eps);
    const MatmulTarget qkv[] = {{&l.wq, q_.data()}, {&l.wk, k_.data()}, {&l.wv, v_.data()}};
    matmul_shared_input(qkv, xn_.data(), total, exact, pool_);
    add_bias(q_.data(), l.bq, total, qd);
    add_bias(k_.data(), l.bk, total, kvd);
    add_bias(v_.data(), l.bv, total, kvd);
    for (int64_t i = 0; i < total; ++i) {
      float* qi = q_.data() + i * qd;
      float* ki = k_.data() + i * kvd;
      if (!l.q_norm.empty()) {  // qwen3: per-head RMS norm before the rotation
        for (int32_t h = 0; h < c.n_head; ++h)
          rms_norm(qi + h * c.head_dim, l.q_norm.data(), c.head_dim, c.norm_eps);
        for (int32_t h = 0; h < c.n_head_kv; ++h)
          rms_norm(ki + h * c.head_dim, l.k_norm.data(), c.head_dim, c.norm_eps);
      }
      const bool adjacent = c.rope_style == RopeStyle::kAdjacentPairs;
      apply_rope(qi, c.n_head, c.head_dim, c.n_rot, positions_[i], c.rope_base, adjacent);
      apply_rope(ki, c.n_head_kv, c.head_dim, c.n_rot, positions_[i], c.rope_base, adjacent);
      token_cache_[i]->store(il, static_cast<int32_t>(positions_[i]), ki, v_.data() + i * kvd);
    }
    int64_t attention_work = 0;
    for (int64_t i = 0; i < total; ++i) attention_work += (positions_[i] + 1) * qd * 2;
    run_jobs(pool_, total * c.n_head, attention_work, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scores;
      for (int64_t job = begin; job < end; ++job) {
        const int64_t i = job / c.n_head;
        const int32_t h = static_cast<int32_t>(job % c.n_head);
        const int64_t n_pos = positions_[i] + 1;  // causal: itself and everything before
        if (static_cast<int64_t>(scores.size()) < n_pos) scores.resize(n_pos);
        attend_one_head(q_.data() + i * qd, token_cache_[i]->view(il), n_pos, h, c.n_head,
                        c.n_head_kv, c.head_dim, scores.data(), attn_.data() + i * qd);
      }
    });
    matmul(l.wo, attn_.data(), total, proj_.data(), exact, pool_);
    add_rows(x_.data(), proj_.data(), total * d);

    std::copy(x_.begin(), x_.begin() + total * d, xn_.begin());
    for (int64_t i = 0; i < total; ++i)
      rms_norm(xn_.data() + i * d, l.ffn_norm.data(), d, c.norm_eps);
    const MatmulTarget gate_up[] = {{&l.ffn_gate, gate_.data()}, {&l.ffn_up, up_.data()}};
    matmul_shared_input(gate_up, xn_.data(), total, exact, pool_);
    const kernels::KernelSet& k = kernels::best_kernels();
    if (!exact && k.swiglu != nullptr) {
      k.swiglu(total * c.n_ff, gate_.data(), up_.data());
    } else {
      for (int64_t i = 0; i < total * c.n_ff; ++i) gate_[i] = silu(gate_[i]) * up_[i];
    }
    matmul(l.ffn_down, gate_.data(), total, proj_.data(), exact, pool_);
    add_rows(x_.data(), proj_.data(), total * d);
  }

  // Only each chunk's last token needs logits.
  t = 0;
  for (size_t ic = 0; ic < chunks.size(); ++ic) {
    const SequenceChunk& chunk = chunks[ic];
    t += static_cast<int64_t>(chunk.tokens.size());
    std::copy_n(x_.data() + (t - 1) * d, d, xn_.data() + static_cast<int64_t>(ic) * d);
    rms_norm(xn_.data() + static_cast<int64_t>(ic) * d, weights_.output_norm.data(), d, c.norm_eps);
    chunk.cache->set_size(chunk.cache->size() + static_cast<int32_t>(chunk.tokens.size()));
  }
  matmul(weights_.output, xn_.data(), static_cast<int64_t>(chunks.size()), logits, exact, pool_);
}

std::vector<float> ForwardPass::encode(std::span<const TokenId> tokens, bool exact) {
  const ModelConfig& c = config_;
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t d = c.n_embd, qd = c.q_dim(), kvd = c.kv_dim();
  std::vector<float> pooled(d, 0.0f);
  if (n == 0) return pooled;
  ensure_capacity(n);
  embed_tokens(tokens, x_.data());
  std::vector<float> row(d);
  read_weight_row(weights_.token_types, 0, row.data());
  for (int64_t i = 0; i < n; ++i) add_rows(x_.data() + i * d, row.data(), d);
  for (int64_t i = 0; i < n; ++i) {
    read_weight_row(weights_.position_embd, i, row.data());
    add_rows(x_.data() + i * d, row.data(), d);
    layer_norm(x_.data() + i * d, weights_.embd_norm.data(), weights_.embd_norm_bias.data(), d,
               c.norm_eps);
  }
  for (int32_t il = 0; il < c.n_layer; ++il) {
    const LayerWeights& l = weights_.layers[il];
    matmul(l.wq, x_.data(), n, q_.data(), exact, pool_);
    matmul(l.wk, x_.data(), n, k_.data(), exact, pool_);
    matmul(l.wv, x_.data(), n, v_.data(), exact, pool_);
    add_bias(q_.data(), l.bq, n, qd);
    add_bias(k_.data(), l.bk, n, kvd);
    add_bias(v_.data(), l.bv, n, kvd);
    const KvView kv{k_.data(), v_.data(), kvd, false};
    run_jobs(pool_, n * c.n_head, n * n * qd * 2, [&](int64_t begin, int64_t end) {
      thread_local std::vector<float> scores;
      if (static_cast<int64_t>(scores.size()) < n) scores.resize(n);
      for (int64_t job = begin; job < end; ++job) {
        const int64_t i = job / c.n_head;
        attend_one_head(q_.data() + i * qd, kv, n, static_cast<int32_t>(job % c.n_head), c.n_head,
                        c.n_head_kv, c.head_dim, scores.data(), attn_.data() + i * qd);
      }
    });
    matmul(l.wo, attn_.data(), n, proj_.data(), exact, pool_);
    add_bias(proj_.data(), l.bo, n, d);
    add_rows(x_.data(), proj_.data(), n * d);
    for (int64_t i = 0; i < n; ++i)
      layer_norm(x_.data() + i * d, l.attn_norm.data(), l.attn_norm_bias.data(), d, c.norm_eps);
    matmul(l.ffn_up, x_.data(), n, up_.data(), exact, pool_);
    add_bias(up_.data(), l.ffn_up_bias, n, c.n_ff);
    for (int64_t i = 0; i < n * c.n_ff; ++i) up_[i] = gelu_tanh(up_[i]);
    matmul(l.ffn_down, up_.data(), n, proj_.data(), exact, pool_);
    add_bias(proj_.data(), l.ffn_down_bias, n, d);
    add_rows(x_.data(), proj_.data(), n * d);
    for (int64_t i = 0; i < n; ++i)
      layer_norm(x_.data() + i * d, l.ffn_norm.data(), l.ffn_norm_bias.data(), d, c.norm_eps);
  }
  if (c.pooling == Pooling::kCls) {
    std::copy_n(x_.data(), d, pooled.data());
  } else {
    std::vector<double> sum(d, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < d; ++j) sum[j] += x_[i * d + j];
    for (int64_t j = 0; j < d; ++j) pooled[j] = static_cast<float>(sum[j] / static_cast<double>(n));
  }
  return pooled;
}

}  // namespace plinth::engine
