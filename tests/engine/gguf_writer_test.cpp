// The random-model writer: quantizers, file layout read back through GgufFile, copied tokenizer.
#include "gguf_writer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "gguf/gguf_file.h"
#include "ops/dequant.h"
#include "ops/simd_kernels.h"
#include "random_model.h"

namespace plinth::tools {
namespace {

namespace fs = std::filesystem;
using engine::kernels::block_values;
using engine::kernels::reference_dequantize_row;
using engine::kernels::row_size;

const fs::path kTokenizerSource =
    fs::path(PLINTH_TEST_DATA_DIR) / "kernels/ggml-vocab-llama-spm.gguf";

fs::path temp_file(const std::string& name) {
  return fs::temp_directory_path() / ("plinth_gguf_writer_" + std::to_string(::getpid()) + name);
}

// Root-mean-square of (decoded - original) relative to the RMS of the original.
double relative_rms_error(GgmlType t, const std::vector<float>& original) {
  std::vector<uint8_t> bytes(row_size(t, static_cast<int64_t>(original.size())));
  EXPECT_TRUE(
      quantize_values(t, original.data(), static_cast<int64_t>(original.size()), bytes.data()));
  std::vector<float> decoded(original.size());
  reference_dequantize_row(t, bytes.data(), decoded.data(), static_cast<int64_t>(original.size()));
  double err = 0, ref = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    err += (decoded[i] - original[i]) * (decoded[i] - original[i]);
    ref += original[i] * original[i];
  }
  return std::sqrt(err / ref);
}

TEST(WeightQuantizers, ErrorShrinksWithMoreBits) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 0.05f);
  std::vector<float> values(4096);
  for (auto& v : values) v = dist(rng);
  EXPECT_EQ(relative_rms_error(GgmlType::kF32, values), 0.0);
  EXPECT_LT(relative_rms_error(GgmlType::kF16, values), 1e-3);
  double q8 = relative_rms_error(GgmlType::kQ8_0, values);
  double q6 = relative_rms_error(GgmlType::kQ6_K, values);
  double q5k = relative_rms_error(GgmlType::kQ5_K, values);
  double q50 = relative_rms_error(GgmlType::kQ5_0, values);
  double q4 = relative_rms_error(GgmlType::kQ4_K, values);
  EXPECT_LT(q8, 0.01);
  EXPECT_LT(q6, 0.03);
  EXPECT_LT(q5k, 0.06);
  EXPECT_LT(q50, 0.06);
  EXPECT_LT(q4, 0.12);
  EXPECT_LT(q8, q6);
  EXPECT_LT(q6, q5k);
  EXPECT_LT(q5k, q4);
}

TEST(WeightQuantizers, ZerosStayZeroAndShapesAreChecked) {
  std::vector<float> zeros(256, 0.0f), decoded(256, 1.0f);
  for (GgmlType t :
       {GgmlType::kQ8_0, GgmlType::kQ5_0, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K}) {
    std::vector<uint8_t> bytes(row_size(t, 256));
    ASSERT_TRUE(quantize_values(t, zeros.data(), 256, bytes.data()));
    reference_dequantize_row(t, bytes.data(), decoded.data(), 256);
    for (float v : decoded) ASSERT_EQ(v, 0.0f);
  }
  std::vector<uint8_t> bytes(1024);
  EXPECT_FALSE(quantize_values(GgmlType::kQ4_K, zeros.data(), 96, bytes.data()));
}

TEST(RandomModel, Q4KMRecipeFollowsLlamaCpp) {
  // 24 layers: the "more bits" layers are 0-2, 21-23 and every third from 5.
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "blk.0.attn_v.weight", 0, 24, 4864, true),
            GgmlType::kQ6_K);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "blk.3.ffn_down.weight", 3, 24, 4864, true),
            GgmlType::kQ4_K);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "blk.5.ffn_down.weight", 5, 24, 4864, true),
            GgmlType::kQ6_K);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "blk.4.ffn_up.weight", 4, 24, 1024, true),
            GgmlType::kQ4_K);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "token_embd.weight", -1, 24, 1024, true),
            GgmlType::kQ6_K);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "token_embd.weight", -1, 24, 1024, false),
            GgmlType::kQ4_K);
  // 896-wide rows cannot hold 256-value super-blocks: llama.cpp's fallbacks.
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "blk.4.ffn_up.weight", 4, 24, 896, true),
            GgmlType::kQ5_0);
  EXPECT_EQ(tensor_type(QuantRecipe::kQ4_K_M, "token_embd.weight", -1, 24, 896, true),
            GgmlType::kQ8_0);
}

class WrittenModel : public ::testing::TestWithParam<const char*> {};

TEST_P(WrittenModel, ReadsBackThroughGgufFile) {
  const std::string arch = GetParam();
  RandomModelSpec spec;
  spec.shape.architecture = arch;
  spec.shape.embedding = 256;
  spec.shape.layers = 2;
  spec.shape.heads = 4;
  spec.shape.kv_heads = 2;
  spec.shape.ffn = 96;  // ffn_down rows of 96: exercises the K-quant fallback
  spec.shape.context_length = 2048;
  spec.recipe = QuantRecipe::kQ4_K_M;
  spec.seed = 77;
  spec.tokenizer_from = kTokenizerSource;
  fs::path path = temp_file(arch + ".gguf");
  auto size = write_random_model(spec, path);
  ASSERT_TRUE(size) << size.error().message;
  EXPECT_EQ(*size, fs::file_size(path));

  auto file = engine::GgufFile::open(path);
  ASSERT_TRUE(file) << file.error().message;
  auto source = engine::GgufFile::open(kTokenizerSource);
  ASSERT_TRUE(source) << source.error().message;
  const engine::GgufFile& f = **file;
  EXPECT_EQ(f.version(), 3u);
  EXPECT_EQ(f.get_string("general.architecture"), arch);
  EXPECT_EQ(f.get_int(arch + ".block_count"), 2);
  EXPECT_EQ(f.get_int(arch + ".attention.head_count_kv"), 2);
  // The tokenizer is copied verbatim and sets the vocabulary size.
  const auto* tokens = f.get_string_array("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(*tokens, *(*source)->get_string_array("tokenizer.ggml.tokens"));
  EXPECT_EQ(f.get_string("tokenizer.ggml.model"), (*source)->get_string("tokenizer.ggml.model"));
  EXPECT_EQ(*f.get_float_array("tokenizer.ggml.scores"),
            *(*source)->get_float_array("tokenizer.ggml.scores"));
  const engine::TensorInfo* embd = f.tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->dims, (std::vector<int64_t>{256, static_cast<int64_t>(tokens->size())}));
  EXPECT_EQ(embd->type, GgmlType::kQ6_K);
  EXPECT_EQ(f.tensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(f.tensor("blk.0.attn_v.weight")->type, GgmlType::kQ4_K);
  EXPECT_EQ(f.tensor("blk.1.attn_v.weight")->type, GgmlType::kQ6_K);  // last 1/8 of the layers
  EXPECT_EQ(f.tensor("blk.1.ffn_down.weight")->type, GgmlType::kQ8_0);
  EXPECT_EQ(f.tensor("blk.1.ffn_up.weight")->type, GgmlType::kQ4_K);
  EXPECT_EQ(f.tensor("blk.0.attn_q.bias") != nullptr, arch == "qwen2");
  EXPECT_EQ(f.tensor("blk.0.attn_k_norm.weight") != nullptr, arch == "qwen3");

  // Every tensor's bytes are the quantization of the seeded values, and both decoders agree.
  for (const auto& t : f.tensors()) {
    const int64_t cols = t.dims[0];
    bool is_norm = t.name.ends_with("norm.weight"), is_bias = t.name.ends_with(".bias");
    std::vector<float> original(cols), decoded(cols), engine_decoded(cols);
    std::vector<uint8_t> expected(row_size(t.type, cols));
    for (int64_t r = 0; r < t.rows(); r += std::max<int64_t>(1, t.rows() / 7)) {
      for (int64_t c = 0; c < cols; ++c) {
        float v = random_weight(77, t.name, r, c, cols, is_norm);
        original[c] = is_bias ? v * 0.1f : v;
      }
      ASSERT_TRUE(quantize_values(t.type, original.data(), cols, expected.data()));
      const uint8_t* row = t.data + r * t.row_bytes();
      ASSERT_EQ(0, std::memcmp(row, expected.data(), expected.size())) << t.name << " row " << r;
      reference_dequantize_row(t.type, row, decoded.data(), cols);
      if (engine::can_dequantize(t.type)) {
        engine::dequantize_row(t.type, row, engine_decoded.data(), cols);
        ASSERT_EQ(decoded, engine_decoded) << t.name;
      }
      double err = 0, ref = 0;
      for (int64_t c = 0; c < cols; ++c) {
        err += (decoded[c] - original[c]) * (decoded[c] - original[c]);
        ref += original[c] * original[c];
      }
      ASSERT_LT(std::sqrt(err / ref), t.type == GgmlType::kF32 ? 1e-9 : 0.15) << t.name;
    }
  }
  fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(Architectures, WrittenModel, ::testing::Values("llama", "qwen2", "qwen3"));

TEST(MetadataReader, RejectsTruncatedFiles) {
  fs::path path = temp_file("truncated.gguf");
  {
    std::ifstream in(kTokenizerSource, std::ios::binary);
    std::vector<char> head(4000);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream out(path, std::ios::binary);
    out.write(head.data(), static_cast<std::streamsize>(head.size()));
  }
  auto entries = read_metadata_with_prefix(path, "tokenizer.");
  EXPECT_FALSE(entries);
  EXPECT_EQ(entries.error().code, ErrorCode::kCorruptData);
  EXPECT_FALSE(read_metadata_with_prefix(temp_file("missing.gguf"), "tokenizer."));
  fs::remove(path);
}

}  // namespace
}  // namespace plinth::tools
