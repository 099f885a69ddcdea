// Where the documents domain keeps pipelines, documents and each document's stage results:
// SQLite (the store's database) or PostgreSQL (shared by replicas), behind one interface.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::store {
class Database;
}

namespace plinth::documents {

struct PipelineRow {
  std::string account_id;
  std::string name;
  std::string spec_json;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct DocumentRow {
  std::string id;
  std::string account_id;
  std::string pipeline;
  std::string principal_arn;
  std::string content_type;  // normalized media type of the content
  std::string filename;
  std::string content;
  std::string content_sha256;   // hex
  std::string idempotency_key;  // "" when none
  std::string job_id;
  std::string spec_json;  // the pipeline as it was at submission
  int64_t created_ms = 0;
};

// Thread-safe; every call is durable when it returns.
class DocumentStore {
 public:
  virtual ~DocumentStore() = default;

  // kAlreadyExists when the account has a pipeline of that name.
  virtual Status insert_pipeline(const PipelineRow& row) = 0;
  virtual Status update_pipeline(const PipelineRow& row) = 0;  // kNotFound when absent
  virtual Result<PipelineRow> pipeline(std::string_view account_id, std::string_view name) = 0;
  virtual Result<std::vector<PipelineRow>> pipelines(std::string_view account_id) = 0;
  virtual Status delete_pipeline(std::string_view account_id, std::string_view name) = 0;

  // kAlreadyExists when the account already has a document with that idempotency key.
  virtual Status insert_document(const DocumentRow& row) = 0;
  // account_id empty: any account (the worker).
  virtual Result<DocumentRow> document(std::string_view account_id, std::string_view id,
                                       bool with_content = false) = 0;
  virtual Result<std::optional<DocumentRow>> document_by_idempotency_key(
      std::string_view account_id, std::string_view key) = 0;
  virtual Result<std::optional<std::string>> document_id_for_job(std::string_view job_id) = 0;
  // Deletes the document and its stage results; kNotFound when absent.
  virtual Status delete_document(std::string_view account_id, std::string_view id) = 0;

  // Stage results are written once: a second put of the same (document, stage) changes nothing.
  virtual Status put_stage(std::string_view document_id, std::string_view stage,
                           std::string_view result, int64_t finished_ms) = 0;
  virtual Result<std::map<std::string, std::string>> stages(std::string_view document_id) = 0;

  // Runs `work` so that its writes here and to a queue on the same storage commit together
  // where the backend can (SQLite: one transaction on the shared database). PostgreSQL runs it
  // as it is: callers order their writes so that a crash between them is repaired on retry.
  virtual Status atomically(const std::function<Status()>& work) = 0;
};

// Tables document_pipelines / documents / document_stages in `db` (migrated here); db outlives it.
Result<std::unique_ptr<DocumentStore>> open_sqlite_document_store(store::Database& db);

}  // namespace plinth::documents
