// GgufWriter (GGUF v3 encoding, streamed tensor data) and the verbatim metadata reader.
#include "gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>

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

// Bounds-checked cursor over a file's bytes.
class Reader {
 public:
  explicit Reader(std::vector<uint8_t> bytes) : bytes_(std::move(bytes)) {}
  bool read(void* out, size_t n) {
    if (n > bytes_.size() - pos_) return false;
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool get(T& v) {
    return read(&v, sizeof v);
  }
  bool skip(uint64_t n) {
    if (n > bytes_.size() - pos_) return false;
    pos_ += n;
    return true;
  }
  bool string(std::string& s) {
    uint64_t n;
    if (!get(n) || n > bytes_.size() - pos_) return false;
    s.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }
  const uint8_t* at(size_t p) const { return bytes_.data() + p; }

 private:
  std::vector<uint8_t> bytes_;
  size_t pos_ = 0;
};

int scalar_size(uint32_t type) {
  switch (type) {
    case 0:
    case 1:
    case 7:
      return 1;  // u8 i8 bool
    case 2:
    case 3:
      return 2;  // u16 i16
    case 4:
    case 5:
    case 6:
      return 4;  // u32 i32 f32
    case 10:
    case 11:
    case 12:
      return 8;  // u64 i64 f64
    default:
      return 0;
  }
}

bool skip_value(Reader& r, uint32_t type, int depth) {
  if (type == kTypeString) {
    uint64_t n;
    return r.get(n) && r.skip(n);
  }
  if (type == kTypeArray) {
    uint32_t element;
    uint64_t count;
    if (depth > 2 || !r.get(element) || !r.get(count)) return false;
    if (int size = scalar_size(element); size > 0) {
      if (count > UINT64_MAX / size) return false;
      return r.skip(count * size);
    }
    for (uint64_t i = 0; i < count; ++i)
      if (!skip_value(r, element, depth + 1)) return false;
    return true;
  }
  int size = scalar_size(type);
  return size > 0 && r.skip(size);
}

}  // namespace

Result<std::vector<RawMetadata>> read_metadata_with_prefix(const std::filesystem::path& path,
                                                           std::string_view prefix) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot open " + path.string());
  // Metadata sits at the front: read the first bytes only (tokenizers are at most tens of MB).
  std::vector<uint8_t> bytes(64ull << 20);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  Reader r(std::move(bytes));
  char magic[4];
  uint32_t version;
  uint64_t n_tensors, n_kv;
  if (!r.read(magic, 4) || std::memcmp(magic, "GGUF", 4) != 0 || !r.get(version) || version < 2 ||
      version > 3 || !r.get(n_tensors) || !r.get(n_kv))
    return fail(ErrorCode::kCorruptData, path.string() + ": not a GGUF v2/v3 file");
  std::vector<RawMetadata> found;
  for (uint64_t i = 0; i < n_kv; ++i) {
    RawMetadata m;
    if (!r.string(m.key) || !r.get(m.type))
      return fail(ErrorCode::kCorruptData, path.string() + ": truncated metadata");
    size_t start = r.pos();
    if (!skip_value(r, m.type, 0))
      return fail(ErrorCode::kCorruptData, path.string() + ": bad value for " + m.key);
    if (m.key.starts_with(prefix)) {
      m.value.assign(r.at(start), r.at(r.pos()));
      found.push_back(std::move(m));
    }
  }
  return found;
}

}  // namespace plinth::tools
