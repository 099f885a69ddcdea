// GgufFile: parsing and validating GGUF headers over an mmap, with bounds and overflow checks.
#include "gguf/gguf_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>

#include "ops/dequant.h"

namespace plinth::engine {
namespace {

constexpr uint32_t kMaxDims = 4;
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;

Error corrupt(std::string message) { return Error(ErrorCode::kCorruptData, "gguf: " + message); }

// Bounds-checked little-endian reader over the mapped bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return bytes_.size() - pos_; }

  template <typename T>
  Result<T> read(std::string_view what) {
    if (remaining() < sizeof(T)) return std::unexpected(truncated(what));
    T value;
    std::memcpy(&value, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return value;
  }

  Result<std::string> read_string(std::string_view what) {
    auto length = read<uint64_t>(what);
    if (!length) return std::unexpected(length.error());
    if (*length > remaining() || *length > kMaxStringBytes) return std::unexpected(truncated(what));
    std::string s(reinterpret_cast<const char*>(bytes_.data() + pos_), *length);
    pos_ += *length;
    return s;
  }

  Error truncated(std::string_view what) const {
    return corrupt("truncated or oversized " + std::string(what) + " at byte " +
                   std::to_string(pos_));
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

// Smallest encoded size of one value of a type, to reject absurd counts before allocating.
uint64_t min_encoded_size(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kBool:
      return 1;
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
      return 2;
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kFloat32:
      return 4;
    case GgufValueType::kString:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
    case GgufValueType::kFloat64:
      return 8;
    case GgufValueType::kArray:
      return 12;
  }
  return 1;
}

bool is_integer_type(GgufValueType t) {
  switch (t) {
    case GgufValueType::kUint8:
    case GgufValueType::kInt8:
    case GgufValueType::kUint16:
    case GgufValueType::kInt16:
    case GgufValueType::kUint32:
    case GgufValueType::kInt32:
    case GgufValueType::kUint64:
    case GgufValueType::kInt64:
      return true;
    default:
      return false;
  }
}

// Reads one scalar of type t as an integer, float, bool or string into out (scalar fields).
Status read_scalar(Cursor& c, GgufValueType t, MetadataValue& out) {
  auto take = [&](auto tag) -> Result<decltype(tag)> { return c.read<decltype(tag)>("value"); };
  switch (t) {
#define PLINTH_GGUF_INT(KIND, CTYPE)           \
  case GgufValueType::KIND: {                  \
    auto v = take(CTYPE{});                    \
    if (!v) return std::unexpected(v.error()); \
    out.int_value = static_cast<int64_t>(*v);  \
    return ok();                               \
  }
    PLINTH_GGUF_INT(kUint8, uint8_t)
    PLINTH_GGUF_INT(kInt8, int8_t)
    PLINTH_GGUF_INT(kUint16, uint16_t)
    PLINTH_GGUF_INT(kInt16, int16_t)
    PLINTH_GGUF_INT(kUint32, uint32_t)
    PLINTH_GGUF_INT(kInt32, int32_t)
    PLINTH_GGUF_INT(kInt64, int64_t)
#undef PLINTH_GGUF_INT
    case GgufValueType::kUint64: {
      auto v = take(uint64_t{});
      if (!v) return std::unexpected(v.error());
      if (*v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        return std::unexpected(corrupt("uint64 value out of range"));
      out.int_value = static_cast<int64_t>(*v);
      return ok();
    }
    case GgufValueType::kFloat32: {
      auto v = take(float{});
      if (!v) return std::unexpected(v.error());
      out.float_value = *v;
      return ok();
    }
    case GgufValueType::kFloat64: {
      auto v = take(double{});
      if (!v) return std::unexpected(v.error());
      out.float_value = *v;
      return ok();
    }
    case GgufValueType::kBool: {
      auto v = take(uint8_t{});
      if (!v) return std::unexpected(v.error());
      if (*v > 1) return std::unexpected(corrupt("bool value not 0 or 1"));
      out.bool_value = *v != 0;
      return ok();
    }
    case GgufValueType::kString: {
      auto v = c.read_string("string value");
      if (!v) return std::unexpected(v.error());
      out.string_value = std::move(*v);
      return ok();
    }
    case GgufValueType::kArray:
      break;
  }
  return std::unexpected(corrupt("unexpected value type"));
}

Result<GgufValueType> read_type(Cursor& c) {
  auto raw = c.read<uint32_t>("value type");
  if (!raw) return std::unexpected(raw.error());
  if (*raw > static_cast<uint32_t>(GgufValueType::kFloat64))
    return std::unexpected(corrupt("unknown value type " + std::to_string(*raw)));
  return static_cast<GgufValueType>(*raw);
}

Status read_value(Cursor& c, GgufValueType t, MetadataValue& out) {
  out.type = t;
  if (t != GgufValueType::kArray) return read_scalar(c, t, out);
  auto element = read_type(c);
  if (!element) return std::unexpected(element.error());
  if (*element == GgufValueType::kArray) return std::unexpected(corrupt("nested arrays"));
  out.array_type = *element;
  auto count = c.read<uint64_t>("array count");
  if (!count) return std::unexpected(count.error());
  if (*count > c.remaining() / min_encoded_size(*element))
    return std::unexpected(corrupt("array count " + std::to_string(*count) + " exceeds the file"));
  MetadataValue item;
  for (uint64_t i = 0; i < *count; ++i) {
    if (auto s = read_scalar(c, *element, item); !s) return s;
    if (*element == GgufValueType::kString) {
      if (i == 0) out.string_array.reserve(*count);
      out.string_array.push_back(std::move(item.string_value));
    } else if (*element == GgufValueType::kFloat32 || *element == GgufValueType::kFloat64) {
      if (i == 0) out.float_array.reserve(*count);
      out.float_array.push_back(static_cast<float>(item.float_value));
    } else {
      if (i == 0) out.int_array.reserve(*count);
      out.int_array.push_back(*element == GgufValueType::kBool ? item.bool_value : item.int_value);
    }
  }
  return ok();
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}

}  // namespace

bool MetadataValue::is_integer() const { return is_integer_type(type); }

size_t MetadataValue::array_size() const {
  return string_array.size() + float_array.size() + int_array.size();
}

int64_t TensorInfo::rows() const {
  int64_t r = 1;
  for (size_t i = 1; i < dims.size(); ++i) r *= dims[i];
  return r;
}

size_t TensorInfo::row_bytes() const {
  auto traits = ggml_type_traits(static_cast<uint32_t>(type));
  if (!traits || dims.empty()) return 0;
  return static_cast<size_t>(dims[0] / traits->block_size) * traits->block_bytes;
}

struct GgufFile::Mapping {
  void* address = nullptr;
  size_t length = 0;
  bool private_copy = false;  // anonymous memory holding a copy (kHugePages), not the file
  ~Mapping() {
    if (address != nullptr) munmap(address, length);
  }
};

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

// The file's `size` bytes read into a fresh anonymous mapping whose start is 2 MB aligned (so
// every whole 2 MB of it can be a huge page), advised MADV_HUGEPAGE before the first touch, then
// made read-only. False, with nothing left mapped, when the memory or a read fails.
bool read_into_huge_pages(int fd, size_t size, void** mapping, size_t* mapping_length,
                          const uint8_t** data) {
  const size_t length = (size + kHugePage - 1) / kHugePage * kHugePage + kHugePage;
  void* raw = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return false;
  const auto misalignment = reinterpret_cast<uintptr_t>(raw) % kHugePage;
  uint8_t* aligned = static_cast<uint8_t*>(raw) + (kHugePage - misalignment) % kHugePage;
  (void)madvise(aligned, length - static_cast<size_t>(aligned - static_cast<uint8_t*>(raw)),
                MADV_HUGEPAGE);  // advice: without THP the copy still works, in small pages
  for (size_t done = 0; done < size;) {
    const ssize_t got =
        pread(fd, aligned + done, std::min(size - done, size_t{8} << 20), static_cast<off_t>(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      munmap(raw, length);
      return false;
    }
    done += static_cast<size_t>(got);
  }
  (void)mprotect(aligned, size, PROT_READ);
  *mapping = raw;
  *mapping_length = length;
  *data = aligned;
  return true;
}

}  // namespace

GgufFile::~GgufFile() = default;

Result<std::unique_ptr<GgufFile>> GgufFile::open(const std::filesystem::path& path,
                                                 Residency residency) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot open " + path.string() + ": " + strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(ErrorCode::kIo, path.string() + " is not a regular file");
  }
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->mapping_ = std::make_unique<Mapping>();
  const auto size = static_cast<size_t>(st.st_size);
  const uint8_t* data = nullptr;
  if (size > 0 && residency == Residency::kHugePages &&
      read_into_huge_pages(fd, size, &file->mapping_->address, &file->mapping_->length, &data)) {
    file->bytes_ = {data, size};
    file->mapping_->private_copy = true;
  } else if (size > 0) {
    void* address = mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED) {
      ::close(fd);
      return fail(ErrorCode::kIo, "cannot map " + path.string() + ": " + strerror(errno));
    }
    file->mapping_->address = address;
    file->mapping_->length = size;
    file->bytes_ = {static_cast<const uint8_t*>(address), size};
  }
  ::close(fd);  // the memory stays valid without the descriptor
  if (auto s = file->parse(); !s) {
    return fail(s.error().code, s.error().message + " (" + path.filename().string() + ")");
  }
  return file;
}

bool GgufFile::rewrite(const void* at, size_t size, const std::function<void(uint8_t*)>& fn) {
  if (mapping_ == nullptr || !mapping_->private_copy || size == 0) return false;
  const auto* begin = static_cast<const uint8_t*>(at);
  if (begin < bytes_.data() || size > bytes_.size() ||
      static_cast<size_t>(begin - bytes_.data()) > bytes_.size() - size)
    return false;
  // Whole pages around the range; their other bytes are left as they are.
  const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const auto first = reinterpret_cast<uintptr_t>(begin) / page * page;
  const auto last = (reinterpret_cast<uintptr_t>(begin) + size + page - 1) / page * page;
  auto* pages = reinterpret_cast<void*>(first);
  if (mprotect(pages, last - first, PROT_READ | PROT_WRITE) != 0) return false;
  fn(const_cast<uint8_t*>(begin));
  (void)mprotect(pages, last - first, PROT_READ);
  return true;
}

Result<std::unique_ptr<GgufFile>> GgufFile::from_bytes(std::span<const uint8_t> bytes) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->bytes_ = bytes;
  if (auto s = file->parse(); !s) return std::unexpected(s.error());
  return file;
}

Status GgufFile::parse() {
  Cursor c(bytes_);
  auto magic = c.read<uint32_t>("magic");
  if (!magic || *magic != 0x46554747u)
    return std::unexpected(corrupt("not a GGUF file (bad magic)"));
  auto version = c.read<uint32_t>("version");
  if (!version) return std::unexpected(version.error());
  if (*version != 2 && *version != 3)
    return std::unexpected(corrupt("unsupported version " + std::to_string(*version)));
  version_ = *version;
  auto n_tensors = c.read<uint64_t>("tensor count");
  auto n_kv = c.read<uint64_t>("metadata count");
  if (!n_tensors) return std::unexpected(n_tensors.error());
  if (!n_kv) return std::unexpected(n_kv.error());
  // A key-value pair takes at least 8 + 1 + 4 bytes (empty key... the shortest value), a tensor
  // description at least 8 + 4 + 8 + 4 + 8.
  if (*n_kv > c.remaining() / 13) return std::unexpected(corrupt("absurd metadata count"));
  if (*n_tensors > c.remaining() / 32) return std::unexpected(corrupt("absurd tensor count"));

  metadata_.reserve(*n_kv);
  for (uint64_t i = 0; i < *n_kv; ++i) {
    auto key = c.read_string("metadata key");
    if (!key) return std::unexpected(key.error());
    auto type = read_type(c);
    if (!type) return std::unexpected(type.error());
    MetadataValue value;
    if (auto s = read_value(c, *type, value); !s)
      return std::unexpected(corrupt(s.error().message.substr(6) + " (key " + *key + ")"));
    if (!metadata_index_.emplace(*key, metadata_.size()).second)
      return std::unexpected(corrupt("duplicate metadata key " + *key));
    metadata_.emplace_back(std::move(*key), std::move(value));
  }

  if (const MetadataValue* a = find("general.alignment")) {
    if (a->type != GgufValueType::kUint32 || a->int_value == 0 ||
        (a->int_value & (a->int_value - 1)) != 0)
      return std::unexpected(corrupt("general.alignment must be a power-of-two uint32"));
    alignment_ = static_cast<uint64_t>(a->int_value);
  }

  tensors_.reserve(*n_tensors);
  for (uint64_t i = 0; i < *n_tensors; ++i) {
    TensorInfo t;
    auto name = c.read_string("tensor name");
    if (!name) return std::unexpected(name.error());
    t.name = std::move(*name);
    auto n_dims = c.read<uint32_t>("tensor dims");
    if (!n_dims) return std::unexpected(n_dims.error());
    if (*n_dims == 0 || *n_dims > kMaxDims)
      return std::unexpected(
          corrupt("tensor " + t.name + " has " + std::to_string(*n_dims) + " dims"));
    uint64_t elements = 1;
    for (uint32_t d = 0; d < *n_dims; ++d) {
      auto dim = c.read<uint64_t>("tensor dim");
      if (!dim) return std::unexpected(dim.error());
      if (*dim == 0 || *dim > (uint64_t{1} << 40) || mul_overflows(elements, *dim, elements) ||
          elements > (uint64_t{1} << 50))
        return std::unexpected(corrupt("tensor " + t.name + " has an invalid shape"));
      t.dims.push_back(static_cast<int64_t>(*dim));
    }
    auto type_id = c.read<uint32_t>("tensor type");
    if (!type_id) return std::unexpected(type_id.error());
    auto traits = ggml_type_traits(*type_id);
    if (!traits)
      return std::unexpected(
          corrupt("tensor " + t.name + " has unknown type " + std::to_string(*type_id)));
    t.type = static_cast<GgmlType>(*type_id);
    if (t.dims[0] % traits->block_size != 0)
      return std::unexpected(corrupt("tensor " + t.name + " row is not a whole number of blocks"));
    t.n_elements = static_cast<int64_t>(elements);
    uint64_t n_bytes = 0;
    if (mul_overflows(elements / traits->block_size, traits->block_bytes, n_bytes))
      return std::unexpected(corrupt("tensor " + t.name + " size overflows"));
    t.n_bytes = n_bytes;
    auto offset = c.read<uint64_t>("tensor offset");
    if (!offset) return std::unexpected(offset.error());
    if (*offset % alignment_ != 0)
      return std::unexpected(corrupt("tensor " + t.name + " offset is not aligned"));
    t.offset = *offset;
    if (!tensor_index_.emplace(t.name, tensors_.size()).second)
      return std::unexpected(corrupt("duplicate tensor " + t.name));
    tensors_.push_back(std::move(t));
  }

  uint64_t header_end = c.pos();
  data_offset_ = (header_end + alignment_ - 1) / alignment_ * alignment_;
  if (data_offset_ > bytes_.size() && !tensors_.empty())
    return std::unexpected(corrupt("data section starts past the end of the file"));
  uint64_t data_size = data_offset_ <= bytes_.size() ? bytes_.size() - data_offset_ : 0;

  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(tensors_.size());
  for (TensorInfo& t : tensors_) {
    if (t.offset > data_size || t.n_bytes > data_size - t.offset)
      return std::unexpected(corrupt("tensor " + t.name + " extends past the end of the file"));
    t.data = bytes_.data() + data_offset_ + t.offset;
    by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    if (by_offset[i]->offset < prev.offset + prev.n_bytes)
      return std::unexpected(
          corrupt("tensors " + prev.name + " and " + by_offset[i]->name + " overlap"));
  }
  return ok();
}

const MetadataValue* GgufFile::find(std::string_view key) const {
  auto it = metadata_index_.find(std::string(key));
  return it == metadata_index_.end() ? nullptr : &metadata_[it->second].second;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || v->type != GgufValueType::kString) return std::nullopt;
  return v->string_value;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || !v->is_integer()) return std::nullopt;
  return v->int_value;
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_float()) return v->float_value;
  if (v->is_integer()) return static_cast<double>(v->int_value);
  return std::nullopt;
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || v->type != GgufValueType::kBool) return std::nullopt;
  return v->bool_value;
}

const std::vector<std::string>* GgufFile::get_string_array(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || v->type != GgufValueType::kArray || v->array_type != GgufValueType::kString)
    return nullptr;
  return &v->string_array;
}

const std::vector<float>* GgufFile::get_float_array(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || v->type != GgufValueType::kArray ||
      (v->array_type != GgufValueType::kFloat32 && v->array_type != GgufValueType::kFloat64))
    return nullptr;
  return &v->float_array;
}

const std::vector<int64_t>* GgufFile::get_int_array(std::string_view key) const {
  const MetadataValue* v = find(key);
  if (v == nullptr || v->type != GgufValueType::kArray ||
      !(is_integer_type(v->array_type) || v->array_type == GgufValueType::kBool))
    return nullptr;
  return &v->int_array;
}

const TensorInfo* GgufFile::tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

}  // namespace plinth::engine
