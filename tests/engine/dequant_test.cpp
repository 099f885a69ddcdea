// dequantize_row: every tensor of every fixture model matches the gguf reference decoders.
#include "ops/dequant.h"

#include <gtest/gtest.h>

#include <boost/json/src.hpp>  // header-only Boost.JSON: the engine library does not link it
#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "gguf/gguf_file.h"
#include "ops/simd_kernels.h"

namespace plinth::engine {
namespace {

const std::filesystem::path kData(PLINTH_TEST_DATA_DIR);

boost::json::value read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return boost::json::parse(ss.str());
}

class DequantFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(DequantFixture, EveryTensorMatchesReference) {
  auto file = GgufFile::open(kData / "models" / (GetParam() + ".gguf"));
  ASSERT_TRUE(file) << file.error().message;
  auto reference = read_json(kData / "dequant" / (GetParam() + ".json"));
  const auto& tensors = reference.at("tensors").as_array();
  ASSERT_EQ(tensors.size(), (*file)->tensors().size());
  std::vector<float> values;
  for (const auto& item : tensors) {
    const auto& expected = item.as_object();
    const std::string name(expected.at("name").as_string());
    SCOPED_TRACE(name);
    const TensorInfo* t = (*file)->tensor(name);
    ASSERT_NE(t, nullptr);
    ASSERT_TRUE(can_dequantize(t->type));
    EXPECT_EQ(ggml_type_traits(static_cast<uint32_t>(t->type))->name,
              std::string_view(expected.at("type").as_string()));
    const auto& dims = expected.at("dims").as_array();
    ASSERT_EQ(dims.size(), t->dims.size());
    for (size_t i = 0; i < dims.size(); ++i) EXPECT_EQ(dims[i].to_number<int64_t>(), t->dims[i]);

    values.resize(static_cast<size_t>(t->n_elements));
    const int64_t cols = t->dims[0];
    for (int64_t r = 0; r < t->rows(); ++r)
      dequantize_row(t->type, t->data + r * t->row_bytes(), values.data() + r * cols, cols);

    const auto& first = expected.at("first").as_array();
    const auto& last = expected.at("last").as_array();
    for (size_t i = 0; i < first.size(); ++i)
      ASSERT_EQ(values[i], static_cast<float>(first[i].to_number<double>()))
          << "first[" << i << "]";
    for (size_t i = 0; i < last.size(); ++i)
      ASSERT_EQ(values[values.size() - last.size() + i],
                static_cast<float>(last[i].to_number<double>()))
          << "last[" << i << "]";
    double sum = 0, sum_sq = 0;
    for (float v : values) {
      sum += v;
      sum_sq += static_cast<double>(v) * v;
    }
    const double want_sum = expected.at("sum").to_number<double>();
    const double want_sq = expected.at("sum_sq").to_number<double>();
    EXPECT_NEAR(sum, want_sum, 1e-9 * want_sq + 1e-9);
    EXPECT_NEAR(sum_sq, want_sq, 1e-9 * want_sq + 1e-9);
  }
}

INSTANTIATE_TEST_SUITE_P(AllModels, DequantFixture,
                         ::testing::Values("llama-spm-64-q8_0", "llama-spm-256-tied-q4_k_m",
                                           "llama-spm-256-tied-q5_k_m", "llama3-bpe-32-tied-q8_0",
                                           "qwen2-32-tied-q8_0", "qwen3-32-tied-q8_0",
                                           "bert-bge-64-mean-f16", "bert-bge-64-mean-bf16",
                                           "bert-bge-64-cls-q8_0"));

TEST(Dequant, HalfConversionsRoundTrip) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    EXPECT_EQ(f32_to_f16(f), h) << h;
  }
  EXPECT_EQ(f16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f32_to_f16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie rounds to even
  EXPECT_EQ(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);
  EXPECT_EQ(f32_to_f16(70000.0f), 0x7C00);
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
}

TEST(Dequant, Q4_0BlockDecodesNibblesAroundEight) {
  uint8_t block[18] = {};
  const uint16_t half_two = 0x4000;  // 2.0
  std::memcpy(block, &half_two, 2);
  for (int j = 0; j < 16; ++j) block[2 + j] = static_cast<uint8_t>((15 - j) << 4 | j);
  float out[32];
  dequantize_row(GgmlType::kQ4_0, block, out, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(out[j], 2.0f * (j - 8));
    EXPECT_EQ(out[j + 16], 2.0f * (15 - j - 8));
  }
}

TEST(Dequant, Q5_0MatchesTheKernelReferenceDecoder) {
  // 8 blocks of random bytes with sane f16 scales: both decoders must agree bit for bit.
  std::vector<uint8_t> blocks(8 * 22);
  uint32_t state = 12345;
  for (auto& b : blocks) {
    state = state * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(state >> 24);
  }
  for (int blk = 0; blk < 8; ++blk) {
    uint16_t scale = f32_to_f16(0.01f * static_cast<float>(blk + 1));
    std::memcpy(&blocks[static_cast<size_t>(blk) * 22], &scale, 2);
  }
  std::vector<float> ours(256), reference(256);
  ASSERT_TRUE(can_dequantize(GgmlType::kQ5_0));
  dequantize_row(GgmlType::kQ5_0, blocks.data(), ours.data(), 256);
  kernels::reference_dequantize_row(GgmlType::kQ5_0, blocks.data(), reference.data(), 256);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(ours[i], reference[i]) << i;
  const float d = f16_to_f32(f32_to_f16(0.01f));
  const int q0 = (blocks[6] & 0xF) | ((blocks[2] & 1) << 4);
  EXPECT_EQ(ours[0], d * static_cast<float>(q0 - 16));
}

}  // namespace
}  // namespace plinth::engine
