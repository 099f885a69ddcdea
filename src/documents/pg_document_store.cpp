// The PostgreSQL document store shared by replicas: pipelines, documents (content as bytea) and
// stage results, each call one statement on a pooled connection (migration domain "documents").
#include "plinth/documents/pg_document_store.h"

#include "plinth/pg/migrations.h"

namespace plinth::documents {
namespace {

const std::vector<pg::Migration> kMigrations = {{1, R"sql(
CREATE TABLE document_pipelines (
  account_id TEXT NOT NULL,
  name TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  PRIMARY KEY (account_id, name)
);
CREATE TABLE documents (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  pipeline TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  content_type TEXT NOT NULL,
  filename TEXT NOT NULL,
  content BYTEA NOT NULL,
  content_sha256 TEXT NOT NULL,
  idempotency_key TEXT,
  job_id TEXT NOT NULL,
  spec TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX documents_idempotency ON documents (account_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX documents_job ON documents (job_id);
CREATE TABLE document_stages (
  document_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  result TEXT NOT NULL,
  finished_ms BIGINT NOT NULL,
  PRIMARY KEY (document_id, stage)
);
)sql"}};

constexpr std::string_view kDocumentColumns =
    "id, account_id, pipeline, principal_arn, content_type, filename, content_sha256, "
    "COALESCE(idempotency_key, ''), job_id, spec, created_ms";

DocumentRow read_document(const pg::Rows& rows, bool with_content) {
  DocumentRow row{rows.text(0, 0),
                  rows.text(0, 1),
                  rows.text(0, 2),
                  rows.text(0, 3),
                  rows.text(0, 4),
                  rows.text(0, 5),
                  "",
                  rows.text(0, 6),
                  rows.text(0, 7),
                  rows.text(0, 8),
                  rows.text(0, 9),
                  rows.int64(0, 10)};
  if (with_content) row.content = rows.bytes(0, 11);
  return row;
}

PipelineRow read_pipeline(const pg::Rows& rows, int i) {
  return {rows.text(i, 0), rows.text(i, 1), rows.text(i, 2), rows.int64(i, 3), rows.int64(i, 4)};
}

class PgDocumentStore final : public DocumentStore {
 public:
  explicit PgDocumentStore(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  Status insert_pipeline(const PipelineRow& row) override {
    auto done = pool_->exec_prepared(
        "documents_insert_pipeline",
        "INSERT INTO document_pipelines (account_id, name, spec, created_ms,"
        " updated_ms) VALUES ($1, $2, $3, $4, $5)",
        {row.account_id, row.name, row.spec_json, row.created_ms, row.updated_ms});
    if (!done && done.error().code == ErrorCode::kAlreadyExists) {
      return fail(ErrorCode::kAlreadyExists, "A pipeline named " + row.name + " already exists.");
    }
    if (!done) return std::unexpected(done.error());
    return ok();
  }

  Status update_pipeline(const PipelineRow& row) override {
    auto done = pool_->exec_prepared("documents_update_pipeline",
                                     "UPDATE document_pipelines SET spec = $1, updated_ms = $2"
                                     " WHERE account_id = $3 AND name = $4",
                                     {row.spec_json, row.updated_ms, row.account_id, row.name});
    if (!done) return std::unexpected(done.error());
    if (done->affected() == 0)
      return fail(ErrorCode::kNotFound, "No pipeline named " + row.name + ".");
    return ok();
  }

  Result<PipelineRow> pipeline(std::string_view account_id, std::string_view name) override {
    auto rows = pool_->exec_prepared(
        "documents_pipeline",
        "SELECT account_id, name, spec, created_ms, updated_ms FROM document_pipelines"
        " WHERE account_id = $1 AND name = $2",
        {account_id, name});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty())
      return fail(ErrorCode::kNotFound, "No pipeline named " + std::string(name) + ".");
    return read_pipeline(*rows, 0);
  }

  Result<std::vector<PipelineRow>> pipelines(std::string_view account_id) override {
    auto rows = pool_->exec_prepared(
        "documents_pipelines",
        "SELECT account_id, name, spec, created_ms, updated_ms FROM document_pipelines"
        " WHERE account_id = $1 ORDER BY name",
        {account_id});
    if (!rows) return std::unexpected(rows.error());
    std::vector<PipelineRow> out;
    for (int i = 0; i < rows->size(); ++i) out.push_back(read_pipeline(*rows, i));
    return out;
  }

  Status delete_pipeline(std::string_view account_id, std::string_view name) override {
    auto done = pool_->exec_prepared(
        "documents_delete_pipeline",
        "DELETE FROM document_pipelines WHERE account_id = $1 AND name = $2", {account_id, name});
    if (!done) return std::unexpected(done.error());
    if (done->affected() == 0)
      return fail(ErrorCode::kNotFound, "No pipeline named " + std::string(name) + ".");
    return ok();
  }

  Status insert_document(const DocumentRow& row) override {
    pg::Param key =
        row.idempotency_key.empty() ? pg::Param(nullptr) : pg::Param(row.idempotency_key);
    auto done = pool_->exec_prepared(
        "documents_insert_document",
        "INSERT INTO documents (id, account_id, pipeline, principal_arn, content_type,"
        " filename, content, content_sha256, idempotency_key, job_id, spec, created_ms)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        {row.id, row.account_id, row.pipeline, row.principal_arn, row.content_type, row.filename,
         pg::Param::bytes(row.content), row.content_sha256, key, row.job_id, row.spec_json,
         row.created_ms});
    if (!done) return std::unexpected(done.error());
    return ok();
  }

  Result<DocumentRow> document(std::string_view account_id, std::string_view id,
                               bool with_content) override {
    std::string sql = "SELECT " + std::string(kDocumentColumns) +
                      (with_content ? ", content" : "") +
                      " FROM documents WHERE id = $1 AND ($2 = '' OR account_id = $2)";
    auto rows = pool_->exec_prepared(
        with_content ? "documents_document_content" : "documents_document", sql, {id, account_id});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return fail(ErrorCode::kNotFound, "No document " + std::string(id) + ".");
    return read_document(*rows, with_content);
  }

  Result<std::optional<DocumentRow>> document_by_idempotency_key(std::string_view account_id,
                                                                 std::string_view key) override {
    auto rows =
        pool_->exec_prepared("documents_by_idempotency_key",
                             "SELECT " + std::string(kDocumentColumns) +
                                 " FROM documents WHERE account_id = $1 AND idempotency_key = $2",
                             {account_id, key});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return std::optional<DocumentRow>();
    return std::optional<DocumentRow>(read_document(*rows, false));
  }

  Result<std::optional<std::string>> document_id_for_job(std::string_view job_id) override {
    auto rows = pool_->exec_prepared("documents_for_job",
                                     "SELECT id FROM documents WHERE job_id = $1", {job_id});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) return std::optional<std::string>();
    return std::optional<std::string>(rows->text(0, 0));
  }

  Status delete_document(std::string_view account_id, std::string_view id) override {
    // One statement: the stage rows go with the document or not at all.
    auto rows = pool_->exec_prepared(
        "documents_delete_document",
        "WITH gone AS (DELETE FROM documents WHERE id = $1 AND account_id = $2"
        " RETURNING id), stages AS (DELETE FROM document_stages WHERE document_id"
        " IN (SELECT id FROM gone)) SELECT COUNT(*) FROM gone",
        {id, account_id});
    if (!rows) return std::unexpected(rows.error());
    if (rows->int64(0, 0) == 0)
      return fail(ErrorCode::kNotFound, "No document " + std::string(id) + ".");
    return ok();
  }

  Status put_stage(std::string_view document_id, std::string_view stage, std::string_view result,
                   int64_t finished_ms) override {
    auto done =
        pool_->exec_prepared("documents_put_stage",
                             "INSERT INTO document_stages (document_id, stage, result, finished_ms)"
                             " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                             {document_id, stage, result, finished_ms});
    if (!done) return std::unexpected(done.error());
    return ok();
  }

  Result<std::map<std::string, std::string>> stages(std::string_view document_id) override {
    auto rows = pool_->exec_prepared(
        "documents_stages", "SELECT stage, result FROM document_stages WHERE document_id = $1",
        {document_id});
    if (!rows) return std::unexpected(rows.error());
    std::map<std::string, std::string> out;
    for (int i = 0; i < rows->size(); ++i) out[rows->text(i, 0)] = rows->text(i, 1);
    return out;
  }

  Status atomically(const std::function<Status()>& work) override { return work(); }

 private:
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<DocumentStore>> open_postgres_document_store(
    std::shared_ptr<pg::Pool> pool) {
  {
    auto conn = pool->acquire();
    if (!conn) return std::unexpected(conn.error());
    if (auto migrated = pg::migrate(**conn, "documents", kMigrations); !migrated) {
      return std::unexpected(migrated.error());
    }
  }
  return std::make_unique<PgDocumentStore>(std::move(pool));
}

}  // namespace plinth::documents
