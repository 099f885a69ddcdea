// Matmul benchmarks: per-kernel microbenchmark and a Qwen2-0.5B-shaped per-token estimate.
#pragma once

#include <cstdint>
#include <string>

#include "random_model.h"

namespace plinth::bench {

// Scalar vs AVX2 vs AVX-512 for Q8_0 / Q5_0 / Q4_K / Q6_K / F16 on 896x4864 weights, 1, 4, 16
// and 128 tokens.
void run_matmul_microbench(int threads, double seconds_per_case);

// Times every weight matrix of a model of `shape` quantized with `recipe` (separate memory per
// layer, so decode is as memory bound as the real thing): decode tokens/s (1 token, including the
// output matrix), prompt tokens/s (128 tokens through the layers, logits for one) and batched
// decode (4 and 16 sequences per step) against one sequence, by wall and by CPU time.
void run_model_estimate(const tools::ModelShape& shape, tools::QuantRecipe recipe, int threads,
                        bool exact);

}  // namespace plinth::bench
