// Matmul microbenchmark (per kernel set) and the model-shaped decode / prompt estimate.
#include "matmul_bench.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "ops/matmul.h"
#include "ops/simd_kernels.h"

namespace plinth::bench {
namespace {

using engine::GgmlType;
using engine::ThreadPool;
using engine::WeightMatrix;
namespace k = engine::kernels;
using Clock = std::chrono::steady_clock;

// A weight matrix filled with random payload and small finite f16 scales (every payload bit
// pattern is a legal value, so this is as good as a quantized model for timing).
struct OwnedMatrix {
  std::vector<uint8_t> bytes;
  WeightMatrix view;
};

OwnedMatrix random_matrix(GgmlType t, int64_t rows, int64_t cols, uint64_t seed) {
  OwnedMatrix m;
  size_t row_bytes = k::row_size(t, cols);
  m.bytes.resize(row_bytes * rows);
  uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 1;
  for (size_t i = 0; i + 8 <= m.bytes.size(); i += 8) {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    std::memcpy(m.bytes.data() + i, &s, 8);
  }
  const uint16_t small_half = k::fp32_to_fp16(0.01f);
  size_t bb = k::block_bytes(t);
  for (size_t at = 0; at < m.bytes.size(); at += bb) {
    switch (t) {
      case GgmlType::kF16:
      case GgmlType::kBF16:
        std::memcpy(m.bytes.data() + at, &small_half, 2);
        break;
      case GgmlType::kF32: {
        float v = 0.01f;
        std::memcpy(m.bytes.data() + at, &v, 4);
        break;
      }
      case GgmlType::kQ6_K:
        std::memcpy(m.bytes.data() + at + offsetof(k::BlockQ6K, d), &small_half, 2);
        break;
      case GgmlType::kQ4_K:
      case GgmlType::kQ5_K:
        std::memcpy(m.bytes.data() + at + 2, &small_half, 2);
        [[fallthrough]];
      default:
        std::memcpy(m.bytes.data() + at, &small_half, 2);
        break;
    }
  }
  m.view = {t, m.bytes.data(), cols, rows, row_bytes};
  return m;
}

const char* type_name(GgmlType t) {
  switch (t) {
    case GgmlType::kF32:
      return "F32";
    case GgmlType::kF16:
      return "F16";
    case GgmlType::kQ8_0:
      return "Q8_0";
    case GgmlType::kQ5_0:
      return "Q5_0";
    case GgmlType::kQ4_K:
      return "Q4_K";
    case GgmlType::kQ5_K:
      return "Q5_K";
    case GgmlType::kQ6_K:
      return "Q6_K";
    default:
      return "?";
  }
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// Wall and process-CPU seconds per call. CPU time tells kernel cost apart from a busy machine:
// with one thread it is what the call would take on an idle core.
struct CallTime {
  double wall, cpu;
};

// Repeats f until `seconds` of wall time passed (at least once, after a warm-up call).
template <typename F>
CallTime time_per_call(double seconds, F&& f) {
  f();  // warm up (caches, thread wake-up, scratch buffers)
  int calls = 0;
  auto start = Clock::now();
  double cpu_start = process_cpu_seconds(), elapsed = 0;
  do {
    f();
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < seconds);
  return {elapsed / calls, (process_cpu_seconds() - cpu_start) / calls};
}

}  // namespace

void run_matmul_microbench(int threads, double seconds_per_case) {
  ThreadPool pool(threads);
  std::printf("\n== matmul microbenchmark (%d threads): 896x4864 weights ==\n", pool.size());
  std::printf("%-6s %-7s %-6s %6s %12s %12s %10s %10s\n", "type", "kernels", "path", "tokens",
              "wall us", "cpu us", "GB/s", "GMAC/s");
  const k::KernelSet* sets[] = {&k::scalar_kernels(), k::avx2_kernels(), k::avx512_kernels()};
  for (GgmlType t :
       {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ6_K, GgmlType::kF16}) {
    // K-quants need rows that are whole 256-value super-blocks: 4864 wide (ffn_down's shape).
    bool k_quant = k::block_values(t) == k::kQKK;
    int64_t cols = k_quant ? 4864 : 896, rows = k_quant ? 896 : 4864;
    OwnedMatrix w = random_matrix(t, rows, cols, 1);
    for (int64_t tokens : {1, 4, 16, 128}) {
      std::vector<float> x(cols * tokens), y(rows * tokens);
      for (size_t i = 0; i < x.size(); ++i)
        x[i] = static_cast<float>((i * 7919) % 201) / 100.0f - 1.0f;
      for (const k::KernelSet* set : sets) {
        if (!set) continue;
        for (bool exact : {false, true}) {
          double budget = set == sets[0] ? seconds_per_case / 4 : seconds_per_case;
          CallTime c = time_per_call(budget, [&] {
            k::matmul_with(*set, w.view, x.data(), tokens, y.data(), exact, pool);
          });
          double macs = static_cast<double>(rows) * cols * tokens, s = c.wall;
          std::printf("%-6s %-7s %-6s %6lld %12.1f %12.1f %10.2f %10.2f\n", type_name(t), set->name,
                      exact ? "exact" : "fast", static_cast<long long>(tokens), s * 1e6,
                      c.cpu * 1e6, w.bytes.size() / s / 1e9, macs / s / 1e9);
        }
      }
    }
  }
}

void run_model_estimate(const tools::ModelShape& shape, tools::QuantRecipe recipe, int threads,
                        bool exact) {
  ThreadPool pool(threads);
  const int64_t e = shape.embedding;
  const int64_t head_dim = shape.head_dim > 0 ? shape.head_dim : e / shape.heads;
  const int64_t q = shape.heads * head_dim, kv = shape.kv_heads * head_dim;
  std::vector<OwnedMatrix> mats;
  uint64_t seed = 1;
  auto add = [&](const std::string& name, int64_t layer, int64_t cols, int64_t rows) {
    GgmlType t = tools::tensor_type(recipe, name, layer, shape.layers, cols, shape.tied);
    mats.push_back(random_matrix(t, rows, cols, seed++));
  };
  for (int64_t l = 0; l < shape.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    add(p + "attn_q.weight", l, e, q);
    add(p + "attn_k.weight", l, e, kv);
    add(p + "attn_v.weight", l, e, kv);
    add(p + "attn_output.weight", l, q, e);
    add(p + "ffn_gate.weight", l, e, shape.ffn);
    add(p + "ffn_up.weight", l, e, shape.ffn);
    add(p + "ffn_down.weight", l, shape.ffn, e);
  }
  add(shape.tied ? "token_embd.weight" : "output.weight", -1, e, shape.vocab);
  uint64_t total_bytes = 0;
  for (const auto& m : mats) total_bytes += m.bytes.size();

  const int64_t max_width = std::max({e, q, shape.ffn, shape.vocab});
  std::vector<float> x(max_width * 128), y(max_width * 128);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 201) / 100.0f - 1.0f;
  // One decoder step for `batch` sequences: every matrix (the output one included) at once.
  auto decode_step = [&](int64_t batch) {
    for (const auto& m : mats) engine::matmul(m.view, x.data(), batch, y.data(), exact, pool);
  };
  auto prompt = [&] {
    for (size_t i = 0; i + 1 < mats.size(); ++i)
      engine::matmul(mats[i].view, x.data(), 128, y.data(), exact, pool);
    engine::matmul(mats.back().view, x.data(), 1, y.data(), exact, pool);  // last token's logits
  };
  CallTime decode = time_per_call(3.0, [&] { decode_step(1); });
  CallTime prompt_time = time_per_call(3.0, prompt);
  double decode_s = decode.wall, prompt_s = prompt_time.wall;
  std::printf("\n== %s-shaped matmuls, %s, %s path, %d threads, kernels %s ==\n",
              shape.architecture.c_str(), std::string(tools::recipe_name(recipe)).c_str(),
              exact ? "exact" : "fast", pool.size(), engine::kernels::best_kernels().name);
  std::printf(
      "weights %.1f MB; decode: %.2f ms/token = %.1f tok/s (%.1f GB/s); "
      "prompt (128): %.1f tok/s\n",
      total_bytes / 1e6, decode_s * 1e3, 1.0 / decode_s, total_bytes / decode_s / 1e9,
      128.0 / prompt_s);
  std::printf(
      "CPU time per token: decode %.2f ms, prompt %.2f ms (all threads; on a busy "
      "machine compare these)\n",
      decode.cpu * 1e3, prompt_time.cpu * 1e3 / 128);
  // Batched decode: the aggregate rate against one sequence's, by wall and by CPU time.
  for (int64_t batch : {4, 16}) {
    CallTime step = time_per_call(3.0, [&] { decode_step(batch); });
    std::printf(
        "batch %2lld: %.1f tok/s aggregate (%.2fx one sequence), CPU %.2f ms/token "
        "(%.2fx by CPU time)\n",
        static_cast<long long>(batch), batch / step.wall, decode.wall * batch / step.wall,
        step.cpu * 1e3 / batch, decode.cpu * batch / step.cpu);
  }
}

}  // namespace plinth::bench
