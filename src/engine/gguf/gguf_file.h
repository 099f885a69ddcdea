// GgufFile: a validated, memory-mapped GGUF (v2/v3) file — metadata and zero-copy tensor views.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ops/matmul.h"
#include "plinth/core/result.h"

namespace plinth::engine {

// GGUF metadata value types, as stored in the file.
enum class GgufValueType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// One metadata value. Scalars fill the matching field; arrays fill exactly one of the arrays
// (integer and bool arrays -> int_array, float arrays -> float_array, strings -> string_array).
struct MetadataValue {
  GgufValueType type = GgufValueType::kUint8;
  GgufValueType array_type = GgufValueType::kUint8;  // element type when type == kArray
  int64_t int_value = 0;     // every integer type (uint64 above INT64_MAX is rejected)
  double float_value = 0;    // kFloat32, kFloat64
  bool bool_value = false;   // kBool
  std::string string_value;  // kString
  std::vector<int64_t> int_array;
  std::vector<float> float_array;
  std::vector<std::string> string_array;

  bool is_integer() const;
  bool is_float() const {
    return type == GgufValueType::kFloat32 || type == GgufValueType::kFloat64;
  }
  size_t array_size() const;
};

// A tensor's description plus a view of its bytes inside the mapping (valid while the GgufFile
// lives). dims are in GGUF order: dims[0] (ne0) is the contiguous row length.
struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::kF32;
  std::vector<int64_t> dims;
  uint64_t offset = 0;  // relative to the start of the data section
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  int64_t n_elements = 0;

  int64_t rows() const;      // product of dims[1..]; 1 for a vector
  size_t row_bytes() const;  // bytes of one dims[0]-long row
  WeightMatrix as_matrix() const {
    return {type, data, dims.empty() ? 0 : dims[0], rows(), row_bytes()};
  }
};

// Where an opened file's bytes live.
enum class Residency {
  // The file mapped: pages shared with other processes and read on first use.
  kMapped,
  // Read into anonymous memory backed by transparent huge pages (MADV_HUGEPAGE), for weights that
  // every decode step streams: one TLB entry per 2 MB instead of 512, and the hardware prefetchers,
  // which stop at 4 KB page boundaries, keep running. One-token matmuls from memory ran 20% (Q8_0)
  // to 30% (Q5_0) faster. Falls back to kMapped when the memory cannot be had.
  kHugePages,
};

class GgufFile {
 public:
  // Maps (or reads, see Residency) and validates the whole header: a truncated or hostile file is
  // a kCorruptData error (kIo when it cannot be opened), never a crash or an out-of-bounds read.
  static Result<std::unique_ptr<GgufFile>> open(const std::filesystem::path& path,
                                                Residency residency = Residency::kMapped);
  // Same validation over bytes the caller keeps alive (tests, in-memory files).
  static Result<std::unique_ptr<GgufFile>> from_bytes(std::span<const uint8_t> bytes);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, MetadataValue>>& metadata() const { return metadata_; }
  const MetadataValue* find(std::string_view key) const;
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;   // any integer type
  std::optional<double> get_float(std::string_view key) const;  // float types, or an integer
  std::optional<bool> get_bool(std::string_view key) const;
  const std::vector<std::string>* get_string_array(std::string_view key) const;
  const std::vector<float>* get_float_array(std::string_view key) const;
  const std::vector<int64_t>* get_int_array(std::string_view key) const;

  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* tensor(std::string_view name) const;

  // Rewrites `size` bytes at `at` (a tensor's data) in place with fn, where they are this
  // process's own copy (Residency::kHugePages): the loader stores weights in a layout of the
  // same size for its kernels. False, with nothing changed, when the file is mapped (its pages
  // are the page cache's) or the range is not the file's.
  bool rewrite(const void* at, size_t size, const std::function<void(uint8_t*)>& fn);

 private:
  GgufFile() = default;
  Status parse();

  struct Mapping;
  std::unique_ptr<Mapping> mapping_;  // owns the memory when opened from a path
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, MetadataValue>> metadata_;
  std::unordered_map<std::string, size_t> metadata_index_;
  std::vector<TensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace plinth::engine
