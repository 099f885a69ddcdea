// Saved knowledge-base indexes: one checksummed file per knowledge base in the index folder,
// replaced atomically (temp file, fsync, rename, fsync folder). Private to the vectors module.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "ann_index.h"
#include "plinth/core/result.h"

namespace plinth::vectors {

// What an index file was saved for; a file loads only when all of it matches.
struct IndexFileHeader {
  std::string account_id;
  std::string knowledge_base_id;
  int64_t revision = 0;  // SQLite: the base's revision; PostgreSQL: its last change-log seq
  int dimensions = 0;
  int m = 0;
  int ef_construction = 0;
};

// The file of one knowledge base: a hash of its ids (ids are untrusted, never path parts); the
// header names the ids, so a hash collision only costs a rebuild.
std::filesystem::path index_file_path(const std::filesystem::path& dir, std::string_view account_id,
                                      std::string_view knowledge_base_id);

// Two steps so that the caller holds the index's lock only while the bytes are written, not
// while they are flushed to disk. Destroying an uncommitted writer removes its temp file.
class IndexFileWriter {
 public:
  static Result<IndexFileWriter> create(const std::filesystem::path& file);
  IndexFileWriter(IndexFileWriter&& other) noexcept;
  IndexFileWriter& operator=(IndexFileWriter&&) = delete;
  ~IndexFileWriter();

  Status write(const IndexFileHeader& header, const AnnIndex& index);
  // fsync, rename over the file, fsync the folder: afterwards the file is the new one even
  // after a power loss; before, it is the old one (or none).
  Status commit();

 private:
  IndexFileWriter(std::filesystem::path file, std::filesystem::path temp, int fd)
      : file_(std::move(file)), temp_(std::move(temp)), fd_(fd) {}
  std::filesystem::path file_;
  std::filesystem::path temp_;
  int fd_ = -1;
};

// The index saved in `file` when its header matches `expected` and its checksum holds.
// kNotFound: no file; kConflict: saved for another revision or parameters; kCorruptData:
// truncated or damaged. The message says which.
Result<std::unique_ptr<AnnIndex>> load_index_file(const std::filesystem::path& file,
                                                  const IndexFileHeader& expected,
                                                  const IndexOptions& options);

// As load_index_file, but at whatever revision the file was saved at (set in `revision`): the
// PostgreSQL store catches up from there through its change log.
Result<std::unique_ptr<AnnIndex>> load_index_file_at_any_revision(const std::filesystem::path& file,
                                                                  const IndexFileHeader& expected,
                                                                  const IndexOptions& options,
                                                                  int64_t& revision);

// Removes temp files left by a crash during a save (older than an hour, so that a save in
// progress in another process is left alone).
void remove_stale_temp_files(const std::filesystem::path& dir);

}  // namespace plinth::vectors
