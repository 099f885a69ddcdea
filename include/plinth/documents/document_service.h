// The documents service: pipelines per account, accepting documents durably (document row and
// queue job in one transaction), the read views the API returns, and the worker threads that run
// each job's stages parse → extract → classify → embed → index → analyze.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/catalog/catalog.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/random.h"
#include "plinth/core/result.h"
#include "plinth/documents/document_store.h"
#include "plinth/documents/parsing.h"
#include "plinth/jobs/queue.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"
#include "plinth/ledger/metrics.h"
#include "plinth/providers/provider.h"
#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::documents {

inline constexpr std::string_view kQueueName = "documents";

struct DocumentOptions {
  int workers = 2;            // worker threads claiming jobs; 0 = none (tests drive run_one_job)
  int max_receive_count = 5;  // the queue's: a failure on this receive is final
  std::chrono::milliseconds visibility_timeout{
      60'000};  // the queue's: leases are extended at a third
  size_t max_document_bytes = 20 << 20;
  ChunkOptions chunking;
  int extract_max_tokens = 512;
  int classify_max_tokens = 48;
  int analysis_max_tokens = 512;
  size_t max_prompt_chars = 12'000;  // document text put in a prompt (halved on kContextLength)
  int related_chunks = 3;            // from other documents, in the analysis prompt
  std::chrono::milliseconds claim_wait{1'000};

  // The [documents] table of the config.
  static DocumentOptions from_config(const Config& config);
};

struct DocumentServices {
  // The SQLite database that holds the documents' tables, unless `documents` is set.
  store::Database* database;
  jobs::Queue& queue;
  vectors::VectorStore& vectors;
  providers::Provider& provider;
  const catalog::Catalog& catalog;
  ledger::Ledger* ledger = nullptr;  // model calls are recorded when set
  const Clock& clock;
  Random& random;
  // When set, every model call of a stage first reserves its worst-case cost from the matching
  // budgets (the application tag is "pipeline/NAME"), and the actual cost is booked when the
  // stage ends, so a hard limit is never exceeded. A refused reservation fails the job for good
  // with the budget's message (job.failed); submit the document again in a new period.
  ledger::Budgets* budgets = nullptr;
  ledger::Metrics* metrics = nullptr;  // model stages are counted when set
  // Pipelines, documents and stage results elsewhere (PostgreSQL); outlives the service.
  DocumentStore* documents = nullptr;
};

struct NewDocument {
  std::string account_id;
  std::string principal_arn;
  std::string pipeline;
  std::string content_type;  // the request's; multipart/form-data carries the file in a part
  std::string body;
  std::string idempotency_key;  // "" when none
};

struct Submission {
  std::string document_id;
  std::string job_id;
  bool replayed = false;  // an Idempotency-Key replay: nothing new was accepted
};

struct JobEventsRead {
  std::vector<jobs::JobEvent> events;
  bool finished = false;    // the job has ended and every event up to its end is in `events`
  std::string document_id;  // the document the job processes ("" if it names none)
};

// True for event types whose data is the document's content or results (job.succeeded carries
// the document view, analysis.delta its analysis): reading them takes plinth:GetDocument.
bool carries_document_data(std::string_view event_type);

class DocumentService {
 public:
  // Migrates the tables; starts no threads.
  static Result<std::unique_ptr<DocumentService>> open(DocumentOptions options,
                                                       DocumentServices services);
  ~DocumentService();  // stops the workers

  // Pipelines; bodies and answers are JSON text (include/plinth/documents/pipeline.h's shape).
  Result<std::string> create_pipeline(std::string_view account_id, std::string_view body);
  Result<std::string> update_pipeline(std::string_view account_id, std::string_view name,
                                      std::string_view body);
  Result<std::string> pipeline(std::string_view account_id, std::string_view name);
  Result<std::string> pipelines(std::string_view account_id);  // {"pipelines":[...]}
  Status delete_pipeline(std::string_view account_id, std::string_view name);

  // kPayloadTooLarge above max_document_bytes; kInvalidArgument for an unsupported type;
  // kConflict when the idempotency key was used with another body.
  Result<Submission> submit(const NewDocument& document);
  Result<std::string> document(std::string_view account_id, std::string_view id);
  Status delete_document(std::string_view account_id, std::string_view id);
  Result<std::string> job(std::string_view account_id, std::string_view id);
  Result<std::string> jobs(std::string_view account_id, int limit);  // {"jobs":[...]}
  // The job's events after `after`, waiting up to `wait` for one; kNotFound for another account,
  // kUnavailable once stop_workers() ran (event streams end with the server).
  Result<JobEventsRead> job_events(std::string_view account_id, std::string_view job_id,
                                   int64_t after, std::chrono::milliseconds wait);

  void start_workers();
  // Cancels running stages (their leases expire and the jobs resume on the next start) and joins
  // the workers.
  void stop_workers();
  // Claims and runs one job if one is visible; false when none was (tests).
  Result<bool> run_one_job();

  class Impl;

 private:
  explicit DocumentService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::documents
