// Row panels (ops/panels.h): the repacking keeps every value, the AVX-512 kernel is the reference
// bit for bit, and matmul over panels gives what it gives over rows; a loaded model stores its
// Q8_0 matrices in panels only where its bytes are its own.
#include "ops/panels.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <random>
#include <set>
#include <vector>

#include "gguf/gguf_file.h"
#include "model/model_weights.h"
#include "ops/matmul.h"
#include "ops/simd_kernels.h"

namespace plinth::engine::kernels {
namespace {

constexpr GgmlType kTypes[] = {GgmlType::kQ8_0, GgmlType::kQ4_0, GgmlType::kQ5_0,
                               GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

bool k_quant(GgmlType t) {
  return t == GgmlType::kQ4_K || t == GgmlType::kQ5_K || t == GgmlType::kQ6_K;
}

// Random payload bytes (every pattern is a legal value) with small finite f16 scales.
std::vector<uint8_t> random_rows(GgmlType t, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::vector<uint8_t> bytes(row_size(t, cols) * static_cast<size_t>(rows));
  for (auto& b : bytes) b = static_cast<uint8_t>(rng());
  std::uniform_real_distribution<float> scale(0.001f, 0.02f);
  for (size_t at = 0; at < bytes.size(); at += block_bytes(t)) {
    const uint16_t h = fp32_to_fp16(scale(rng)), h_min = fp32_to_fp16(scale(rng) * 0.1f);
    if (t == GgmlType::kQ6_K) {  // d last, after the random ql, qh and int8 scales
      std::memcpy(bytes.data() + at + offsetof(BlockQ6K, d), &h, 2);
      continue;
    }
    std::memcpy(bytes.data() + at, &h, 2);
    if (k_quant(t)) std::memcpy(bytes.data() + at + 2, &h_min, 2);  // Q4_K / Q5_K: d, then dmin
  }
  return bytes;
}

WeightMatrix view(GgmlType t, const std::vector<uint8_t>& bytes, int64_t rows, int64_t cols,
                  bool panels) {
  return {t, bytes.data(), cols, rows, row_size(t, cols), panels};
}

std::vector<float> random_input(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> x(static_cast<size_t>(n));
  for (auto& v : x) v = normal(rng);
  return x;
}

TEST(Panels, FitTheirTypesInRowsOfSixteen) {
  EXPECT_TRUE(panels_fit(GgmlType::kQ8_0, 32, 64));
  EXPECT_TRUE(panels_fit(GgmlType::kQ5_0, 16, 32));
  EXPECT_FALSE(panels_fit(GgmlType::kQ8_0, 24, 64));  // not whole panels
  EXPECT_TRUE(panels_fit(GgmlType::kQ4_K, 32, 256));
  EXPECT_FALSE(panels_fit(GgmlType::kQ4_K, 32, 96));  // not whole super-blocks
  EXPECT_TRUE(panels_fit(GgmlType::kQ6_K, 32, 256));
  EXPECT_TRUE(panels_fit(GgmlType::kQ5_K, 32, 256));
  EXPECT_FALSE(panels_fit(GgmlType::kQ3_K, 32, 256));
  EXPECT_FALSE(panels_fit(GgmlType::kF16, 32, 64));
}

TEST(Panels, EveryRowDecodesAsBeforeTheRepacking) {
  std::mt19937 rng(7);
  for (GgmlType t : kTypes) {
    for (int64_t cols :
         k_quant(t) ? std::vector<int64_t>{256, 768} : std::vector<int64_t>{32, 96, 896}) {
      const int64_t rows = 48;
      const auto rows_bytes = random_rows(t, rows, cols, rng);
      auto panel_bytes = rows_bytes;
      repack_to_panels(t, panel_bytes.data(), rows, cols);
      EXPECT_NE(panel_bytes, rows_bytes);
      std::vector<float> want(static_cast<size_t>(cols)), got(want.size());
      for (int64_t r = 0; r < rows; ++r) {
        dequantize_weight_row(view(t, rows_bytes, rows, cols, false), r, want.data());
        dequantize_weight_row(view(t, panel_bytes, rows, cols, true), r, got.data());
        ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
            << "type " << static_cast<int>(t) << " cols " << cols << " row " << r;
      }
    }
  }
}

TEST(Panels, SimdKernelIsTheReferenceBitForBit) {
  const KernelSet* avx512 = avx512_kernels();
  if (avx512 == nullptr || avx512->panel_tile == nullptr)
    GTEST_SKIP() << "this CPU has no AVX-512 VNNI: the reference is the only panel kernel";
  std::mt19937 rng(11);
  for (GgmlType t : kTypes) {
    const int64_t cols = k_quant(t) ? 512 : 160, blocks = cols / kQK;
    auto bytes = random_rows(t, kPanelRows, cols, rng);
    repack_to_panels(t, bytes.data(), kPanelRows, cols);
    constexpr int kMaxTokens = 16;
    std::vector<PanelActivation> acts(static_cast<size_t>(blocks * kMaxTokens));
    for (int i = 0; i < kMaxTokens; ++i) {
      const auto x = random_input(cols, rng);
      quantize_for_panels(x.data(), cols, acts.data() + i * blocks);
    }
    for (int tokens = 1; tokens <= kMaxTokens; ++tokens) {
      const PanelActivation* xs[kMaxTokens];
      float want[kMaxTokens][kPanelRows], got[kMaxTokens][kPanelRows];
      float* want_rows[kMaxTokens];
      float* got_rows[kMaxTokens];
      for (int i = 0; i < tokens; ++i) {
        xs[i] = acts.data() + i * blocks;
        want_rows[i] = want[i];
        got_rows[i] = got[i];
      }
      panel_tile_reference(t, blocks, bytes.data(), xs, tokens, want_rows);
      avx512->panel_tile(t, blocks, bytes.data(), xs, tokens, got_rows);
      ASSERT_EQ(0, std::memcmp(want, got, sizeof(float) * kPanelRows * tokens))
          << "type " << static_cast<int>(t) << " tokens " << tokens;
    }
  }
}

TEST(Panels, SimdQuantizerIsThePortableOneBitForBit) {
  const KernelSet* avx512 = avx512_kernels();
  if (avx512 == nullptr || avx512->quantize_panels == nullptr)
    GTEST_SKIP() << "this CPU has no AVX-512: the portable quantizer is the only one";
  std::mt19937 rng(13);
  for (float spread : {1e-3f, 1.0f, 300.0f}) {
    auto x = random_input(4864, rng);
    for (auto& v : x) v *= spread;
    for (int i = 0; i < 32; ++i) x[static_cast<size_t>(i)] = 0.0f;  // an all-zero block
    x[40] = 127.5f * spread;  // a value exactly between two steps
    std::vector<PanelActivation> want(4864 / kQK), got(want.size());
    quantize_for_panels(x.data(), 4864, want.data());
    avx512->quantize_panels(x.data(), 4864, got.data());
    ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(PanelActivation)))
        << "spread " << spread;
  }
}

TEST(Panels, MatmulGivesWhatTheRowLayoutGives) {
  ThreadPool pool(2);
  std::mt19937 rng(3);
  const KernelSet& k = best_kernels();
  for (GgmlType t : kTypes) {
    const int64_t rows = 64, cols = 256;
    const auto rows_bytes = random_rows(t, rows, cols, rng);
    auto panel_bytes = rows_bytes;
    repack_to_panels(t, panel_bytes.data(), rows, cols);
    const WeightMatrix by_rows = view(t, rows_bytes, rows, cols, false);
    const WeightMatrix by_panels = view(t, panel_bytes, rows, cols, true);
    for (int64_t tokens : {1, 3, 16, 21}) {
      const auto x = random_input(cols * tokens, rng);
      std::vector<float> want(static_cast<size_t>(rows * tokens)), got(want.size());
      // Exact: the same decoded values, the same arithmetic.
      matmul_with(k, by_rows, x.data(), tokens, want.data(), true, pool);
      matmul_with(k, by_panels, x.data(), tokens, got.data(), true, pool);
      ASSERT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)));
      // Fast: within the activation quantization's error of the exact result (each activation
      // moves by at most half a step of its 32-value block, plus the f16 rounding of the scale).
      const std::vector<float> exact = want;
      matmul_with(k, by_panels, x.data(), tokens, got.data(), false, pool);
      std::vector<float> row(static_cast<size_t>(cols));
      for (int64_t r = 0; r < rows; ++r) {
        dequantize_weight_row(by_rows, r, row.data());
        for (int64_t tok = 0; tok < tokens; ++tok) {
          const float* xt = x.data() + tok * cols;
          double bound = 0, magnitude = 0;
          for (int64_t b0 = 0; b0 < cols; b0 += kQK) {
            float amax = 0;
            for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(xt[b0 + j]));
            for (int j = 0; j < kQK; ++j) {
              bound += std::fabs(row[b0 + j]) * amax / 127.0 * 0.5;
              magnitude += std::fabs(row[b0 + j] * xt[b0 + j]);
            }
          }
          const size_t i = static_cast<size_t>(tok * rows + r);
          ASSERT_LE(std::fabs(got[i] - exact[i]), bound * 1.01 + magnitude * 2e-3)
              << "type " << static_cast<int>(t) << " tokens " << tokens << " row " << r;
        }
      }
      // The Q8_0 family quantizes the activations as the row layout's kernels do: the same
      // integer dots, only the float sums may round in another order.
      matmul_with(k, by_rows, x.data(), tokens, want.data(), false, pool);
      if (!k_quant(t)) {
        for (size_t i = 0; i < want.size(); ++i)
          ASSERT_NEAR(got[i], want[i], 1e-5f * (1.0f + std::fabs(want[i])))
              << "type " << static_cast<int>(t) << " tokens " << tokens << " at " << i;
      }
      // The portable kernel set takes the reference panel kernel: the same sums.
      std::vector<float> portable(got.size());
      matmul_with(scalar_kernels(), by_panels, x.data(), tokens, portable.data(), false, pool);
      EXPECT_EQ(portable, got);
    }
  }
}

TEST(Panels, SharedInputMatmulsEqualSeparateOnes) {
  ThreadPool pool(2);
  std::mt19937 rng(5);
  const int64_t cols = 128, tokens = 5;
  auto q = random_rows(GgmlType::kQ8_0, 32, cols, rng);
  auto v = random_rows(GgmlType::kQ5_0, 16, cols, rng);
  repack_to_panels(GgmlType::kQ8_0, q.data(), 32, cols);
  repack_to_panels(GgmlType::kQ5_0, v.data(), 16, cols);
  const WeightMatrix wq = view(GgmlType::kQ8_0, q, 32, cols, true);
  const WeightMatrix wv = view(GgmlType::kQ5_0, v, 16, cols, true);
  const auto x = random_input(cols * tokens, rng);
  std::vector<float> yq(32 * tokens), yv(16 * tokens), sq(yq.size()), sv(yv.size());
  const MatmulTarget targets[] = {{&wq, yq.data()}, {&wv, yv.data()}};
  matmul_shared_input(targets, x.data(), tokens, false, pool);
  matmul(wq, x.data(), tokens, sq.data(), false, pool);
  matmul(wv, x.data(), tokens, sv.data(), false, pool);
  EXPECT_EQ(yq, sq);
  EXPECT_EQ(yv, sv);
}

const std::filesystem::path kModels = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "models";

TEST(Panels, ALoadedModelStoresItsMatricesInPanelsOnlyInItsOwnCopy) {
  const auto path = kModels / "qwen2-32-tied-q8_0.gguf";
  auto own = GgufFile::open(path, Residency::kHugePages);
  auto mapped = GgufFile::open(path, Residency::kMapped);
  ASSERT_TRUE(own && mapped);
  auto config = read_model_config(**own);
  ASSERT_TRUE(config);
  auto in_panels = bind_model_weights(**own, *config);
  auto in_rows = bind_model_weights(**mapped, *config);
  ASSERT_TRUE(in_panels && in_rows);
  store_weights_in_panels(**own, *in_panels);
  store_weights_in_panels(**mapped, *in_rows);  // a mapped file is left as it is
  const bool simd = best_kernels().panel_tile != nullptr;
  EXPECT_FALSE(in_rows->layers[0].wq.panels);
  EXPECT_EQ(in_panels->layers[0].wq.panels, simd);
  EXPECT_EQ(in_panels->token_embd.panels, simd);
  EXPECT_EQ(in_panels->output.panels, simd);  // tied: the same bytes
  // Whatever the layout, every row reads the same (embedding lookups, the exact path).
  const WeightMatrix& a = in_panels->token_embd;
  const WeightMatrix& b = in_rows->token_embd;
  std::vector<float> ra(static_cast<size_t>(a.cols)), rb(ra.size());
  for (int64_t r = 0; r < a.rows; r += 37) {
    read_weight_row(a, r, ra.data());
    read_weight_row(b, r, rb.data());
    ASSERT_EQ(ra, rb) << "row " << r;
  }
  // Exactly the matrices marked `panels` were rewritten; every other tensor (norms, biases, any
  // matrix left in rows) keeps the file's bytes.
  std::set<const void*> rewritten;
  for (const WeightMatrix* w : in_panels->matrices())
    if (w->panels) rewritten.insert(w->data);
  EXPECT_EQ(rewritten.empty(), !simd);
  for (size_t i = 0; i < (*own)->tensors().size(); ++i) {
    const TensorInfo& mine = (*own)->tensors()[i];
    const TensorInfo& file = (*mapped)->tensors()[i];
    ASSERT_EQ(mine.n_bytes, file.n_bytes);
    EXPECT_EQ(std::memcmp(mine.data, file.data, mine.n_bytes) == 0, !rewritten.contains(mine.data))
        << mine.name;
  }
}

}  // namespace
}  // namespace plinth::engine::kernels
