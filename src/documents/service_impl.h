// DocumentService's private state, shared by the API side (document_service.cpp) and the worker
// side (pipeline_worker.cpp, stages.cpp).
#pragma once

#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "document_tables.h"
#include "plinth/documents/document_service.h"
#include "plinth/documents/pipeline.h"

namespace plinth::documents {

// Stage names in the order a job runs them.
inline constexpr std::array<std::string_view, 6> kStages = {"parse", "extract", "classify",
                                                            "embed", "index",   "analyze"};

// What a model-calling stage spent: one ledger record and the document's usage entry.
struct StageUsage {
  std::string model;
  std::string model_requested;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cost_micro_usd = 0;
  int64_t latency_ms = 0;
};
boost::json::object usage_json(const StageUsage& usage);

// Everything a stage needs about the job it runs in.
struct StageContext {
  const DocumentRow& document;
  const PipelineSpec& spec;
  const std::string& job_id;
  const std::map<std::string, std::string>& done;  // stage -> stored result (JSON text)
  const std::atomic<bool>* cancel;
  // Appends a job event (analysis deltas).
  std::function<void(std::string_view type, std::string_view data)> emit;
  // Every model call of the stage goes through it (budget reservations: budgeted_provider.h).
  providers::Provider& provider;
};

// A stage's outcome: the result to store (JSON object) and, for model calls, their usage.
struct StageOutput {
  boost::json::object result;
  std::optional<StageUsage> usage;
};

class DocumentService::Impl {
 public:
  Impl(DocumentOptions options, DocumentServices services)
      : options_(std::move(options)), services_(services), tables_(services.database) {}

  // document_service.cpp
  int64_t now_ms() const;
  Result<boost::json::object> document_view(const DocumentRow& row);
  Result<boost::json::object> job_view(const jobs::JobRecord& job);

  // pipeline_worker.cpp
  Result<bool> run_one_job();
  void run_job(jobs::JobLease lease);
  Result<StageOutput> run_stage(std::string_view stage, const StageContext& context);
  // One ledger row (and metrics sample) for a stage's model calls; `status` is "200" or
  // "failed" (the stage failed after paid calls); `delivery` is the job's receive count.
  void record_usage(const DocumentRow& document, const std::string& job_id, std::string_view stage,
                    const StageUsage& usage, std::string status, int delivery);
  void start_workers();
  void stop_workers();

  // stages.cpp
  Result<StageOutput> parse_stage(const StageContext& context);
  Result<StageOutput> extract_stage(const StageContext& context);
  Result<StageOutput> classify_stage(const StageContext& context);
  Result<StageOutput> embed_stage(const StageContext& context);
  Result<StageOutput> index_stage(const StageContext& context);
  Result<StageOutput> analyze_stage(const StageContext& context);
  // Runs an inference, halving the document text in the prompt while the model's context is too
  // small. `build` makes the request from a text budget in bytes.
  Result<providers::InferenceResponse> infer_fitting(
      const StageContext& context,
      const std::function<providers::InferenceRequest(size_t text_budget)>& build,
      const providers::StreamCallback& on_event);
  StageUsage usage_of(const catalog::ModelEntry& model, std::string_view requested,
                      const providers::InferenceResponse& response) const;

  DocumentOptions options_;
  DocumentServices services_;
  DocumentTables tables_;

  std::mutex workers_mutex_;
  std::vector<std::thread> workers_;  // guarded by workers_mutex_
  std::atomic<bool> stopping_{false};
};

// The text of the parse stage's stored result.
Result<std::string> parsed_text(const StageContext& context);
// At most `budget` bytes of `text`, cut at a UTF-8 character boundary.
std::string truncate_utf8(std::string_view text, size_t budget);

}  // namespace plinth::documents
