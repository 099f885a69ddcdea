// GgufWriter: builds a GGUF v3 file (metadata + tensors streamed row by row) on disk.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ops/matmul.h"
#include "plinth/core/result.h"

namespace plinth::tools {

using engine::GgmlType;

// A metadata entry kept as its encoded value bytes (everything after the key and type), so
// entries read from another file are copied bit for bit.
struct RawMetadata {
  std::string key;
  uint32_t type = 0;  // GGUF value type id
  std::vector<uint8_t> value;
};

// Produces row `row` (dims[0] floats) of a tensor; the writer quantizes it to the tensor's type.
using RowSource = std::function<void(int64_t row, float* values)>;

class GgufWriter {
 public:
  void add_string(std::string_view key, std::string_view value);
  void add_uint32(std::string_view key, uint32_t value);
  void add_float32(std::string_view key, float value);
  void add_bool(std::string_view key, bool value);
  void add_string_array(std::string_view key, const std::vector<std::string>& values);
  void add_raw(RawMetadata entry);

  // dims in GGUF order (dims[0] = row length). dims[0] must be a whole number of type blocks.
  Status add_tensor(std::string_view name, std::vector<int64_t> dims, GgmlType type,
                    RowSource rows);

  // Writes the file; returns its size in bytes.
  Result<uint64_t> write(const std::filesystem::path& path) const;

 private:
  struct Tensor {
    std::string name;
    std::vector<int64_t> dims;
    GgmlType type;
    RowSource rows;
    uint64_t offset;
    uint64_t bytes;
  };
  std::vector<RawMetadata> metadata_;
  std::vector<Tensor> tensors_;
  uint64_t data_bytes_ = 0;
};

// Quantizes n values (a whole number of blocks) into type t's encoding, round to nearest per
// block (the values a reader decodes are exactly what the returned bytes say).
Status quantize_values(GgmlType t, const float* values, int64_t n, uint8_t* out);

// The metadata entries of an existing GGUF file whose key starts with `prefix` (for example the
// whole "tokenizer." family), copied verbatim. Validates bounds; errors on a malformed file.
Result<std::vector<RawMetadata>> read_metadata_with_prefix(const std::filesystem::path& path,
                                                           std::string_view prefix);

}  // namespace plinth::tools
