// matmul: run-time kernel choice, activation quantization, row tiling and threading.
#include "ops/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string_view>
#include <vector>

#include "ops/simd_kernels.h"

namespace plinth::engine {
namespace kernels {
namespace {

// Rows handled together: their dequantized (exact) or packed (fast) data stays in L1 while every
// token of the batch streams past it, so prompt processing reads each weight once per call.
constexpr int64_t kRowTile = 4;

using QuantDot = float (*)(int64_t, const void*, const void*);

QuantDot quant_dot(const KernelSet& k, GgmlType t) {
  switch (t) {
    case GgmlType::kQ8_0: return k.dot_q8_0_q8_0;
    case GgmlType::kQ4_0: return k.dot_q4_0_q8_0;
    case GgmlType::kQ5_0: return k.dot_q5_0_q8_0;
    case GgmlType::kQ4_K: return k.dot_q4_K_q8_K;
    case GgmlType::kQ5_K: return k.dot_q5_K_q8_K;
    case GgmlType::kQ6_K: return k.dot_q6_K_q8_K;
    default: return nullptr;
  }
}

const char* row_ptr(const WeightMatrix& w, int64_t r) {
  return static_cast<const char*>(w.data) + r * static_cast<int64_t>(w.row_bytes);
}

// Exact: dequantize kRowTile rows to F32 once, then 4-row dots against each token.
void matmul_exact(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                  float* y, ThreadPool& pool) {
  const int64_t cols = w.cols, rows = w.rows;
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    thread_local std::vector<float> tile_values;
    if (w.type != GgmlType::kF32) tile_values.resize(static_cast<size_t>(kRowTile * cols));
    for (int64_t tile = begin; tile < end; ++tile) {
      int64_t r0 = tile * kRowTile, count = std::min(kRowTile, rows - r0);
      const float* values;
      int64_t stride;
      if (w.type == GgmlType::kF32) {
        values = reinterpret_cast<const float*>(row_ptr(w, r0));
        stride = static_cast<int64_t>(w.row_bytes / sizeof(float));
      } else {
        for (int64_t i = 0; i < count; ++i)
          reference_dequantize_row(w.type, row_ptr(w, r0 + i), tile_values.data() + i * cols, cols);
        values = tile_values.data();
        stride = cols;
      }
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * cols;
        if (count == kRowTile) {
          float out[kRowTile];
          k.dot_f32_x4(cols, values, stride, xt, out);
          for (int64_t i = 0; i < kRowTile; ++i) y[t * rows + r0 + i] = out[i];
        } else {
          for (int64_t i = 0; i < count; ++i)
            y[t * rows + r0 + i] = k.dot_f32(cols, values + i * stride, xt);
        }
      }
    }
  });
}

// Fast, F16 / BF16 / F32 weights: converted on the fly against F32 activations.
void matmul_float_weights(const KernelSet& k, const WeightMatrix& w, const float* x,
                          int64_t n_tokens, float* y, ThreadPool& pool) {
  const int64_t cols = w.cols, rows = w.rows;
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      int64_t r0 = tile * kRowTile, r1 = std::min(rows, r0 + kRowTile);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * cols;
        for (int64_t r = r0; r < r1; ++r) {
          const char* row = row_ptr(w, r);
          float v;
          if (w.type == GgmlType::kF16) {
            v = k.dot_f16_f32(cols, row, xt);
          } else if (w.type == GgmlType::kBF16) {
            v = k.dot_bf16_f32(cols, row, xt);
          } else {
            v = k.dot_f32(cols, reinterpret_cast<const float*>(row), xt);
          }
          y[t * rows + r] = v;
        }
      }
    }
  });
}

// Fast, quantized weights: activations quantized once per call (Q8_0 or Q8_K), integer dots.
void matmul_quantized(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                      float* y, ThreadPool& pool) {
  const int64_t cols = w.cols, rows = w.rows;
  const GgmlType act = fast_activation_type(w.type);
  const size_t act_row_bytes = act == GgmlType::kQ8_0
                                   ? static_cast<size_t>(cols / kQK) * sizeof(BlockQ8_0)
                                   : static_cast<size_t>(cols / kQKK) * sizeof(BlockQ8K);
  thread_local std::vector<uint8_t> quantized;
  if (quantized.size() < act_row_bytes * n_tokens) quantized.resize(act_row_bytes * n_tokens);
  uint8_t* xq = quantized.data();
  auto quantize_tokens = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      if (act == GgmlType::kQ8_0) {
        quantize_row_q8_0(x + t * cols, reinterpret_cast<BlockQ8_0*>(xq + t * act_row_bytes),
                          cols);
      } else {
        quantize_row_q8_K(x + t * cols, reinterpret_cast<BlockQ8K*>(xq + t * act_row_bytes), cols);
      }
    }
  };
  if (n_tokens >= 8) {
    pool.parallel_for(n_tokens, quantize_tokens);
  } else {
    quantize_tokens(0, n_tokens);
  }
  const QuantDot dot = quant_dot(k, w.type);
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      int64_t r0 = tile * kRowTile, r1 = std::min(rows, r0 + kRowTile);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* xt = xq + t * act_row_bytes;
        for (int64_t r = r0; r < r1; ++r) y[t * rows + r] = dot(cols, row_ptr(w, r), xt);
      }
    }
  });
}

const KernelSet& choose_kernels() {
  // PLINTH_KERNELS=scalar|avx2|avx512 pins a level (benchmarks, debugging); else the best one.
  const char* forced = std::getenv("PLINTH_KERNELS");
  std::string_view want = forced ? forced : "";
  const KernelSet* avx512 = avx512_kernels();
  const KernelSet* avx2 = avx2_kernels();
  if (want == "scalar") return scalar_kernels();
  if (want == "avx2" && avx2) return *avx2;
  if (avx512) return *avx512;
  if (avx2) return *avx2;
  return scalar_kernels();
}

}  // namespace

const KernelSet& best_kernels() {
  static const KernelSet& chosen = choose_kernels();
  return chosen;
}

void matmul_with(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                 float* y, bool exact, ThreadPool& pool) {
  if (n_tokens <= 0 || w.rows <= 0) return;
  if (!supports(w.type, w.cols)) {
    // Types without kernels (Q4_1, Q5_1, Q2_K, Q3_K, ...) never reach here from the supported
    // model files; NaN makes a misuse visible instead of silently wrong.
    std::fill(y, y + n_tokens * w.rows, std::numeric_limits<float>::quiet_NaN());
    return;
  }
  if (exact) {
    matmul_exact(k, w, x, n_tokens, y, pool);
  } else if (fast_activation_type(w.type) == GgmlType::kF32) {
    matmul_float_weights(k, w, x, n_tokens, y, pool);
  } else {
    matmul_quantized(k, w, x, n_tokens, y, pool);
  }
}

}  // namespace kernels

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, bool exact,
            ThreadPool& pool) {
  kernels::matmul_with(kernels::best_kernels(), w, x, n_tokens, y, exact, pool);
}

}  // namespace plinth::engine
