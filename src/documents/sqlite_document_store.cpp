// The SQLite document store: pipelines, documents and stage results (migration domain
// "documents") on the store's database.
#include "plinth/documents/document_store.h"
#include "plinth/store/database.h"

namespace plinth::documents {
namespace {

const std::vector<store::Migration> kMigrations = {{1, R"sql(
CREATE TABLE document_pipelines (
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  content_type TEXT NOT NULL,
  filename TEXT NOT NULL,
  content BLOB NOT NULL,
  content_sha256 TEXT NOT NULL,
  idempotency_key TEXT,
  job_id TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE UNIQUE INDEX documents_idempotency ON documents (account_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX documents_job ON documents (job_id);
CREATE TABLE document_stages (
  document_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  result TEXT NOT NULL,
  finished_ms INTEGER NOT NULL,
  PRIMARY KEY (document_id, stage)
);
)sql"}};

constexpr std::string_view kDocumentColumns =
    "id, account_id, pipeline, principal_arn, content_type, filename, content_sha256, "
    "COALESCE(idempotency_key, ''), job_id, spec, created_ms";

DocumentRow read_document(const store::Statement& s, bool with_content) {
  DocumentRow row{s.column_text(0),
                  s.column_text(1),
                  s.column_text(2),
                  s.column_text(3),
                  s.column_text(4),
                  s.column_text(5),
                  "",
                  s.column_text(6),
                  s.column_text(7),
                  s.column_text(8),
                  s.column_text(9),
                  s.column_int(10)};
  if (with_content) row.content = s.column_text(11);
  return row;
}

PipelineRow read_pipeline(const store::Statement& s) {
  return {s.column_text(0), s.column_text(1), s.column_text(2), s.column_int(3), s.column_int(4)};
}

// Every call takes the database lock for its statements; atomically() holds a
// store::Transaction around several calls (the lock is recursive).
class SqliteDocumentStore final : public DocumentStore {
 public:
  explicit SqliteDocumentStore(store::Database& db) : db_(db) {}
  Status migrate() { return db_.migrate("documents", kMigrations); }

  Status insert_pipeline(const PipelineRow& row) override;
  Status update_pipeline(const PipelineRow& row) override;
  Result<PipelineRow> pipeline(std::string_view account_id, std::string_view name) override;
  Result<std::vector<PipelineRow>> pipelines(std::string_view account_id) override;
  Status delete_pipeline(std::string_view account_id, std::string_view name) override;
  Status insert_document(const DocumentRow& row) override;
  Result<DocumentRow> document(std::string_view account_id, std::string_view id,
                               bool with_content) override;
  Result<std::optional<DocumentRow>> document_by_idempotency_key(std::string_view account_id,
                                                                 std::string_view key) override;
  Result<std::optional<std::string>> document_id_for_job(std::string_view job_id) override;
  Status delete_document(std::string_view account_id, std::string_view id) override;
  Status put_stage(std::string_view document_id, std::string_view stage, std::string_view result,
                   int64_t finished_ms) override;
  Result<std::map<std::string, std::string>> stages(std::string_view document_id) override;

  Status atomically(const std::function<Status()>& work) override {
    auto transaction = store::Transaction::begin(db_);
    if (!transaction) return std::unexpected(transaction.error());
    if (auto done = work(); !done) return done;
    return transaction->commit();
  }

 private:
  store::Database& db_;
};

}  // namespace

Result<std::unique_ptr<DocumentStore>> open_sqlite_document_store(store::Database& db) {
  auto store = std::make_unique<SqliteDocumentStore>(db);
  if (auto migrated = store->migrate(); !migrated) return std::unexpected(migrated.error());
  return store;
}

Status SqliteDocumentStore::insert_pipeline(const PipelineRow& row) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "INSERT INTO document_pipelines (account_id, name, spec, created_ms, updated_ms) "
      "VALUES (?, ?, ?, ?, ?)");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, row.account_id)
      .bind(2, row.name)
      .bind(3, row.spec_json)
      .bind(4, row.created_ms)
      .bind(5, row.updated_ms);
  auto ran = statement->run();
  if (!ran) {
    if (ran.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "A pipeline named " + row.name + " already exists.");
    }
    return std::unexpected(ran.error());
  }
  return ok();
}

Status SqliteDocumentStore::update_pipeline(const PipelineRow& row) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "UPDATE document_pipelines SET spec = ?, updated_ms = ? WHERE account_id = ? AND name = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, row.spec_json)
      .bind(2, row.updated_ms)
      .bind(3, row.account_id)
      .bind(4, row.name);
  auto ran = statement->run();
  if (!ran) return std::unexpected(ran.error());
  if (*ran == 0) return fail(ErrorCode::kNotFound, "No pipeline named " + row.name + ".");
  return ok();
}

Result<PipelineRow> SqliteDocumentStore::pipeline(std::string_view account_id,
                                                  std::string_view name) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "SELECT account_id, name, spec, created_ms, updated_ms FROM document_pipelines "
      "WHERE account_id = ? AND name = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, account_id).bind(2, name);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "No pipeline named " + std::string(name) + ".");
  return read_pipeline(*statement);
}

Result<std::vector<PipelineRow>> SqliteDocumentStore::pipelines(std::string_view account_id) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "SELECT account_id, name, spec, created_ms, updated_ms FROM document_pipelines "
      "WHERE account_id = ? ORDER BY name");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, account_id);
  std::vector<PipelineRow> rows;
  while (true) {
    auto row = statement->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    rows.push_back(read_pipeline(*statement));
  }
  return rows;
}

Status SqliteDocumentStore::delete_pipeline(std::string_view account_id, std::string_view name) {
  auto guard = db_.lock();
  auto statement = db_.prepare("DELETE FROM document_pipelines WHERE account_id = ? AND name = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, account_id).bind(2, name);
  auto ran = statement->run();
  if (!ran) return std::unexpected(ran.error());
  if (*ran == 0) return fail(ErrorCode::kNotFound, "No pipeline named " + std::string(name) + ".");
  return ok();
}

Status SqliteDocumentStore::insert_document(const DocumentRow& row) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "INSERT INTO documents (id, account_id, pipeline, principal_arn, content_type, filename, "
      "content, content_sha256, idempotency_key, job_id, spec, created_ms) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, row.id)
      .bind(2, row.account_id)
      .bind(3, row.pipeline)
      .bind(4, row.principal_arn)
      .bind(5, row.content_type)
      .bind(6, row.filename)
      .bind_blob(7, row.content)
      .bind(8, row.content_sha256);
  if (row.idempotency_key.empty()) {
    statement->bind_value(9, nullptr);
  } else {
    statement->bind(9, row.idempotency_key);
  }
  statement->bind(10, row.job_id).bind(11, row.spec_json).bind(12, row.created_ms);
  auto ran = statement->run();
  if (!ran) return std::unexpected(ran.error());
  return ok();
}

Result<DocumentRow> SqliteDocumentStore::document(std::string_view account_id, std::string_view id,
                                                  bool with_content) {
  auto guard = db_.lock();
  std::string sql = "SELECT " + std::string(kDocumentColumns) + (with_content ? ", content" : "") +
                    " FROM documents WHERE id = ? AND (? = '' OR account_id = ?)";
  auto statement = db_.prepare(sql);
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, id).bind(2, account_id).bind(3, account_id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "No document " + std::string(id) + ".");
  return read_document(*statement, with_content);
}

Result<std::optional<DocumentRow>> SqliteDocumentStore::document_by_idempotency_key(
    std::string_view account_id, std::string_view key) {
  auto guard = db_.lock();
  auto statement = db_.prepare("SELECT " + std::string(kDocumentColumns) +
                               " FROM documents WHERE account_id = ? AND idempotency_key = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, account_id).bind(2, key);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<DocumentRow>();
  return std::optional<DocumentRow>(read_document(*statement, false));
}

Result<std::optional<std::string>> SqliteDocumentStore::document_id_for_job(
    std::string_view job_id) {
  auto guard = db_.lock();
  auto statement = db_.prepare("SELECT id FROM documents WHERE job_id = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, job_id);
  auto row = statement->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return std::optional<std::string>();
  return std::optional<std::string>(statement->column_text(0));
}

Status SqliteDocumentStore::delete_document(std::string_view account_id, std::string_view id) {
  auto transaction = store::Transaction::begin(db_);
  if (!transaction) return std::unexpected(transaction.error());
  auto statement = db_.prepare("DELETE FROM documents WHERE id = ? AND account_id = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, id).bind(2, account_id);
  auto ran = statement->run();
  if (!ran) return std::unexpected(ran.error());
  if (*ran == 0) return fail(ErrorCode::kNotFound, "No document " + std::string(id) + ".");
  auto stages = db_.prepare("DELETE FROM document_stages WHERE document_id = ?");
  if (!stages) return std::unexpected(stages.error());
  stages->bind(1, id);
  if (auto done = stages->run(); !done) return std::unexpected(done.error());
  return transaction->commit();
}

Status SqliteDocumentStore::put_stage(std::string_view document_id, std::string_view stage,
                                      std::string_view result, int64_t finished_ms) {
  auto guard = db_.lock();
  auto statement = db_.prepare(
      "INSERT OR IGNORE INTO document_stages (document_id, stage, result, finished_ms) "
      "VALUES (?, ?, ?, ?)");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, document_id).bind(2, stage).bind(3, result).bind(4, finished_ms);
  auto ran = statement->run();
  if (!ran) return std::unexpected(ran.error());
  return ok();
}

Result<std::map<std::string, std::string>> SqliteDocumentStore::stages(
    std::string_view document_id) {
  auto guard = db_.lock();
  auto statement = db_.prepare("SELECT stage, result FROM document_stages WHERE document_id = ?");
  if (!statement) return std::unexpected(statement.error());
  statement->bind(1, document_id);
  std::map<std::string, std::string> out;
  while (true) {
    auto row = statement->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out[statement->column_text(0)] = statement->column_text(1);
  }
  return out;
}

}  // namespace plinth::documents
