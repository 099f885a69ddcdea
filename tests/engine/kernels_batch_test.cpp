// Batched-decode kernels: quad-layout activations, quad tiles, F16 attention axpy, SwiGLU.
#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <cstring>
#include <random>
#include <vector>

#include "ops/attention.h"
#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {
namespace {

std::vector<float> normal_values(int64_t n, uint32_t seed, float sigma = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, sigma);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

// `tokens` tokens of n values from x, quantized in groups of four (the last group partial) for
// weight type t; each group's bytes, and pointers to them as the tiles take them.
struct QuadGroups {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<const uint8_t*> pointers;
};
QuadGroups quantize_groups(const std::vector<float>& x, int tokens, int64_t n, GgmlType t,
                           QuadLayout layout) {
  QuadGroups out;
  const int groups = (tokens + 3) / 4;
  out.bytes.resize(groups);
  for (int g = 0; g < groups; ++g) {
    const float* group_tokens[4];
    const int count = std::min(4, tokens - 4 * g);
    for (int j = 0; j < count; ++j) group_tokens[j] = x.data() + (4 * g + j) * n;
    out.bytes[g].resize((n / kQK) * kQuadBlockBytes);
    quantize_quad_q8_0(group_tokens, count, n, quad_weight_offset(t), out.bytes[g].data(), layout);
    out.pointers.push_back(out.bytes[g].data());
  }
  return out;
}

std::vector<const KernelSet*> simd_sets() {
  std::vector<const KernelSet*> sets;
  if (avx2_kernels()) sets.push_back(avx2_kernels());
  if (avx512_kernels()) sets.push_back(avx512_kernels());
  return sets;
}

TEST(QuadLayout, HoldsEachTokensQ8_0BlockRotatedPerLane) {
  const int64_t n = 64;
  std::vector<float> x = normal_values(3 * n, 7);
  const float* tokens[3] = {x.data(), x.data() + n, x.data() + 2 * n};
  std::vector<uint8_t> quads((n / kQK) * kQuadBlockBytes, 0xAB);
  quantize_quad_q8_0(tokens, 3, n, 16, quads.data(), QuadLayout::kRotatedGroups);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* at = quads.data() + b * kQuadBlockBytes;
    for (int j = 0; j < 4; ++j) {
      BlockQ8_0 want{};
      if (j < 3) quantize_row_q8_0(tokens[j] + b * kQK, &want, kQK);
      int32_t sum = 0;
      for (int i = 0; i < kQK; ++i) {
        // Value i sits in half h, 4-byte group g; lane j of rotation k holds group (j + k) % 4.
        const int h = i / 16, g = (i % 16) / 4, k = (g - j + 4) % 4;
        const auto got = static_cast<int8_t>(at[(4 * h + k) * 16 + 4 * j + i % 4]);
        ASSERT_EQ(got, want.qs[i]) << "block " << b << " token " << j << " value " << i;
        sum += want.qs[i];
      }
      float scale;
      int32_t bias;
      std::memcpy(&scale, at + kQuadScaleOffset + 4 * j, 4);
      std::memcpy(&bias, at + kQuadBiasOffset + 4 * j, 4);
      int32_t low_sum = 0, low_bias;
      for (int i = 0; i < kQK / 2; ++i) low_sum += want.qs[i];
      std::memcpy(&low_bias, at + kQuadLowBiasOffset + 4 * j, 4);
      EXPECT_EQ(scale, j < 3 ? fp16_to_fp32(want.d) : 0.0f);
      EXPECT_EQ(bias, -16 * sum);
      EXPECT_EQ(low_bias, -16 * low_sum);
    }
  }
}

TEST(QuadLayout, TokenRotatedLayoutKeepsEachGroupInItsLane) {
  const int64_t n = 64;
  std::vector<float> x = normal_values(4 * n, 8);
  const float* tokens[4] = {x.data(), x.data() + n, x.data() + 2 * n, x.data() + 3 * n};
  std::vector<uint8_t> quads((n / kQK) * kQuadBlockBytes, 0xAB);
  quantize_quad_q8_0(tokens, 4, n, 128, quads.data(), QuadLayout::kRotatedTokens);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const uint8_t* at = quads.data() + b * kQuadBlockBytes;
    for (int j = 0; j < 4; ++j) {
      BlockQ8_0 want{};
      quantize_row_q8_0(tokens[j] + b * kQK, &want, kQK);
      for (int i = 0; i < kQK; ++i) {
        // Value i sits in half h, group g, always lane g; rotation k holds token (g + k) % 4.
        const int h = i / 16, g = (i % 16) / 4, k = (j - g + 4) % 4;
        const auto got = static_cast<int8_t>(at[(4 * h + k) * 16 + 4 * g + i % 4]);
        ASSERT_EQ(got, want.qs[i]) << "block " << b << " token " << j << " value " << i;
      }
    }
  }
}

TEST(QuadLayout, SimdQuantizerIsBitExact) {
  const int64_t n = 128;
  std::vector<float> x = normal_values(4 * n, 9);
  for (int j = 0; j < 16; ++j) x[j] = 0.5f * static_cast<float>(j - 8);  // ties, amax first
  std::fill(x.begin() + 32, x.begin() + 64, 0.0f);                       // an all-zero block
  x[100] = 1e-6f;                                                        // subnormal f16 scale
  for (const KernelSet* k : simd_sets()) {
    if (k->quantize_quad == nullptr) continue;
    for (QuadLayout layout : {QuadLayout::kRotatedGroups, QuadLayout::kRotatedTokens}) {
      for (int tokens = 1; tokens <= 4; ++tokens) {
        const float* rows[4] = {x.data(), x.data() + n, x.data() + 2 * n, x.data() + 3 * n};
        std::vector<uint8_t> want((n / kQK) * kQuadBlockBytes), got(want.size(), 0xCD);
        quantize_quad_q8_0(rows, tokens, n, 128, want.data(), layout);
        k->quantize_quad(rows, tokens, n, 128, got.data(), layout);
        ASSERT_EQ(got, want) << k->name << " tokens " << tokens << " layout "
                             << static_cast<int>(layout);
      }
    }
  }
}

// The tiles against the scalar per-token dots on the same quantized activations: 1 to 4 rows,
// 1 to 4 groups, every Q8_0-family type.
TEST(QuadTiles, MatchScalarDotsOfTheSameActivations) {
  const KernelSet* k = avx512_kernels();
  if (k == nullptr || k->tile_q32 == nullptr) GTEST_SKIP() << "no tile kernels on this CPU";
  const int64_t n = 96;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int> byte(0, 255);
  for (GgmlType t : {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0}) {
    const size_t row_bytes = row_size(t, n);
    std::vector<uint8_t> w(4 * row_bytes);
    for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
    for (size_t at = 0; at < w.size(); at += block_bytes(t)) {
      const uint16_t h = fp32_to_fp16(0.001f * static_cast<float>(1 + byte(rng) % 20));
      std::memcpy(w.data() + at, &h, 2);
    }
    std::vector<float> x = normal_values(16 * n, 11);
    for (int case_index = 0; case_index < 5; ++case_index) {
      // Groups 1..4 in the group-rotated layout, then one group in the token-rotated one.
      const int groups = case_index < 4 ? case_index + 1 : 1;
      const QuadLayout layout =
          case_index < 4 ? QuadLayout::kRotatedGroups : QuadLayout::kRotatedTokens;
      const int tokens = 4 * groups - (groups % 2);  // odd groups: last quad not full
      const QuadGroups quads = quantize_groups(x, tokens, n, t, layout);
      for (int rows = 1; rows <= 4; ++rows) {
        const void* row_ptrs[4];
        for (int r = 0; r < 4; ++r) row_ptrs[r] = w.data() + std::min(r, rows - 1) * row_bytes;
        // Token-major with room to spare: rows past `rows` and tokens past `tokens` stay NaN.
        std::vector<float> out(4 * 4 * groups * 2, NAN);
        k->tile_q32(t, n, row_ptrs, rows, quads.pointers.data(), groups, layout, 0,
                    {out.data(), 8, tokens});
        for (int token = 0; token < 4 * groups; ++token) {
          for (int r = 0; r < 8; ++r) {
            if (token >= tokens || r >= rows) {
              ASSERT_TRUE(std::isnan(out[token * 8 + r])) << "token " << token << " row " << r;
            }
          }
        }
        for (int r = 0; r < rows; ++r) {
          for (int token = 0; token < tokens; ++token) {
            std::vector<BlockQ8_0> xq(n / kQK);
            quantize_row_q8_0(x.data() + token * n, xq.data(), n);
            const auto dot = t == GgmlType::kQ8_0   ? scalar_kernels().dot_q8_0_q8_0
                             : t == GgmlType::kQ4_0 ? scalar_kernels().dot_q4_0_q8_0
                                                    : scalar_kernels().dot_q5_0_q8_0;
            const float want = dot(n, w.data() + r * row_bytes, xq.data());
            const float got = out[token * 8 + r];
            ASSERT_NEAR(got, want, 1e-5f * (std::fabs(want) + 1.0f))
                << "type " << static_cast<int>(t) << " groups " << groups << " layout "
                << static_cast<int>(layout) << " rows " << rows << " row " << r << " token "
                << token;
          }
        }
      }
    }
  }
}

// K-quant rows in the quad tiles: against the exact dequantized rows times the same Q8_0
// activations, summed in double. Random bytes (any scale, minimum and high bit), 1 to 4 rows,
// 1 to 4 groups (the last one partly filled).
TEST(QuadTiles, KQuantRowsMatchTheirDequantizedValues) {
  const KernelSet* k = avx512_kernels();
  if (k == nullptr || k->tile_q32 == nullptr) GTEST_SKIP() << "no tile kernels on this CPU";
  const int64_t n = 2 * kQKK;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> byte(0, 255);
  for (GgmlType t : {GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K}) {
    const size_t row_bytes = row_size(t, n);
    std::vector<uint8_t> w(4 * row_bytes);
    for (auto& v : w) v = static_cast<uint8_t>(byte(rng));
    // Small positive f16 scales (d, and dmin where there is one) so the sums stay finite.
    const size_t d_at = t == GgmlType::kQ6_K ? offsetof(BlockQ6K, d) : 0;
    for (size_t at = 0; at < w.size(); at += block_bytes(t)) {
      for (size_t field = 0; field < (t == GgmlType::kQ6_K ? 1u : 2u); ++field) {
        const uint16_t h = fp32_to_fp16(0.001f * static_cast<float>(1 + byte(rng) % 20));
        std::memcpy(w.data() + at + d_at + 2 * field, &h, 2);
      }
    }
    std::vector<float> x = normal_values(16 * n, 12);
    for (int groups = 1; groups <= 4; ++groups) {
      const int tokens = 4 * groups - 1;
      const QuadGroups quads = quantize_groups(x, tokens, n, t, QuadLayout::kRotatedGroups);
      for (int rows = 1; rows <= 4; ++rows) {
        const void* row_ptrs[4];
        for (int r = 0; r < 4; ++r) row_ptrs[r] = w.data() + std::min(r, rows - 1) * row_bytes;
        std::vector<float> out(4 * 4 * groups, NAN);
        k->tile_q32(t, n, row_ptrs, rows, quads.pointers.data(), groups, QuadLayout::kRotatedGroups,
                    0, {out.data(), 4, tokens});
        for (int r = 0; r < rows; ++r) {
          std::vector<float> values(n);
          reference_dequantize_row(t, w.data() + r * row_bytes, values.data(), n);
          for (int token = 0; token < tokens; ++token) {
            std::vector<BlockQ8_0> xq(n / kQK);
            quantize_row_q8_0(x.data() + token * n, xq.data(), n);
            double want = 0, magnitude = 0;
            for (int64_t i = 0; i < n; ++i) {
              const double term = static_cast<double>(values[i]) * xq[i / kQK].qs[i % kQK] *
                                  fp16_to_fp32(xq[i / kQK].d);
              want += term;
              magnitude += std::fabs(term);
            }
            const float got = out[token * 4 + r];
            ASSERT_NEAR(got, want, 1e-5 * magnitude + 1e-6)
                << "type " << static_cast<int>(t) << " groups " << groups << " rows " << rows
                << " row " << r << " token " << token;
          }
        }
      }
    }
  }
}

TEST(HalfAxpy, SimdMatchesScalar) {
  for (int64_t n : {1, 7, 16, 64, 77}) {
    std::vector<float> x = normal_values(n, static_cast<uint32_t>(n));
    std::vector<uint16_t> h(n);
    for (int64_t i = 0; i < n; ++i) h[i] = fp32_to_fp16(x[i]);
    std::vector<float> want = normal_values(n, 99);
    const std::vector<float> start = want;
    scalar_kernels().axpy_f16(n, 0.37f, h.data(), want.data());
    for (int64_t i = 0; i < n; ++i) ASSERT_FLOAT_EQ(want[i], start[i] + 0.37f * fp16_to_fp32(h[i]));
    for (const KernelSet* k : simd_sets()) {
      std::vector<float> got = start;
      k->axpy_f16(n, 0.37f, h.data(), got.data());
      for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(got[i], want[i], 1e-6f) << k->name << " " << i;
    }
  }
}

TEST(SwiGlu, SimdMatchesScalarSilu) {
  const int64_t n = 1000;
  std::vector<float> gate = normal_values(n, 5, 4.0f), up = normal_values(n, 6);
  gate[0] = 100.0f, gate[1] = -100.0f, gate[2] = 0.0f, gate[3] = -87.5f, gate[4] = 30.0f;
  for (const KernelSet* k : simd_sets()) {
    if (k->swiglu == nullptr) continue;
    std::vector<float> got = gate;
    k->swiglu(n - 3, got.data(), up.data());  // a partial last vector
    for (int64_t i = 0; i < n - 3; ++i) {
      const float want = silu(gate[i]) * up[i];
      ASSERT_NEAR(got[i], want, 1e-6f * std::fabs(want) + 1e-30f) << k->name << " at " << i;
    }
    for (int64_t i = n - 3; i < n; ++i) ASSERT_EQ(got[i], gate[i]);  // untouched past n
  }
}

}  // namespace
}  // namespace plinth::engine::kernels
