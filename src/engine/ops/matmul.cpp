// matmul: run-time kernel choice, activation quantization, row tiling and threading.
#include "ops/matmul.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <functional>
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
    case GgmlType::kQ8_0:
      return k.dot_q8_0_q8_0;
    case GgmlType::kQ4_0:
      return k.dot_q4_0_q8_0;
    case GgmlType::kQ5_0:
      return k.dot_q5_0_q8_0;
    case GgmlType::kQ4_K:
      return k.dot_q4_K_q8_K;
    case GgmlType::kQ5_K:
      return k.dot_q5_K_q8_K;
    case GgmlType::kQ6_K:
      return k.dot_q6_K_q8_K;
    default:
      return nullptr;
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
          dequantize_weight_row(w, r0 + i, tile_values.data() + i * cols, k.dequantize);
        values = tile_values.data();
        stride = cols;
      }
      int64_t t = 0;
      if (count == kRowTile && k.dot_f32_4x4) {
        float out[kRowTile * 4];
        for (; t + 4 <= n_tokens; t += 4) {
          k.dot_f32_4x4(cols, values, stride, x + t * cols, cols, out);
          for (int64_t i = 0; i < kRowTile; ++i)
            for (int64_t j = 0; j < 4; ++j) y[(t + j) * rows + r0 + i] = out[i * 4 + j];
        }
      }
      for (; t < n_tokens; ++t) {
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

// Activation quantization: fn(begin, end) over [0, units), on the pool from 8 tokens (fewer are
// not worth a hand-off).
void quantize_units(int64_t n_tokens, int64_t units,
                    const std::function<void(int64_t, int64_t)>& fn, ThreadPool& pool) {
  if (n_tokens >= 8) {
    pool.parallel_for(units, fn);
  } else {
    fn(0, units);
  }
}

// Several matmuls over one input in one parallel_for: target i owns units [first[i], first[i + 1])
// of the concatenated range, and run(i, begin, end) gets its own part of a chunk.
constexpr size_t kMaxTargets = 4;
using TargetStarts = std::array<int64_t, kMaxTargets + 1>;
void parallel_for_targets(size_t targets, const TargetStarts& first,
                          const std::function<void(size_t, int64_t, int64_t)>& run,
                          ThreadPool& pool) {
  pool.parallel_for(first[targets], [&](int64_t begin, int64_t end) {
    for (size_t i = 0; i < targets; ++i) {
      const int64_t lo = std::max(begin, first[i]), hi = std::min(end, first[i + 1]);
      if (lo < hi) run(i, lo - first[i], hi - first[i]);
    }
  });
}

// Up to 8 tokens (K-quants) or 16 (four quads, Q8_0 family) share one unpacking of each weight
// block in the tile kernels.
constexpr int kTokenTile = 8;
constexpr int kQuadTile = 4;
// How far ahead of the rows being multiplied the tile kernels prefetch: about the bytes that
// arrive from memory during one memory latency, so the next rows are in cache when reached.
constexpr int64_t kPrefetchBytes = 6144;

// Activations quantized for the tile kernels: quad-layout Q8_0 (four tokens per unit) or Q8_K
// (one token per unit). Weights of one type and shape take the same ones, so a group of matmuls
// over one input (matmul_shared_input) quantizes it once.
struct TileActivations {
  bool q32 = false;
  int32_t offset = 0;
  QuadLayout layout = QuadLayout::kRotatedGroups;
  int64_t units = 0;
  size_t unit_bytes = 0;
  uint8_t* base = nullptr;
  // Whether weights of type t read these activations (the caller checks the width).
  bool fits(const KernelSet& k, GgmlType t, int64_t n_tokens) const;
};

bool tile_q32_for(const KernelSet& k, GgmlType t, int64_t n_tokens) {
  // K-quant rows shared by several tokens also take the quad tiles, with Q8_0 activations: 8
  // vpdpbusd per 512 products (32 values of 4 rows x 4 tokens), where the K tiles spend 8
  // instructions (maddubs + vpdpwssd) per 256 products of one row and token. A 16-sequence step
  // of a Q4_K_M file went from 145-153 to 124-141 ms CPU. One token keeps the K tile and its
  // Q8_K activations (it reads the weights once either way).
  const bool k_quant = fast_activation_type(t) == GgmlType::kQ8_K;
  return !k_quant || (n_tokens > 1 && k.tile_q32 != nullptr);
}

QuadLayout tile_layout(GgmlType t, int64_t units) {
  // One group (batched decode of up to four sequences): the tiles rotate their sums, cheaper
  // than rotating the weights when no other group shares the rotated weights.
  const bool k_quant = fast_activation_type(t) == GgmlType::kQ8_K;
  return units == 1 && !k_quant ? QuadLayout::kRotatedTokens : QuadLayout::kRotatedGroups;
}

bool TileActivations::fits(const KernelSet& k, GgmlType t, int64_t n_tokens) const {
  if (tile_q32_for(k, t, n_tokens) != q32) return false;
  if (!q32) return true;
  return quad_weight_offset(t) == offset && tile_layout(t, units) == layout;
}

TileActivations quantize_for_tiles(const KernelSet& k, GgmlType t, const float* x, int64_t cols,
                                   int64_t n_tokens, std::vector<uint8_t>& storage,
                                   ThreadPool& pool) {
  TileActivations a;
  a.q32 = tile_q32_for(k, t, n_tokens);
  // q32: one unit is a group of four tokens; K: one token's cols / 256 Q8_K blocks.
  a.units = a.q32 ? (n_tokens + 3) / 4 : n_tokens;
  a.unit_bytes = a.q32 ? static_cast<size_t>(cols / kQK) * kQuadBlockBytes
                       : static_cast<size_t>(cols / kQKK) * sizeof(BlockQ8K);
  if (storage.size() < a.unit_bytes * a.units + 64) storage.resize(a.unit_bytes * a.units + 64);
  // 64-byte aligned start; unit_bytes keeps the alignment of the blocks.
  a.base = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  a.offset = a.q32 ? quad_weight_offset(t) : 0;
  a.layout = tile_layout(t, a.units);
  auto quantize = [&](int64_t begin, int64_t end) {
    for (int64_t u = begin; u < end; ++u) {
      uint8_t* at = a.base + u * a.unit_bytes;
      if (a.q32) {
        const float* tokens[4];
        const int count = static_cast<int>(std::min<int64_t>(4, n_tokens - 4 * u));
        for (int j = 0; j < count; ++j) tokens[j] = x + (4 * u + j) * cols;
        if (k.quantize_quad != nullptr) {
          k.quantize_quad(tokens, count, cols, a.offset, at, a.layout);
        } else {
          quantize_quad_q8_0(tokens, count, cols, a.offset, at, a.layout);
        }
      } else {
        quantize_row_q8_K(x + u * cols, reinterpret_cast<BlockQ8K*>(at), cols);
      }
    }
  };
  quantize_units(n_tokens, a.units, quantize, pool);
  return a;
}

int64_t row_tiles(const WeightMatrix& w) { return (w.rows + kRowTile - 1) / kRowTile; }

// Row tiles [begin, end) of w against the activations (what one chunk of a parallel_for runs).
void run_tiles(const KernelSet& k, const WeightMatrix& w, const TileActivations& a,
               int64_t n_tokens, float* y, int64_t begin, int64_t end) {
  const int64_t cols = w.cols, rows = w.rows;
  // Units per kernel call.
  const int64_t unit_tile = a.q32 ? kQuadTile : kTokenTile;
  const uint8_t* xq[kTokenTile];
  const BlockQ8K* xk[kTokenTile];
  float out[kTokenTile];  // the K tiles' sums
  const int64_t row_end = std::min(rows, end * kRowTile);
  // Q8_0-family tiles take four rows at once (one vector holds 16 values of each).
  const int64_t row_step = a.q32 ? 4 : 1;
  const int64_t step_bytes = row_step * static_cast<int64_t>(w.row_bytes);
  const int64_t prefetch_rows = row_step * ((kPrefetchBytes + step_bytes - 1) / step_bytes);
  for (int64_t r = begin * kRowTile; r < row_end; r += row_step) {
    const int row_count = static_cast<int>(std::min(row_step, row_end - r));
    // The tiles read a few rows in interleaved short streams that the hardware prefetcher
    // barely catches; without help a batch step pays memory latency on top of the compute.
    // The kernels prefetch the rows a few KB ahead, a few lines per block in address order (one
    // stream), so the requests spread over the compute instead of arriving in one burst.
    const int64_t prefetch = r + prefetch_rows + row_step <= rows
                                 ? prefetch_rows * static_cast<int64_t>(w.row_bytes)
                                 : 0;
    const void* row[4];
    for (int j = 0; j < 4; ++j) row[j] = row_ptr(w, r + std::min(j, row_count - 1));
    for (int64_t u0 = 0; u0 < a.units; u0 += unit_tile) {
      const int count = static_cast<int>(std::min<int64_t>(unit_tile, a.units - u0));
      for (int i = 0; i < count; ++i) {
        xq[i] = a.base + (u0 + i) * a.unit_bytes;
        xk[i] = reinterpret_cast<const BlockQ8K*>(xq[i]);
      }
      const int64_t fetch = u0 == 0 ? prefetch : 0;
      if (a.q32) {
        // Token-major: each token's rows are adjacent in y (the logits rows are far apart).
        const int64_t t0 = 4 * u0;
        const TileOut to{y + t0 * rows + r, rows,
                         static_cast<int>(std::min<int64_t>(int64_t{4} * count, n_tokens - t0))};
        k.tile_q32(w.type, cols, row, row_count, xq, count, a.layout, fetch, to);
      } else {
        k.tile_k(w.type, cols, row[0], xk, count, fetch, out);
        for (int i = 0; i < count; ++i) y[(u0 + i) * rows + r] = out[i];
      }
    }
  }
}

// Whether the fast path gives rows of type t to the tile kernels. One token (decode) gains nothing
// from sharing the Q8_0-family unpacking; the prepared dots are leaner. The K-quant tiles beat
// their dots even then (AVX-512 against the shared AVX2 dots: 6.4 against 13.8 ns per Q4_K
// super-block in cache).
bool tiles_take(const KernelSet& k, GgmlType t, int64_t n_tokens) {
  const GgmlType act = fast_activation_type(t);
  return (n_tokens > 1 && act == GgmlType::kQ8_0 && k.tile_q32 != nullptr) ||
         (act == GgmlType::kQ8_K && k.tile_k != nullptr);
}

// Fast, quantized weights with tile kernels: quad-layout Q8_0 or Q8_K activations.
void matmul_quantized_tiles(const KernelSet& k, const WeightMatrix& w, const float* x,
                            int64_t n_tokens, float* y, ThreadPool& pool) {
  thread_local std::vector<uint8_t> storage;
  const TileActivations a = quantize_for_tiles(k, w.type, x, w.cols, n_tokens, storage, pool);
  pool.parallel_for(row_tiles(w), [&](int64_t begin, int64_t end) {
    run_tiles(k, w, a, n_tokens, y, begin, end);
  });
}

// Fast, quantized weights: activations quantized once per call (Q8_0 or Q8_K), integer dots.
void matmul_quantized(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                      float* y, ThreadPool& pool) {
  if (tiles_take(k, w.type, n_tokens)) return matmul_quantized_tiles(k, w, x, n_tokens, y, pool);
  const GgmlType act = fast_activation_type(w.type);
  const int64_t cols = w.cols, rows = w.rows;
  // Q8_0 / Q4_0 / Q5_0 rows against tokens prepared once (prepare_q32), where the set has the dot.
  const bool prepared = k.dot_q32_prepared != nullptr && act == GgmlType::kQ8_0;
  // 64-byte multiples keep every token's prepared arrays aligned.
  const size_t act_row_bytes = prepared ? (prepared_q32_bytes(cols) + 63) / 64 * 64
                               : act == GgmlType::kQ8_0
                                   ? static_cast<size_t>(cols / kQK) * sizeof(BlockQ8_0)
                                   : static_cast<size_t>(cols / kQKK) * sizeof(BlockQ8K);
  thread_local std::vector<uint8_t> quantized;
  if (quantized.size() < act_row_bytes * n_tokens + 64)
    quantized.resize(act_row_bytes * n_tokens + 64);
  uint8_t* xq = quantized.data() + (64 - reinterpret_cast<uintptr_t>(quantized.data()) % 64) % 64;
  auto quantize = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      uint8_t* out = xq + t * act_row_bytes;
      if (prepared) {
        prepare_q32(x + t * cols, cols, out);
      } else if (act == GgmlType::kQ8_0) {
        quantize_row_q8_0(x + t * cols, reinterpret_cast<BlockQ8_0*>(out), cols);
      } else {
        quantize_row_q8_K(x + t * cols, reinterpret_cast<BlockQ8K*>(out), cols);
      }
    }
  };
  quantize_units(n_tokens, n_tokens, quantize, pool);
  const QuantDot dot = quant_dot(k, w.type);
  const int64_t tiles = (rows + kRowTile - 1) / kRowTile;
  pool.parallel_for(tiles, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      int64_t r0 = tile * kRowTile, r1 = std::min(rows, r0 + kRowTile);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const uint8_t* xt = xq + t * act_row_bytes;
        if (prepared) {
          for (int64_t r = r0; r < r1; ++r)
            y[t * rows + r] = k.dot_q32_prepared(w.type, cols, row_ptr(w, r), xt);
        } else {
          for (int64_t r = r0; r < r1; ++r) y[t * rows + r] = dot(cols, row_ptr(w, r), xt);
        }
      }
    }
  });
}

// Whether matmul_with sends w to the tile kernels (matmul_quantized_tiles).
bool takes_tiles(const KernelSet& k, const WeightMatrix& w, int64_t n_tokens, bool exact) {
  return !exact && !w.panels && n_tokens > 0 && w.rows > 0 && supports(w.type, w.cols) &&
         tiles_take(k, w.type, n_tokens);
}

// Fast, weights in panels (ops/panels.h): each token quantized once, then every panel against up
// to 16 tokens at a time. The panel stays in cache while the token groups pass; each thread reads
// one ascending stream of weights (the kernel prefetches it 4 KB ahead).
constexpr int kPanelTokens = 16;

// Every token's panel activations, in this thread's storage (valid until its next call).
const PanelActivation* quantize_for_panel_tiles(const KernelSet& k, const float* x, int64_t cols,
                                                int64_t n_tokens, ThreadPool& pool) {
  thread_local std::vector<PanelActivation> storage;
  const int64_t blocks = cols / kQK;
  if (storage.size() < static_cast<size_t>(blocks * n_tokens))
    storage.resize(static_cast<size_t>(blocks * n_tokens));
  const auto one = k.quantize_panels != nullptr ? k.quantize_panels : quantize_for_panels;
  // The pool's threads write into this thread's storage (a lambda naming `storage` would reach
  // their own thread_local instead).
  PanelActivation* out = storage.data();
  auto quantize = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) one(x + t * cols, cols, out + t * blocks);
  };
  quantize_units(n_tokens, n_tokens, quantize, pool);
  return out;
}

int64_t panel_count(const WeightMatrix& w) { return w.rows / kPanelRows; }

// Panels [begin, end) of w against every token.
void run_panels(const KernelSet& k, const WeightMatrix& w, const PanelActivation* x,
                int64_t n_tokens, float* y, int64_t begin, int64_t end) {
  const int64_t blocks = w.cols / kQK;
  const size_t panel_bytes = w.row_bytes * kPanelRows;
  const auto tile = k.panel_tile != nullptr ? k.panel_tile : panel_tile_reference;
  const PanelActivation* xs[kPanelTokens];
  float* ys[kPanelTokens];
  for (int64_t p = begin; p < end; ++p) {
    const auto* panel = static_cast<const uint8_t*>(w.data) + static_cast<size_t>(p) * panel_bytes;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kPanelTokens) {
      const int count = static_cast<int>(std::min<int64_t>(kPanelTokens, n_tokens - t0));
      for (int i = 0; i < count; ++i) {
        xs[i] = x + (t0 + i) * blocks;
        ys[i] = y + (t0 + i) * w.rows + p * kPanelRows;
      }
      tile(w.type, blocks, panel, xs, count, ys);
    }
  }
}

void matmul_panels(const KernelSet& k, const WeightMatrix& w, const float* x, int64_t n_tokens,
                   float* y, ThreadPool& pool) {
  const PanelActivation* a = quantize_for_panel_tiles(k, x, w.cols, n_tokens, pool);
  pool.parallel_for(panel_count(w), [&](int64_t begin, int64_t end) {
    run_panels(k, w, a, n_tokens, y, begin, end);
  });
}

// matmul_shared_input over weights that are all in panels of one width: the input quantized
// once, every target's panels in one parallel_for. False (nothing done) otherwise.
bool matmul_shared_panels(const KernelSet& k, std::span<const MatmulTarget> targets, const float* x,
                          int64_t n_tokens, bool exact, ThreadPool& pool) {
  if (exact || n_tokens <= 0 || targets.size() < 2 || targets.size() > kMaxTargets) return false;
  for (const MatmulTarget& t : targets)
    if (!t.w->panels || t.w->cols != targets[0].w->cols) return false;
  const PanelActivation* a = quantize_for_panel_tiles(k, x, targets[0].w->cols, n_tokens, pool);
  TargetStarts first{};
  for (size_t i = 0; i < targets.size(); ++i) first[i + 1] = first[i] + panel_count(*targets[i].w);
  parallel_for_targets(
      targets.size(), first,
      [&](size_t i, int64_t begin, int64_t end) {
        run_panels(k, *targets[i].w, a, n_tokens, targets[i].y, begin, end);
      },
      pool);
  return true;
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
  } else if (w.panels) {
    matmul_panels(k, w, x, n_tokens, y, pool);
  } else if (fast_activation_type(w.type) == GgmlType::kF32) {
    matmul_float_weights(k, w, x, n_tokens, y, pool);
  } else {
    matmul_quantized(k, w, x, n_tokens, y, pool);
  }
}

void matmul_shared_input_with(const KernelSet& k, std::span<const MatmulTarget> targets,
                              const float* x, int64_t n_tokens, bool exact, ThreadPool& pool) {
  if (matmul_shared_panels(k, targets, x, n_tokens, exact, pool)) return;
  bool together = targets.size() > 1 && targets.size() <= kMaxTargets;
  for (const MatmulTarget& t : targets)
    together = together && takes_tiles(k, *t.w, n_tokens, exact) && t.w->cols == targets[0].w->cols;
  if (!together) {
    for (const MatmulTarget& t : targets) matmul_with(k, *t.w, x, n_tokens, t.y, exact, pool);
    return;
  }
  thread_local std::array<std::vector<uint8_t>, kMaxTargets> storage;
  std::array<TileActivations, kMaxTargets> activations;
  std::array<size_t, kMaxTargets> uses{};
  size_t distinct = 0;
  TargetStarts first_tile{};
  for (size_t i = 0; i < targets.size(); ++i) {
    const WeightMatrix& w = *targets[i].w;
    size_t j = 0;
    while (j < distinct && !activations[j].fits(k, w.type, n_tokens)) ++j;
    if (j == distinct)
      activations[distinct++] =
          quantize_for_tiles(k, w.type, x, w.cols, n_tokens, storage[j], pool);
    uses[i] = j;
    first_tile[i + 1] = first_tile[i] + row_tiles(w);
  }
  parallel_for_targets(
      targets.size(), first_tile,
      [&](size_t i, int64_t begin, int64_t end) {
        run_tiles(k, *targets[i].w, activations[uses[i]], n_tokens, targets[i].y, begin, end);
      },
      pool);
}

}  // namespace kernels

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, bool exact,
            ThreadPool& pool) {
  kernels::matmul_with(kernels::best_kernels(), w, x, n_tokens, y, exact, pool);
}

void matmul_shared_input(std::span<const MatmulTarget> targets, const float* x, int64_t n_tokens,
                         bool exact, ThreadPool& pool) {
  kernels::matmul_shared_input_with(kernels::best_kernels(), targets, x, n_tokens, exact, pool);
}

}  // namespace plinth::engine
