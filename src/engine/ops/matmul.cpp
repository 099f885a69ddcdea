// matmul: portable placeholder (dequantize a row, F32 dot). Replaced by the SIMD kernels.
#include "ops/matmul.h"

#include <vector>

namespace plinth::engine {

void matmul(const WeightMatrix& w, const float* x, int64_t n_tokens, float* y, bool exact,
            ThreadPool& pool) {
  pool.parallel_for(w.rows, [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(w.cols));
    for (int64_t r = begin; r < end; ++r) {
      dequantize_row(w.type, static_cast<const char*>(w.data) + r * w.row_bytes, row.data(),
                     w.cols);
      for (int64_t t = 0; t < n_tokens; ++t) {
        const float* xt = x + t * w.cols;
        float acc = 0;
        for (int64_t c = 0; c < w.cols; ++c) acc += row[c] * xt[c];
        y[t * w.rows + r] = acc;
      }
    }
  });
}

}  // namespace plinth::engine
