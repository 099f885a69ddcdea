// GgufFile: reading the fixture models and rejecting malformed or hostile files without crashing.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "gguf/gguf_file.h"

namespace plinth::engine {
namespace {

const std::filesystem::path kModels = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "models";

std::vector<uint8_t> read_all(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes GGUF bytes field by field so tests can craft exactly the corruption they need.
class GgufBuilder {
 public:
  template <typename T>
  GgufBuilder& put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof(T));
    return *this;
  }
  GgufBuilder& str(std::string_view s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
    return *this;
  }
  GgufBuilder& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    return put<uint32_t>(0x46554747u).put<uint32_t>(version).put(n_tensors).put(n_kv);
  }
  GgufBuilder& kv_u32(std::string_view key, uint32_t v) { return str(key).put<uint32_t>(4).put(v); }
  GgufBuilder& kv_str(std::string_view key, std::string_view v) {
    return str(key).put<uint32_t>(8).str(v);
  }
  GgufBuilder& tensor(std::string_view name, std::vector<uint64_t> dims, uint32_t type,
                      uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) put(d);
    return put(type).put(offset);
  }
  GgufBuilder& pad_to(size_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
    return *this;
  }
  GgufBuilder& data(size_t n, uint8_t fill = 0) {
    bytes.insert(bytes.end(), n, fill);
    return *this;
  }
  std::vector<uint8_t> bytes;
};

// A small valid file: two metadata keys, a string array, two F32 tensors.
std::vector<uint8_t> small_valid_file() {
  GgufBuilder b;
  b.header(2, 3).kv_str("general.architecture", "llama").kv_u32("llama.block_count", 2);
  b.str("tokenizer.ggml.tokens")
      .put<uint32_t>(9)
      .put<uint32_t>(8)
      .put<uint64_t>(2)
      .str("a")
      .str("bc");
  b.tensor("a", {4}, 0, 0).tensor("b", {8, 2}, 0, 32);
  b.pad_to(32).data(32 + 64, 1);
  return b.bytes;
}

TEST(GgufFile, ReadsEveryFixtureModel) {
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    auto file = GgufFile::open(entry.path());
    ASSERT_TRUE(file) << entry.path() << ": " << file.error().message;
    const GgufFile& f = **file;
    EXPECT_EQ(f.version(), 3u);
    auto arch = f.get_string("general.architecture");
    ASSERT_TRUE(arch);
    EXPECT_TRUE(*arch == "llama" || *arch == "qwen2" || *arch == "qwen3" || *arch == "bert")
        << *arch;
    const TensorInfo* embd = f.tensor("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    auto n_embd = f.get_int(*arch + ".embedding_length");
    ASSERT_TRUE(n_embd);
    EXPECT_EQ(embd->dims[0], *n_embd);
    const auto* tokens = f.get_string_array("tokenizer.ggml.tokens");
    ASSERT_NE(tokens, nullptr);
    EXPECT_EQ(embd->dims[1], static_cast<int64_t>(tokens->size()));
    EXPECT_NE(embd->data, nullptr);
    EXPECT_EQ(f.get_int("general.architecture"), std::nullopt);  // wrong type is not coerced
  }
}

TEST(GgufFile, ExposesArraysAndTensorViews) {
  auto bytes = small_valid_file();
  auto file = GgufFile::from_bytes(bytes);
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ((*file)->get_int("llama.block_count"), 2);
  EXPECT_EQ((*file)->get_float("llama.block_count"), 2.0);
  ASSERT_NE((*file)->get_string_array("tokenizer.ggml.tokens"), nullptr);
  EXPECT_EQ(*(*file)->get_string_array("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"a", "bc"}));
  const TensorInfo* b = (*file)->tensor("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->n_bytes, 64u);
  EXPECT_EQ(b->rows(), 2);
  EXPECT_EQ(b->data, bytes.data() + (*file)->data_offset() + 32);
  EXPECT_EQ((*file)->tensor("missing"), nullptr);
}

TEST(GgufFile, RejectsEveryTruncationOfASmallFile) {
  auto bytes = small_valid_file();
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> prefix(bytes.begin(), bytes.begin() + static_cast<ptrdiff_t>(n));
    auto file = GgufFile::from_bytes(prefix);
    EXPECT_FALSE(file) << "accepted a file truncated to " << n << " bytes";
    if (!file) {
      EXPECT_EQ(file.error().code, ErrorCode::kCorruptData);
    }
  }
}

TEST(GgufFile, RejectsTruncatedRealModelAtManyOffsets) {
  auto bytes = read_all(kModels / "llama-spm-64-q8_0.gguf");
  auto whole = GgufFile::from_bytes(bytes);
  ASSERT_TRUE(whole);
  const size_t header = (*whole)->data_offset();
  std::vector<size_t> cuts;
  for (size_t n = 0; n < 64; ++n) cuts.push_back(n);
  for (size_t n = 64; n < header; n += header / 97 + 1) cuts.push_back(n);
  for (size_t n = header; n < bytes.size(); n += bytes.size() / 13) cuts.push_back(n);
  cuts.push_back(bytes.size() - 1);
  for (size_t n : cuts) {
    auto file = GgufFile::from_bytes(std::span(bytes.data(), n));
    EXPECT_FALSE(file) << "accepted a file truncated to " << n << " bytes";
  }
}

TEST(GgufFile, SurvivesRandomByteCorruptionOfTheHeader) {
  auto bytes = read_all(kModels / "bert-bge-64-cls-q8_0.gguf");
  auto whole = GgufFile::from_bytes(bytes);
  ASSERT_TRUE(whole);
  const size_t header = (*whole)->data_offset();
  std::mt19937 rng(20261125);
  int rejected = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<uint8_t> copy = bytes;
    for (int flips = 0; flips < 4; ++flips) copy[rng() % header] = static_cast<uint8_t>(rng());
    auto file = GgufFile::from_bytes(copy);
    if (!file) {
      ++rejected;
      continue;
    }
    // Whatever was accepted must describe tensors inside the buffer.
    for (const TensorInfo& t : (*file)->tensors()) {
      ASSERT_GE(t.data, copy.data());
      ASSERT_LE(t.data + t.n_bytes, copy.data() + copy.size());
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(GgufFile, RejectsBadMagicAndVersion) {
  auto bytes = small_valid_file();
  bytes[0] = 'X';
  EXPECT_FALSE(GgufFile::from_bytes(bytes));
  auto v1 = GgufBuilder().header(0, 0, 1).bytes;
  EXPECT_FALSE(GgufFile::from_bytes(v1));
  auto v2 = GgufBuilder().header(0, 0, 2).bytes;
  EXPECT_TRUE(GgufFile::from_bytes(v2));
}

TEST(GgufFile, RejectsAbsurdCountsBeforeAllocating) {
  EXPECT_FALSE(GgufFile::from_bytes(GgufBuilder().header(0, uint64_t{1} << 62).bytes));
  EXPECT_FALSE(GgufFile::from_bytes(GgufBuilder().header(uint64_t{1} << 62, 0).bytes));
  GgufBuilder huge_array;
  huge_array.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(uint64_t{1}
                                                                                   << 60);
  EXPECT_FALSE(GgufFile::from_bytes(huge_array.bytes));
  GgufBuilder huge_string;
  huge_string.header(0, 1).str("k").put<uint32_t>(8).put<uint64_t>(~uint64_t{0});
  EXPECT_FALSE(GgufFile::from_bytes(huge_string.bytes));
  GgufBuilder huge_dims;
  huge_dims.header(1, 0).tensor("t", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 0).pad_to(32);
  EXPECT_FALSE(GgufFile::from_bytes(huge_dims.bytes));
}

TEST(GgufFile, RejectsOverlappingAndOutOfRangeTensors) {
  GgufBuilder overlap;
  overlap.header(2, 0).tensor("a", {16}, 0, 0).tensor("b", {16}, 0, 32).pad_to(32).data(128);
  EXPECT_FALSE(GgufFile::from_bytes(overlap.bytes));  // a spans 64 bytes, b starts at 32
  GgufBuilder past_end;
  past_end.header(1, 0).tensor("a", {64}, 0, 0).pad_to(32).data(100);
  EXPECT_FALSE(GgufFile::from_bytes(past_end.bytes));
  GgufBuilder duplicate;
  duplicate.header(2, 0).tensor("a", {8}, 0, 0).tensor("a", {8}, 0, 32).pad_to(32).data(64);
  EXPECT_FALSE(GgufFile::from_bytes(duplicate.bytes));
}

TEST(GgufFile, RejectsBadAlignmentAndShapes) {
  GgufBuilder unaligned;
  unaligned.header(1, 0).tensor("a", {4}, 0, 8).pad_to(32).data(64);
  EXPECT_FALSE(GgufFile::from_bytes(unaligned.bytes));
  GgufBuilder not_power_of_two;
  not_power_of_two.header(0, 1).kv_u32("general.alignment", 24);
  EXPECT_FALSE(GgufFile::from_bytes(not_power_of_two.bytes));
  GgufBuilder custom;
  custom.header(1, 1).kv_u32("general.alignment", 64).tensor("a", {4}, 0, 0).pad_to(64).data(16);
  auto ok_file = GgufFile::from_bytes(custom.bytes);
  ASSERT_TRUE(ok_file) << ok_file.error().message;
  EXPECT_EQ((*ok_file)->data_offset() % 64, 0u);
  GgufBuilder unknown_type;
  unknown_type.header(1, 0).tensor("a", {4}, 99, 0).pad_to(32).data(64);
  EXPECT_FALSE(GgufFile::from_bytes(unknown_type.bytes));
  GgufBuilder partial_block;
  partial_block.header(1, 0).tensor("a", {33}, 8, 0).pad_to(32).data(128);  // Q8_0 needs 32s
  EXPECT_FALSE(GgufFile::from_bytes(partial_block.bytes));
  GgufBuilder five_dims;
  five_dims.header(1, 0).tensor("a", {1, 1, 1, 1, 1}, 0, 0).pad_to(32).data(64);
  EXPECT_FALSE(GgufFile::from_bytes(five_dims.bytes));
  GgufBuilder bad_value_type;
  bad_value_type.header(0, 1).str("k").put<uint32_t>(77).put<uint32_t>(0);
  EXPECT_FALSE(GgufFile::from_bytes(bad_value_type.bytes));
}

// Huge-page residency: the same bytes and the same parse as the mapping, the data 2 MB aligned
// (a copy, not a view of the file), and a truncated file still refused.
TEST(GgufFile, HugePageResidencyHoldsTheSameBytes) {
  for (const auto& entry : std::filesystem::directory_iterator(kModels)) {
    auto mapped = GgufFile::open(entry.path(), Residency::kMapped);
    auto copied = GgufFile::open(entry.path(), Residency::kHugePages);
    ASSERT_TRUE(mapped && copied) << entry.path();
    const auto& m = **mapped;
    const auto& c = **copied;
    ASSERT_EQ(c.file_size(), m.file_size());
    ASSERT_EQ(c.tensors().size(), m.tensors().size());
    ASSERT_EQ(c.metadata().size(), m.metadata().size());
    const TensorInfo* first = c.tensor(c.tensors().front().name);
    ASSERT_NE(first, nullptr);
    const uint8_t* base = first->data - c.data_offset() - first->offset;  // the file's first byte
    EXPECT_EQ(reinterpret_cast<uintptr_t>(base) % (uintptr_t{2} << 20), 0u) << entry.path();
    for (size_t i = 0; i < c.tensors().size(); ++i) {
      const TensorInfo& a = m.tensors()[i];
      const TensorInfo& b = c.tensors()[i];
      ASSERT_EQ(a.name, b.name);
      ASSERT_EQ(a.n_bytes, b.n_bytes);
      EXPECT_NE(a.data, b.data);
      ASSERT_EQ(std::memcmp(a.data, b.data, a.n_bytes), 0) << entry.path() << " " << a.name;
    }
  }
  const std::filesystem::path truncated =
      std::filesystem::temp_directory_path() / "plinth-gguf-truncated.gguf";
  auto bytes = read_all(kModels / "llama-spm-64-q8_0.gguf");
  {
    std::ofstream out(truncated, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size() / 2));
  }
  EXPECT_FALSE(GgufFile::open(truncated, Residency::kHugePages));
  std::filesystem::remove(truncated);
}

TEST(GgufFile, ReportsMissingFileAsIoError) {
  auto file = GgufFile::open("/nonexistent/model.gguf");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kIo);
}

}  // namespace
}  // namespace plinth::engine
