// The index file format and its atomic replacement. Layout (native byte order, checked by a
// marker): magic, format, byte-order marker, revision, dimensions, M, ef_construction, the two
// ids, AnnIndex::save()'s bytes, then the CRC-32 of everything before it.
#include "index_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/crc.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

namespace plinth::vectors {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'P', 'L', 'N', 'T', 'H', 'N', 'S', 'W'};
constexpr uint32_t kFormat = 1;
constexpr uint32_t kByteOrder = 0x01020304;
constexpr size_t kBufferBytes = 1 << 20;
constexpr size_t kMaxIdBytes = 4096;

Error io_error(const std::string& what, const fs::path& path) {
  return Error{ErrorCode::kIo, what + " " + path.string() + ": " + std::strerror(errno)};
}

// Buffered writes to a file descriptor, checksummed on the way.
class FileSink final : public ByteSink {
 public:
  explicit FileSink(int fd) : fd_(fd) { buffer_.reserve(kBufferBytes); }
  Status write(const void* data, size_t size) override {
    crc_.process_bytes(data, size);
    const char* bytes = static_cast<const char*>(data);
    if (buffer_.size() + size <= kBufferBytes) {
      buffer_.insert(buffer_.end(), bytes, bytes + size);
      return ok();
    }
    if (auto st = flush(); !st) return st;
    return write_all(bytes, size);
  }
  Status flush() {
    auto st = write_all(buffer_.data(), buffer_.size());
    buffer_.clear();
    return st;
  }
  uint32_t crc() const { return crc_.checksum(); }

 private:
  Status write_all(const char* data, size_t size) {
    while (size > 0) {
      ssize_t n = ::write(fd_, data, std::min<size_t>(size, 1 << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail(ErrorCode::kIo, std::string("write: ") + std::strerror(errno));
      data += n;
      size -= static_cast<size_t>(n);
    }
    return ok();
  }
  int fd_;
  std::vector<char> buffer_;
  boost::crc_32_type crc_;  // CRC-32 (the zlib/PNG polynomial)
};

// Buffered reads of a file's bytes before its 4-byte trailer, checksummed on the way.
class FileSource final : public ByteSource {
 public:
  FileSource(int fd, uint64_t payload_bytes) : fd_(fd), remaining_(payload_bytes) {}
  Status read(void* data, size_t size) override {
    if (size > remaining_) return fail(ErrorCode::kCorruptData, "saved index is truncated");
    char* out = static_cast<char*>(data);
    remaining_ -= size;
    while (size > 0) {
      if (begin_ == end_) {
        // Large reads skip the buffer.
        if (size >= kBufferBytes) {
          ssize_t n = ::read(fd_, out, std::min<size_t>(size, 1 << 30));
          if (n < 0 && errno == EINTR) continue;
          if (n <= 0) return fail(ErrorCode::kCorruptData, "saved index is truncated (short read)");
          crc_.process_bytes(out, static_cast<size_t>(n));
          out += n;
          size -= static_cast<size_t>(n);
          continue;
        }
        buffer_.resize(kBufferBytes);
        ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return fail(ErrorCode::kCorruptData, "saved index is truncated (short read)");
        begin_ = 0;
        end_ = static_cast<size_t>(n);
      }
      size_t take = std::min(size, end_ - begin_);
      std::memcpy(out, buffer_.data() + begin_, take);
      crc_.process_bytes(out, take);
      begin_ += take;
      out += take;
      size -= take;
    }
    return ok();
  }
  uint64_t remaining() const override { return remaining_; }
  uint32_t crc() const { return crc_.checksum(); }
  // The trailer, read without checksumming it.
  Status read_trailer(uint32_t& value) {
    remaining_ += sizeof value;
    boost::crc_32_type crc = crc_;
    auto st = read(&value, sizeof value);
    crc_ = crc;
    return st;
  }

 private:
  int fd_;
  uint64_t remaining_;
  std::vector<char> buffer_;
  size_t begin_ = 0, end_ = 0;
  boost::crc_32_type crc_;  // CRC-32 (the zlib/PNG polynomial)
};

struct FixedHeader {
  char magic[8];
  uint32_t format;
  uint32_t byte_order;
  int64_t revision;
  uint32_t dimensions;
  uint32_t m;
  uint32_t ef_construction;
  uint32_t account_bytes;
  uint32_t knowledge_base_bytes;
  uint32_t reserved;
};

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

fs::path index_file_path(const fs::path& dir, std::string_view account_id,
                         std::string_view knowledge_base_id) {
  // FNV-1a 64 of "account\0kb": stable across builds, unlike std::hash.
  uint64_t hash = 14695981039346656037ull;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) hash = (hash ^ c) * 1099511628211ull;
  };
  mix(account_id);
  mix(std::string_view("\0", 1));
  mix(knowledge_base_id);
  return dir / fmt::format("{:016x}.hnsw", hash);
}

Result<IndexFileWriter> IndexFileWriter::create(const fs::path& file) {
  static std::atomic<uint64_t> counter{0};
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec)
    return fail(ErrorCode::kIo, "create " + file.parent_path().string() + ": " + ec.message());
  fs::path temp = file;
  temp += fmt::format(".{}-{}.tmp", ::getpid(), counter++);
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return std::unexpected(io_error("create", temp));
  return IndexFileWriter(file, temp, fd);
}

IndexFileWriter::IndexFileWriter(IndexFileWriter&& other) noexcept
    : file_(std::move(other.file_)), temp_(std::move(other.temp_)), fd_(other.fd_) {
  other.fd_ = -1;
  other.temp_.clear();
}

IndexFileWriter::~IndexFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!temp_.empty()) ::unlink(temp_.c_str());
}

Status IndexFileWriter::write(const IndexFileHeader& header, const AnnIndex& index) {
  FileSink sink(fd_);
  FixedHeader fixed{};
  std::memcpy(fixed.magic, kMagic, sizeof kMagic);
  fixed.format = kFormat;
  fixed.byte_order = kByteOrder;
  fixed.revision = header.revision;
  fixed.dimensions = static_cast<uint32_t>(header.dimensions);
  fixed.m = static_cast<uint32_t>(header.m);
  fixed.ef_construction = static_cast<uint32_t>(header.ef_construction);
  fixed.account_bytes = static_cast<uint32_t>(header.account_id.size());
  fixed.knowledge_base_bytes = static_cast<uint32_t>(header.knowledge_base_id.size());
  if (auto st = sink.write(&fixed, sizeof fixed); !st) return st;
  if (auto st = sink.write(header.account_id.data(), header.account_id.size()); !st) return st;
  if (auto st = sink.write(header.knowledge_base_id.data(), header.knowledge_base_id.size()); !st)
    return st;
  if (auto st = index.save(sink); !st) return st;
  uint32_t crc = sink.crc();
  if (auto st = sink.write(&crc, sizeof crc); !st) return st;
  return sink.flush();
}

Status IndexFileWriter::commit() {
  if (::fsync(fd_) != 0) return std::unexpected(io_error("fsync", temp_));
  ::close(fd_);
  fd_ = -1;
  if (::rename(temp_.c_str(), file_.c_str()) != 0)
    return std::unexpected(io_error("rename", temp_));
  temp_.clear();
  // The rename is durable once the folder is.
  Fd dir(::open(file_.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0 || ::fsync(dir.get()) != 0) {
    return std::unexpected(io_error("fsync", file_.parent_path()));
  }
  return ok();
}

namespace {

// `saved_revision` null: the file must be at expected.revision; else any revision, written there.
Result<std::unique_ptr<AnnIndex>> load_checked(const fs::path& file,
                                               const IndexFileHeader& expected,
                                               const IndexOptions& options,
                                               int64_t* saved_revision) {
  Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, "no saved index");
    return std::unexpected(io_error("open", file));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected(io_error("stat", file));
  auto size = static_cast<uint64_t>(st.st_size);
  if (size < sizeof(FixedHeader) + sizeof(uint32_t)) {
    return fail(ErrorCode::kCorruptData, "saved index is truncated");
  }
  FileSource source(fd.get(), size - sizeof(uint32_t));
  FixedHeader fixed{};
  if (auto read = source.read(&fixed, sizeof fixed); !read) return std::unexpected(read.error());
  if (std::memcmp(fixed.magic, kMagic, sizeof kMagic) != 0 || fixed.format != kFormat ||
      fixed.byte_order != kByteOrder || fixed.account_bytes > kMaxIdBytes ||
      fixed.knowledge_base_bytes > kMaxIdBytes) {
    return fail(ErrorCode::kCorruptData, "saved index has an unknown header");
  }
  std::string account(fixed.account_bytes, '\0'), knowledge_base(fixed.knowledge_base_bytes, '\0');
  if (auto read = source.read(account.data(), account.size()); !read) {
    return std::unexpected(read.error());
  }
  if (auto read = source.read(knowledge_base.data(), knowledge_base.size()); !read) {
    return std::unexpected(read.error());
  }
  if (account != expected.account_id || knowledge_base != expected.knowledge_base_id) {
    return fail(ErrorCode::kConflict, "saved index belongs to another knowledge base");
  }
  if (static_cast<int>(fixed.dimensions) != expected.dimensions ||
      static_cast<int>(fixed.m) != expected.m ||
      static_cast<int>(fixed.ef_construction) != expected.ef_construction) {
    return fail(ErrorCode::kConflict, "saved index has other dimensions or HNSW parameters");
  }
  if (saved_revision != nullptr) {
    *saved_revision = fixed.revision;
  } else if (fixed.revision != expected.revision) {
    return fail(ErrorCode::kConflict, fmt::format("saved index is stale (revision {}, store at {})",
                                                  fixed.revision, expected.revision));
  }
  auto index = AnnIndex::load(source, expected.dimensions, options);
  if (!index) return std::unexpected(index.error());
  uint32_t stored_crc = 0;
  if (source.remaining() != 0) return fail(ErrorCode::kCorruptData, "saved index has extra bytes");
  uint32_t computed = source.crc();
  if (auto read = source.read_trailer(stored_crc); !read) return std::unexpected(read.error());
  if (stored_crc != computed) return fail(ErrorCode::kCorruptData, "saved index checksum differs");
  return index;
}

}  // namespace

Result<std::unique_ptr<AnnIndex>> load_index_file(const fs::path& file,
                                                  const IndexFileHeader& expected,
                                                  const IndexOptions& options) {
  return load_checked(file, expected, options, nullptr);
}

Result<std::unique_ptr<AnnIndex>> load_index_file_at_any_revision(const fs::path& file,
                                                                  const IndexFileHeader& expected,
                                                                  const IndexOptions& options,
                                                                  int64_t& revision) {
  return load_checked(file, expected, options, &revision);
}

void remove_stale_temp_files(const fs::path& dir) {
  std::error_code ec;
  auto cutoff = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.path().extension() != ".tmp") continue;
    auto written = entry.last_write_time(ec);
    if (!ec && written < cutoff) fs::remove(entry.path(), ec);
  }
}

}  // namespace plinth::vectors
