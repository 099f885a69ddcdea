// The SQLite connection: pragmas, RAII statements and transactions, per-domain migrations.
#include "plinth/store/database.h"

#include <sqlite3.h>

namespace plinth::store {
namespace {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  int primary = rc & 0xff;
  ErrorCode code = ErrorCode::kInternal;
  if (primary == SQLITE_CONSTRAINT) code = ErrorCode::kAlreadyExists;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) code = ErrorCode::kUnavailable;
  if (primary == SQLITE_IOERR || primary == SQLITE_FULL || primary == SQLITE_CANTOPEN) {
    code = ErrorCode::kIo;
  }
  if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) code = ErrorCode::kCorruptData;
  return Error(code, std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
}

}  // namespace

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
  other.stmt_ = nullptr;
}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = other.stmt_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::bind_value(int index, const SqlValue& value) {
  if (std::holds_alternative<std::nullptr_t>(value)) {
    sqlite3_bind_null(stmt_, index);
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    sqlite3_bind_int64(stmt_, index, *i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    sqlite3_bind_double(stmt_, index, *d);
  } else {
    bind(index, std::string_view(std::get<std::string>(value)));
  }
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Statement& Statement::bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}

Statement& Statement::bind_blob(int index, std::string_view bytes) {
  sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
  return *this;
}

Result<bool> Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Error error = sqlite_error(db_, rc, "sqlite step");
  sqlite3_reset(stmt_);
  return std::unexpected(error);
}

Result<int> Statement::run() {
  while (true) {
    auto row = step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
  }
  return sqlite3_changes(db_);
}

void Statement::reset() { sqlite3_reset(stmt_); }

int64_t Statement::column_int(int index) const { return sqlite3_column_int64(stmt_, index); }

std::string Statement::column_text(int index) const {
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr) return {};
  return std::string(static_cast<const char*>(data), static_cast<size_t>(size));
}

bool Statement::column_is_null(int index) const {
  return sqlite3_column_type(stmt_, index) == SQLITE_NULL;
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& file) {
  std::error_code ec;
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(file.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Error error = sqlite_error(raw, rc, "open " + file.string());
    sqlite3_close(raw);
    return std::unexpected(error);
  }
  std::unique_ptr<Database> db(new Database(raw));
  sqlite3_busy_timeout(raw, 5000);
  // WAL lets readers run beside the writer; FULL makes every acknowledged commit durable.
  for (const char* pragma :
       {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON"}) {
    if (auto status = db->exec(pragma); !status) return std::unexpected(status.error());
  }
  auto status = db->exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " domain TEXT NOT NULL, version INTEGER NOT NULL, applied_at INTEGER NOT NULL,"
      " PRIMARY KEY (domain, version))");
  if (!status) return std::unexpected(status.error());
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

Status Database::exec(std::string_view sql) {
  auto guard = lock();
  std::string text(sql);
  char* message = nullptr;
  int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &message);
  if (rc != SQLITE_OK) {
    std::string detail = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    Error error = sqlite_error(nullptr, rc, "sqlite exec");
    error.message = "sqlite exec: " + detail;
    return std::unexpected(error);
  }
  return ok();
}

Result<Statement> Database::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db_, rc, "sqlite prepare"));
  return Statement(db_, stmt);
}

Result<int> Database::schema_version(std::string_view domain) {
  auto guard = lock();
  auto stmt = prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE domain = ?");
  if (!stmt) return std::unexpected(stmt.error());
  stmt->bind(1, domain);
  auto row = stmt->step();
  if (!row) return std::unexpected(row.error());
  return static_cast<int>(stmt->column_int(0));
}

Status Database::migrate(std::string_view domain, const std::vector<Migration>& migrations) {
  auto guard = lock();
  auto current = schema_version(domain);
  if (!current) return std::unexpected(current.error());
  for (const Migration& migration : migrations) {
    if (migration.version <= *current) continue;
    auto tx = Transaction::begin(*this);
    if (!tx) return std::unexpected(tx.error());
    if (auto status = exec(migration.sql); !status) return status;
    auto record = prepare(
        "INSERT INTO schema_migrations (domain, version, applied_at) "
        "VALUES (?, ?, CAST(strftime('%s','now') AS INTEGER))");
    if (!record) return std::unexpected(record.error());
    record->bind(1, domain).bind(2, static_cast<int64_t>(migration.version));
    if (auto done = record->run(); !done) return std::unexpected(done.error());
    if (auto status = tx->commit(); !status) return status;
    *current = migration.version;
  }
  return ok();
}

Result<Transaction> Transaction::begin(Database& db) {
  auto guard = db.lock();
  if (auto status = db.exec("BEGIN IMMEDIATE"); !status) return std::unexpected(status.error());
  return Transaction(&db, std::move(guard));
}

Transaction::~Transaction() {
  if (db_ != nullptr) (void)db_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (db_ == nullptr) return fail(ErrorCode::kInternal, "transaction already finished");
  auto status = db_->exec("COMMIT");
  if (status) db_ = nullptr;
  return status;
}

}  // namespace plinth::store
