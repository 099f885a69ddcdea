// The documents domain's SQLite tables: pipelines, documents and each document's stage results.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/store/database.h"

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

// Every call takes the database lock for its statements; callers that need several calls to be
// atomic hold a store::Transaction (the lock is recursive).
class DocumentTables {
 public:
  explicit DocumentTables(store::Database& db) : db_(db) {}
  Status migrate();

  // kAlreadyExists when the account has a pipeline of that name.
  Status insert_pipeline(const PipelineRow& row);
  Status update_pipeline(const PipelineRow& row);  // kNotFound when absent
  Result<PipelineRow> pipeline(std::string_view account_id, std::string_view name);
  Result<std::vector<PipelineRow>> pipelines(std::string_view account_id);
  Status delete_pipeline(std::string_view account_id, std::string_view name);

  Status insert_document(const DocumentRow& row);
  // account_id empty: any account (the worker).
  Result<DocumentRow> document(std::string_view account_id, std::string_view id,
                               bool with_content = false);
  Result<std::optional<DocumentRow>> document_by_idempotency_key(std::string_view account_id,
                                                                 std::string_view key);
  Result<std::optional<std::string>> document_id_for_job(std::string_view job_id);
  // Deletes the document and its stage results; kNotFound when absent.
  Status delete_document(std::string_view account_id, std::string_view id);

  // Stage results are written once: a second put of the same (document, stage) changes nothing.
  Status put_stage(std::string_view document_id, std::string_view stage, std::string_view result,
                   int64_t finished_ms);
  Result<std::map<std::string, std::string>> stages(std::string_view document_id);

 private:
  store::Database& db_;
};

}  // namespace plinth::documents
