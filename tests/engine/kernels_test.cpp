// SIMD matmul kernels against the portable scalar reference, and the fast path's error bound.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "ops/matmul.h"
#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {
namespace {

// Random but well-formed weight rows: every bit pattern of the quantized payload is legal, so the
// payload is random bytes; only the f16 scales are kept small and finite.
std::vector<uint8_t> random_weights(GgmlType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  size_t row_bytes = row_size(t, cols);
  std::vector<uint8_t> bytes(row_bytes * rows);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(0.001f, 0.02f), value(-1.0f, 1.0f);
  auto put_half = [&](size_t offset, float v) {
    uint16_t h = fp32_to_fp16(v);
    std::memcpy(bytes.data() + offset, &h, 2);
  };
  size_t bb = block_bytes(t);
  size_t blocks = bytes.size() / bb;
  for (size_t i = 0; i < blocks; ++i) {
    size_t at = i * bb;
    switch (t) {
      case GgmlType::kF32: {
        float v = value(rng);
        std::memcpy(bytes.data() + at, &v, 4);
        break;
      }
      case GgmlType::kF16:
        put_half(at, value(rng));
        break;
      case GgmlType::kBF16: {
        float v = value(rng);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        uint16_t h = static_cast<uint16_t>(bits >> 16);
        std::memcpy(bytes.data() + at, &h, 2);
        break;
      }
      case GgmlType::kQ8_0:
      case GgmlType::kQ4_0:
      case GgmlType::kQ5_0:
        put_half(at, scale(rng));
        break;
      case GgmlType::kQ4_K:
      case GgmlType::kQ5_K:
        put_half(at, scale(rng) * 0.1f);
        put_half(at + 2, scale(rng) * 0.1f);
        break;
      case GgmlType::kQ6_K:
        put_half(at + offsetof(BlockQ6K, d), scale(rng) * 0.05f);
        break;
      default:
        break;
    }
  }
  return bytes;
}

std::vector<float> random_activations(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

struct Problem {
  GgmlType type;
  int64_t rows, cols, tokens;
  std::vector<uint8_t> weights;
  std::vector<float> x;
  WeightMatrix matrix() const { return {type, weights.data(), cols, rows, row_size(type, cols)}; }
};

Problem make_problem(GgmlType t, int64_t rows, int64_t cols, int64_t tokens, uint32_t seed) {
  std::mt19937 rng(seed);
  Problem p{t, rows, cols, tokens, random_weights(t, rows, cols, rng), {}};
  p.x = random_activations(cols * tokens, rng);
  return p;
}

std::vector<float> run(const KernelSet& k, const Problem& p, bool exact, ThreadPool& pool) {
  std::vector<float> y(p.rows * p.tokens, -1234.0f);
  matmul_with(k, p.matrix(), p.x.data(), p.tokens, y.data(), exact, pool);
  return y;
}

// Double-precision dot products of the dequantized weights (value) and of their magnitudes
// (scale of the rounding error).
struct Reference {
  std::vector<double> value, magnitude;
};
Reference reference(const Problem& p) {
  Reference ref{std::vector<double>(p.rows * p.tokens), std::vector<double>(p.rows * p.tokens)};
  std::vector<float> row(p.cols);
  for (int64_t r = 0; r < p.rows; ++r) {
    reference_dequantize_row(p.type, p.weights.data() + r * row_size(p.type, p.cols), row.data(),
                             p.cols);
    for (int64_t t = 0; t < p.tokens; ++t) {
      double v = 0, m = 0;
      for (int64_t c = 0; c < p.cols; ++c) {
        v += static_cast<double>(row[c]) * p.x[t * p.cols + c];
        m += std::fabs(static_cast<double>(row[c]) * p.x[t * p.cols + c]);
      }
      ref.value[t * p.rows + r] = v;
      ref.magnitude[t * p.rows + r] = m;
    }
  }
  return ref;
}

// The fast path's products when K-quant rows meet several tokens in the quad tiles: the
// dequantized weights against the activations quantized as Q8_0 (per 32 values, f16 scale).
std::vector<float> with_q8_0_activations(const Problem& p) {
  std::vector<float> y(p.rows * p.tokens), row(p.cols);
  std::vector<BlockQ8_0> xq(p.cols / kQK);
  for (int64_t t = 0; t < p.tokens; ++t) {
    quantize_row_q8_0(p.x.data() + t * p.cols, xq.data(), p.cols);
    for (int64_t r = 0; r < p.rows; ++r) {
      reference_dequantize_row(p.type, p.weights.data() + r * row_size(p.type, p.cols), row.data(),
                               p.cols);
      double v = 0;
      for (int64_t c = 0; c < p.cols; ++c)
        v += static_cast<double>(row[c]) * xq[c / kQK].qs[c % kQK] * fp16_to_fp32(xq[c / kQK].d);
      y[t * p.rows + r] = static_cast<float>(v);
    }
  }
  return y;
}

std::vector<const KernelSet*> simd_sets() {
  std::vector<const KernelSet*> sets;
  if (avx2_kernels()) sets.push_back(avx2_kernels());
  if (avx512_kernels()) sets.push_back(avx512_kernels());
  return sets;
}

const GgmlType kAllTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16,
                              GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0,
                              GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

std::vector<int64_t> columns_for(GgmlType t) {
  if (block_values(t) == kQKK) return {256, 512, 1280};
  if (block_values(t) == kQK) return {32, 96, 896, 1056};  // 896, 1056: not multiples of 256
  return {8, 37, 896};
}

TEST(Fp16, RoundTripsEveryFiniteHalf) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7C00) == 0x7C00) continue;  // inf / nan
    float f = fp16_to_fp32(static_cast<uint16_t>(h));
    ASSERT_EQ(fp32_to_fp16(f), h) << h;
  }
  EXPECT_EQ(fp16_to_fp32(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_fp32(0xC000), -2.0f);
  EXPECT_EQ(fp16_to_fp32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(fp32_to_fp16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
  EXPECT_EQ(fp32_to_fp16(70000.0f), 0x7C00);
}

// A layer's q / k / v (and gate / up) through matmul_shared_input: the same numbers as one matmul
// per weight, bit for bit, when the weights share an activation layout (two Q5_0), when they do
// not (Q8_0, Q6_K, Q4_K: other offsets and, for K at one token, Q8_K), and on the exact path.
TEST(Kernels, SharedInputMatmulsEqualSeparateOnes) {
  ThreadPool pool(3);
  const int64_t cols = 512;
  for (const KernelSet* k : {&scalar_kernels(), avx2_kernels(), avx512_kernels()}) {
    if (k == nullptr) continue;
    for (int64_t tokens : {1, 3, 4, 5, 16}) {
      std::vector<Problem> problems;
      const GgmlType types[] = {GgmlType::kQ5_0, GgmlType::kQ5_0, GgmlType::kQ8_0, GgmlType::kQ6_K};
      const int64_t rows[] = {37, 8, 21, 13};  // row tiles that do not divide evenly
      for (int i = 0; i < 4; ++i)
        problems.push_back(make_problem(types[i], rows[i], cols, tokens, 100 + 7 * i));
      for (auto& p : problems) p.x = problems[0].x;  // one input
      for (bool exact : {false, true}) {
        std::vector<std::vector<float>> together(4);
        std::vector<WeightMatrix> matrices;
        for (const auto& p : problems) matrices.push_back(p.matrix());
        std::vector<MatmulTarget> targets;
        for (int i = 0; i < 4; ++i) {
          together[i].assign(problems[i].rows * tokens, -1234.0f);
          targets.push_back({&matrices[i], together[i].data()});
        }
        matmul_shared_input_with(*k, targets, problems[0].x.data(), tokens, exact, pool);
        for (int i = 0; i < 4; ++i) {
          const std::vector<float> alone = run(*k, problems[i], exact, pool);
          ASSERT_EQ(together[i], alone)
              << k->name << " tokens " << tokens << " target " << i << (exact ? " exact" : " fast");
        }
      }
    }
  }
}

TEST(Kernels, ScalarExactPathMatchesDoublePrecision) {
  ThreadPool pool(2);
  for (GgmlType t : kAllTypes) {
    for (int64_t cols : columns_for(t)) {
      Problem p = make_problem(t, 9, cols, 3, static_cast<uint32_t>(cols));
      Reference ref = reference(p);
      std::vector<float> y = run(scalar_kernels(), p, true, pool);
      for (size_t i = 0; i < y.size(); ++i)
        ASSERT_NEAR(y[i], ref.value[i], 1e-5 * ref.magnitude[i] + 1e-30)
            << "type " << static_cast<int>(t) << " cols " << cols << " at " << i;
    }
  }
}

TEST(Kernels, SimdMatchesScalarOnBothPaths) {
  auto sets = simd_sets();
  if (sets.empty()) GTEST_SKIP() << "CPU has no AVX2";
  for (const KernelSet* k : sets) std::cout << "[ SIMD     ] " << k->name << "\n";
  ThreadPool pool(3);
  const int64_t token_counts[] = {1, 2, 3, 4, 5, 6, 7, 33};
  for (const KernelSet* k : sets) {
    for (GgmlType t : kAllTypes) {
      for (int64_t cols : columns_for(t)) {
        for (int64_t tokens : token_counts) {
          if (cols > 896 && tokens != 33 && tokens != 1) continue;  // keep the test quick
          Problem p = make_problem(t, 13, cols, tokens, static_cast<uint32_t>(cols * 7 + tokens));
          Reference ref = reference(p);
          for (bool exact : {true, false}) {
            // K-quant rows against several tokens take the quad tiles where a set has them, with
            // Q8_0 activations rather than the scalar dots' Q8_K.
            const bool quads = !exact && tokens > 1 && k->tile_q32 != nullptr &&
                               fast_activation_type(t) == GgmlType::kQ8_K;
            std::vector<float> want =
                quads ? with_q8_0_activations(p) : run(scalar_kernels(), p, exact, pool);
            std::vector<float> got = run(*k, p, exact, pool);
            for (size_t i = 0; i < got.size(); ++i)
              ASSERT_NEAR(got[i], want[i], 1e-5 * ref.magnitude[i] + 1e-30)
                  << k->name << " type " << static_cast<int>(t) << " cols " << cols << " tokens "
                  << tokens << (exact ? " exact" : " fast") << " at " << i;
          }
        }
      }
    }
  }
}

// Bound on the fast path's error: each activation moves by at most half a quantization step
// (amax of its block / 127 / 2), plus the f16 rounding of the Q8_0 scale.
TEST(Kernels, FastPathStaysWithinActivationQuantizationError) {
  ThreadPool pool(2);
  for (GgmlType t : kAllTypes) {
    GgmlType act = fast_activation_type(t);
    if (act == GgmlType::kF32) continue;
    int block = act == GgmlType::kQ8_0 ? kQK : kQKK;
    for (int64_t cols : columns_for(t)) {
      Problem p = make_problem(t, 11, cols, 5, static_cast<uint32_t>(cols + 99));
      std::vector<float> fast = run(best_kernels(), p, false, pool);
      std::vector<float> exact = run(best_kernels(), p, true, pool);
      std::vector<float> row(cols);
      for (int64_t r = 0; r < p.rows; ++r) {
        reference_dequantize_row(t, p.weights.data() + r * row_size(t, cols), row.data(), cols);
        for (int64_t tok = 0; tok < p.tokens; ++tok) {
          const float* x = p.x.data() + tok * cols;
          double bound = 0, magnitude = 0;
          for (int64_t b0 = 0; b0 < cols; b0 += block) {
            float amax = 0;
            for (int j = 0; j < block; ++j) amax = std::max(amax, std::fabs(x[b0 + j]));
            double step = amax / 127.0;
            for (int j = 0; j < block; ++j) {
              bound += std::fabs(row[b0 + j]) * step * 0.5;
              magnitude += std::fabs(row[b0 + j] * x[b0 + j]);
            }
          }
          bound = bound * 1.01 + magnitude * 2e-3;
          size_t i = tok * p.rows + r;
          ASSERT_LE(std::fabs(fast[i] - exact[i]), bound)
              << "type " << static_cast<int>(t) << " cols " << cols << " row " << r;
          // And the error is real quantization error, not zero (the path is actually used).
          if (t == GgmlType::kQ8_0 && cols >= 96) {
            EXPECT_NE(fast[i], exact[i]);
          }
        }
      }
    }
  }
}

TEST(Kernels, SimdDequantizersAreBitExact) {
  for (const KernelSet* k : simd_sets()) {
    for (GgmlType t : kAllTypes) {
      for (int64_t cols : columns_for(t)) {
        std::mt19937 rng(static_cast<uint32_t>(cols) * 3 + static_cast<uint32_t>(t));
        std::vector<uint8_t> w = random_weights(t, 3, cols, rng);
        std::vector<float> want(3 * cols), got(3 * cols, -1.0f);
        reference_dequantize_row(t, w.data(), want.data(), 3 * cols);
        k->dequantize(t, w.data(), got.data(), 3 * cols);
        for (int64_t i = 0; i < 3 * cols; ++i)
          ASSERT_EQ(got[i], want[i]) << k->name << " type " << static_cast<int>(t) << " at " << i;
      }
    }
  }
}

TEST(Kernels, Q8KQuantizerKeepsBlockSums) {
  std::mt19937 rng(5);
  std::vector<float> x = random_activations(512, rng);
  std::vector<BlockQ8K> q(2);
  quantize_row_q8_K(x.data(), q.data(), 512);
  for (int b = 0; b < 2; ++b) {
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += q[b].qs[16 * g + l];
      EXPECT_EQ(sum, q[b].bsums[g]);
    }
    for (int j = 0; j < kQKK; ++j)
      EXPECT_NEAR(q[b].qs[j] * q[b].d, x[b * kQKK + j], std::fabs(q[b].d) * 0.5001);
  }
}

// The Q8_K quantizer rounds with a magic constant instead of nearbyint: the same integers,
// halfway cases (to even) and both signs of the extreme included.
TEST(Kernels, Q8KQuantizerRoundsLikeNearbyint) {
  std::mt19937 rng(11);
  std::vector<float> x = random_activations(3 * kQKK, rng);
  // Block 1: exact multiples of half a step (ties) against the signed extreme -127 * 0.5.
  for (int j = 0; j < kQKK; ++j) x[kQKK + j] = 0.25f * static_cast<float>(j % 255 - 127);
  x[kQKK] = -63.5f;
  // Block 2: the extreme comes first as -1, then its opposite +1 maps to +127.
  for (int j = 0; j < kQKK; ++j) x[2 * kQKK + j] *= 0.01f;
  x[2 * kQKK] = -1.0f;
  x[2 * kQKK + 1] = 1.0f;
  std::vector<BlockQ8K> q(3);
  quantize_row_q8_K(x.data(), q.data(), 3 * kQKK);
  for (int b = 0; b < 3; ++b) {
    float amax = 0, max = 0;
    for (int j = 0; j < kQKK; ++j)
      if (std::fabs(x[b * kQKK + j]) > amax)
        amax = std::fabs(x[b * kQKK + j]), max = x[b * kQKK + j];
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQKK; ++j) {
      int want = std::min(127, static_cast<int>(std::nearbyint(iscale * x[b * kQKK + j])));
      ASSERT_EQ(q[b].qs[j], want) << "block " << b << " value " << j;
    }
  }
  EXPECT_EQ(q[2].qs[1], 127);
}

TEST(Kernels, UnsupportedShapeYieldsNaN) {
  ThreadPool pool(1);
  std::vector<uint8_t> w(34 * 2, 0);
  std::vector<float> x(48, 1.0f), y(2, 0.0f);
  WeightMatrix m{GgmlType::kQ8_0, w.data(), 48, 2, 34};  // 48 is not a whole Q8_0 block count
  matmul(m, x.data(), 1, y.data(), false, pool);
  EXPECT_TRUE(std::isnan(y[0]) && std::isnan(y[1]));
}

TEST(Kernels, PublicMatmulUsesBestKernels) {
  ThreadPool pool(2);
  Problem p = make_problem(GgmlType::kQ4_K, 20, 512, 3, 42);
  std::vector<float> via_public(p.rows * p.tokens);
  matmul(p.matrix(), p.x.data(), p.tokens, via_public.data(), false, pool);
  EXPECT_EQ(via_public, run(best_kernels(), p, false, pool));
}

}  // namespace
}  // namespace plinth::engine::kernels
