// GgufWriter (GGUF v3 encoding, streamed tensor data) and the verbatim metadata reader.
#include "gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

#include "gguf/gguf_file.h"
#include "ops/simd_kernels.h"

namespace plinth::tools {
namespace {

constexpr uint64_t kAlignment = 32;  // GGUF default (general.alignment absent)
constexpr uint32_t kTypeUint32 = 4, kTypeFloat32 = 6, kTypeBool = 7, kTypeString = 8,
                   kTypeArray = 9;

void put_bytes(std::vector<uint8_t>& out, const void* p, size_t n) {
  const auto* b = static_cast<const uint8_t*>(p);
  out.insert(out.end(), b, b + n);
}
template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  put_bytes(out, &v, sizeof v);
}
void put_string(std::vector<uint8_t>& out, std::string_view s) {
  put<uint64_t>(out, s.size());
  put_bytes(out, s.data(), s.size());
}

uint64_t align_up(uint64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

void GgufWriter::add_string(std::string_view key, std::string_view value) {
  RawMetadata m{std::string(key), kTypeString, {}};
  put_string(m.value, value);
  metadata_.push_back(std::move(m));
}
void GgufWriter::add_uint32(std::string_view key, uint32_t value) {
  RawMetadata m{std::string(key), kTypeUint32, {}};
  put(m.value, value);
  metadata_.push_back(std::move(m));
}
void GgufWriter::add_float32(std::string_view key, float value) {
  RawMetadata m{std::string(key), kTypeFloat32, {}};
  put(m.value, value);
  metadata_.push_back(std::move(m));
}
void GgufWriter::add_bool(std::string_view key, bool value) {
  RawMetadata m{std::string(key), kTypeBool, {}};
  put<uint8_t>(m.value, value ? 1 : 0);
  metadata_.push_back(std::move(m));
}
void GgufWriter::add_string_array(std::string_view key, const std::vector<std::string>& values) {
  RawMetadata m{std::string(key), kTypeArray, {}};
  put<uint32_t>(m.value, kTypeString);
  put<uint64_t>(m.value, values.size());
  for (const auto& v : values) put_string(m.value, v);
  metadata_.push_back(std::move(m));
}
void GgufWriter::add_raw(RawMetadata entry) { metadata_.push_back(std::move(entry)); }

Status GgufWriter::add_tensor(std::string_view name, std::vector<int64_t> dims, GgmlType type,
                              RowSource rows) {
  if (dims.empty() || dims.size() > 4) return fail(ErrorCode::kInvalidArgument, "bad dims");
  if (!engine::kernels::supports(type, dims[0]))
    return fail(ErrorCode::kInvalidArgument,
                std::string(name) + ": row length does not fit the type's blocks");
  uint64_t n_rows = 1;
  for (size_t i = 1; i < dims.size(); ++i) n_rows *= static_cast<uint64_t>(dims[i]);
  uint64_t bytes = engine::kernels::row_size(type, dims[0]) * n_rows;
  tensors_.push_back(
      {std::string(name), std::move(dims), type, std::move(rows), data_bytes_, bytes});
  data_bytes_ = align_up(data_bytes_ + bytes);
  return ok();
}

Result<uint64_t> GgufWriter::write(const std::filesystem::path& path) const {
  std::vector<uint8_t> header;
  put_bytes(header, "GGUF", 4);
  put<uint32_t>(header, 3);
  put<uint64_t>(header, tensors_.size());
  put<uint64_t>(header, metadata_.size());
  for (const auto& m : metadata_) {
    put_string(header, m.key);
    put<uint32_t>(header, m.type);
    put_bytes(header, m.value.data(), m.value.size());
  }
  for (const auto& t : tensors_) {
    put_string(header, t.name);
    put<uint32_t>(header, static_cast<uint32_t>(t.dims.size()));
    for (int64_t d : t.dims) put<uint64_t>(header, static_cast<uint64_t>(d));
    put<uint32_t>(header, static_cast<uint32_t>(t.type));
    put<uint64_t>(header, t.offset);
  }
  header.resize(align_up(header.size()), 0);

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return fail(ErrorCode::kIo, "cannot create " + path.string());
  out.write(reinterpret_cast<const char*>(header.data()),
            static_cast<std::streamsize>(header.size()));
  uint64_t written = 0;
  std::vector<float> row;
  std::vector<uint8_t> encoded;
  for (const auto& t : tensors_) {
    if (written != t.offset) return fail(ErrorCode::kInternal, "tensor offsets out of step");
    const int64_t cols = t.dims[0];
    const size_t row_bytes = engine::kernels::row_size(t.type, cols);
    row.resize(cols);
    encoded.resize(row_bytes);
    const int64_t n_rows = static_cast<int64_t>(t.bytes / row_bytes);
    for (int64_t r = 0; r < n_rows; ++r) {
      t.rows(r, row.data());
      if (auto s = quantize_values(t.type, row.data(), cols, encoded.data()); !s)
        return std::unexpected(s.error());
      out.write(reinterpret_cast<const char*>(encoded.data()),
                static_cast<std::streamsize>(row_bytes));
    }
    written += t.bytes;
    uint64_t padded = align_up(written);
    static const char kZeros[kAlignment] = {};
    out.write(kZeros, static_cast<std::streamsize>(padded - written));
    written = padded;
  }
  out.flush();
  if (!out) return fail(ErrorCode::kIo, "write failed: " + path.string());
  return header.size() + written;
}

namespace {

// Encodes one value parsed by GgufFile back into GGUF's little-endian layout.
void put_scalar(std::vector<uint8_t>& out, engine::GgufValueType type, int64_t i, double f) {
  using T = engine::GgufValueType;
  switch (type) {
    case T::kUint8:
    case T::kInt8:
    case T::kBool:
      put<uint8_t>(out, static_cast<uint8_t>(i));
      break;
    case T::kUint16:
    case T::kInt16:
      put<uint16_t>(out, static_cast<uint16_t>(i));
      break;
    case T::kUint32:
    case T::kInt32:
      put<uint32_t>(out, static_cast<uint32_t>(i));
      break;
    case T::kUint64:
    case T::kInt64:
      put<uint64_t>(out, static_cast<uint64_t>(i));
      break;
    case T::kFloat32:
      put<float>(out, static_cast<float>(f));
      break;
    case T::kFloat64:
      put<double>(out, f);
      break;
    default:
      break;
  }
}

std::vector<uint8_t> encode_value(const engine::MetadataValue& v) {
  using T = engine::GgufValueType;
  std::vector<uint8_t> out;
  if (v.type == T::kString) {
    put_string(out, v.string_value);
  } else if (v.type == T::kArray) {
    put<uint32_t>(out, static_cast<uint32_t>(v.array_type));
    if (v.array_type == T::kString) {
      put<uint64_t>(out, v.string_array.size());
      for (const auto& s : v.string_array) put_string(out, s);
    } else if (v.array_type == T::kFloat32 || v.array_type == T::kFloat64) {
      put<uint64_t>(out, v.float_array.size());
      for (float f : v.float_array) put_scalar(out, v.array_type, 0, f);
    } else {
      put<uint64_t>(out, v.int_array.size());
      for (int64_t i : v.int_array) put_scalar(out, v.array_type, i, 0);
    }
  } else {
    put_scalar(out, v.type, v.type == T::kBool ? v.bool_value : v.int_value, v.float_value);
  }
  return out;
}

}  // namespace

// Reads through the engine's own validated reader (bounds, counts, types all checked there) and
// re-encodes the entries the writer copies.
Result<std::vector<RawMetadata>> read_metadata_with_prefix(const std::filesystem::path& path,
                                                           std::string_view prefix) {
  auto file = engine::GgufFile::open(path);
  if (!file) return std::unexpected(file.error());
  std::vector<RawMetadata> found;
  for (const auto& [key, value] : (*file)->metadata()) {
    if (!key.starts_with(prefix)) continue;
    found.push_back({key, static_cast<uint32_t>(value.type), encode_value(value)});
  }
  return found;
}

}  // namespace plinth::tools
