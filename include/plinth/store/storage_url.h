// `[storage] url` / `--storage-url`: which backend holds Plinth's state.
#pragma once

#include <filesystem>
#include <string>

#include "plinth/core/result.h"

namespace plinth::store {

struct StorageLocation {
  enum class Kind { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::filesystem::path sqlite_file;  // kSqlite
  std::string postgres_url;           // kPostgres: handed to libpq as written
};

// "" or "sqlite:" → DATA_DIR/plinth.db; "sqlite:PATH" → PATH; "postgresql://…", "postgres://…" →
// PostgreSQL. Anything else is kInvalidArgument naming the accepted forms.
Result<StorageLocation> parse_storage_url(const std::string& url,
                                          const std::filesystem::path& data_dir);

}  // namespace plinth::store
