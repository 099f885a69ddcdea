// Matrix products of GGUF weight matrices with F32 activations: the engine's hot path.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "ops/thread_pool.h"

namespace plinth::engine {

// ggml tensor type ids, as stored in GGUF.
enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kBF16 = 30,
};

// A 2-D weight: `rows` rows of `cols` values (GGUF ne0 = cols, ne1 = rows), each row packed in
// `row_bytes` bytes of blocks of `type`. Zero-copy view into the loaded file.
struct WeightMatrix {
  GgmlType type = GgmlType::kF32;
  const void* data = nullptr;
  int64_t cols = 0;
  int64_t rows = 0;
  size_t row_bytes = 0;
  // The rows rewritten at load into 16-row panels (ops/panels.h) for the fast kernels; the exact
  // path and row reads decode them from there.
  bool panels = false;
};

// Decodes n values (a multiple of the type's block size) of type t into dst. Exact (defined in
// dequant.cpp): matches the gguf reference decoders bit for bit in F32.
void dequantize_row(GgmlType t, const void* src, float* dst, int64_t n);

// y[t * rows + r] = dot(W row r, x[t * cols ...]) for t in [0, n_tokens).
// exact: F32 activations against dequantized weights, F32 accumulation.
// !exact (fast): may quantize x (Q8_0 / Q8_K) and use integer dot products, as llama.cpp does.
void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, bool exact,
            ThreadPool& pool);

// One input against several weights (a layer's q, k and v; gate and up): each target gets what
// matmul would give it. Where every weight takes the fast tile kernels, the input is quantized
// once per activation layout and all the weights' row tiles run in one parallel_for (one
// barrier, not one per weight); otherwise the targets run one after another.
struct MatmulTarget {
  const WeightMatrix* w;
  float* y;
};
void matmul_shared_input(std::span<const MatmulTarget> targets, const float* x, int64_t n_tokens,
                         bool exact, ThreadPool& pool);

}  // namespace plinth::engine
