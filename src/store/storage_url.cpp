// Parsing `[storage] url`: the SQLite default beside the data, or a PostgreSQL URL for libpq.
#include "plinth/store/storage_url.h"

namespace plinth::store {

Result<StorageLocation> parse_storage_url(const std::string& url,
                                          const std::filesystem::path& data_dir) {
  StorageLocation location;
  if (url.empty() || url == "sqlite:") {
    location.sqlite_file = data_dir / "plinth.db";
    return location;
  }
  if (url.starts_with("sqlite:")) {
    location.sqlite_file = url.substr(7);
    return location;
  }
  if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    location.kind = StorageLocation::Kind::kPostgres;
    location.postgres_url = url;
    return location;
  }
  return fail(ErrorCode::kInvalidArgument,
              "storage url must be sqlite:PATH (default sqlite: = DATA_DIR/plinth.db) or "
              "postgresql://USER@HOST:PORT/DATABASE?sslmode=…");
}

}  // namespace plinth::store
