// DocumentService's API side: pipelines, durable submission with idempotency keys, and the
// document and job views.
#include <openssl/evp.h>

#include <ctime>
#include <regex>

#include "plinth/core/encoding.h"
#include "plinth/core/ids.h"
#include "plinth/documents/extraction.h"
#include "plinth/documents/parsing.h"
#include "service_impl.h"

namespace plinth::documents {
namespace {

namespace json = boost::json;

std::string sha256_hex(std::string_view a, std::string_view b) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_MD_CTX* context = EVP_MD_CTX_new();
  EVP_DigestInit_ex(context, EVP_sha256(), nullptr);
  EVP_DigestUpdate(context, a.data(), a.size());
  EVP_DigestUpdate(context, "\n", 1);
  EVP_DigestUpdate(context, b.data(), b.size());
  EVP_DigestFinal_ex(context, digest, &size);
  EVP_MD_CTX_free(context);
  return hex_encode(std::string_view(reinterpret_cast<const char*>(digest), size));
}

// "2025-11-25T10:11:43.123Z"
std::string iso_time(int64_t ms) {
  std::time_t seconds = ms / 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buffer;
}

std::string_view status_name(jobs::JobStatus status) {
  switch (status) {
    case jobs::JobStatus::kQueued:
      return "queued";
    case jobs::JobStatus::kRunning:
      return "running";
    case jobs::JobStatus::kSucceeded:
      return "succeeded";
    case jobs::JobStatus::kFailed:
    case jobs::JobStatus::kDead:
      return "failed";
  }
  return "failed";
}

bool is_terminal(jobs::JobStatus status) {
  return status == jobs::JobStatus::kSucceeded || status == jobs::JobStatus::kFailed ||
         status == jobs::JobStatus::kDead;
}

json::object parse_object(std::string_view text) {
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return {};
  return std::move(value.as_object());
}

}  // namespace

std::string media_type_from_filename(std::string_view name) {
  auto ends = [&](std::string_view suffix) {
    if (name.size() < suffix.size()) return false;
    std::string tail(name.substr(name.size() - suffix.size()));
    for (char& c : tail) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return tail == suffix;
  };
  if (ends(".pdf")) return "application/pdf";
  if (ends(".md") || ends(".markdown")) return "text/markdown";
  if (ends(".html") || ends(".htm")) return "text/html";
  if (ends(".txt")) return "text/plain";
  if (ends(".csv")) return "text/csv";
  if (ends(".docx")) return std::string(kDocxMediaType);
  if (ends(".xlsx")) return std::string(kXlsxMediaType);
  return "";
}

json::object usage_json(const StageUsage& usage) {
  return {{"model", usage.model},
          {"inputTokens", usage.input_tokens},
          {"outputTokens", usage.output_tokens},
          {"costUsd", static_cast<double>(usage.cost_micro_usd) / 1e6}};
}

int64_t DocumentService::Impl::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             services_.clock.now().time_since_epoch())
      .count();
}

DocumentOptions DocumentOptions::from_config(const Config& config) {
  const DocumentsConfig& d = config.documents;
  DocumentOptions options;
  options.workers = d.workers;
  options.max_receive_count = d.max_receive_count;
  options.visibility_timeout = std::chrono::seconds(d.visibility_timeout_seconds);
  options.max_document_bytes = d.max_document_bytes;
  options.chunking = {d.chunk_words, d.chunk_overlap_words};
  options.extract_max_tokens = d.extract_max_tokens;
  options.analysis_max_tokens = d.analysis_max_tokens;
  return options;
}

Result<std::unique_ptr<DocumentService>> DocumentService::open(DocumentOptions options,
                                                               DocumentServices services) {
  auto impl = std::make_unique<Impl>(std::move(options), services);
  if (services.documents != nullptr) {
    impl->tables_ = services.documents;
  } else if (services.database == nullptr) {
    return fail(ErrorCode::kInvalidArgument, "the documents service needs a database or a store");
  } else {
    auto tables = open_sqlite_document_store(*services.database);
    if (!tables) return std::unexpected(tables.error());
    impl->owned_tables_ = std::move(*tables);
    impl->tables_ = impl->owned_tables_.get();
  }
  return std::unique_ptr<DocumentService>(new DocumentService(std::move(impl)));
}

DocumentService::DocumentService(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DocumentService::~DocumentService() { impl_->stop_workers(); }

void DocumentService::start_workers() { impl_->start_workers(); }
void DocumentService::stop_workers() { impl_->stop_workers(); }
Result<bool> DocumentService::run_one_job() { return impl_->run_one_job(); }

Result<std::string> DocumentService::create_pipeline(std::string_view account_id,
                                                     std::string_view body) {
  auto spec = parse_pipeline_spec(body, impl_->services_.catalog);
  if (!spec) return std::unexpected(spec.error());
  auto embedder = embedding_model(impl_->services_.catalog);
  if (!embedder) {
    return fail(ErrorCode::kInvalidArgument,
                "Pipelines need an embedding model; " + embedder.error().message + ".");
  }
  auto knowledge_base = impl_->services_.vectors.ensure_knowledge_base(
      account_id, spec->knowledge_base_id, (*embedder)->id);
  if (!knowledge_base) return std::unexpected(knowledge_base.error());
  spec->created_ms = spec->updated_ms = impl_->now_ms();
  std::string stored = pipeline_spec_json(*spec);
  if (auto inserted = impl_->tables_->insert_pipeline(
          {std::string(account_id), spec->name, stored, spec->created_ms, spec->updated_ms});
      !inserted) {
    return std::unexpected(inserted.error());
  }
  return stored;
}

Result<std::string> DocumentService::update_pipeline(std::string_view account_id,
                                                     std::string_view name, std::string_view body) {
  auto existing = impl_->tables_->pipeline(account_id, name);
  if (!existing) return std::unexpected(existing.error());
  auto spec = parse_pipeline_spec(body, impl_->services_.catalog, name);
  if (!spec) return std::unexpected(spec.error());
  auto embedder = embedding_model(impl_->services_.catalog);
  if (!embedder) return fail(ErrorCode::kInvalidArgument, embedder.error().message);
  auto knowledge_base = impl_->services_.vectors.ensure_knowledge_base(
      account_id, spec->knowledge_base_id, (*embedder)->id);
  if (!knowledge_base) return std::unexpected(knowledge_base.error());
  spec->created_ms = existing->created_ms;
  spec->updated_ms = impl_->now_ms();
  std::string stored = pipeline_spec_json(*spec);
  if (auto updated = impl_->tables_->update_pipeline(
          {std::string(account_id), spec->name, stored, spec->created_ms, spec->updated_ms});
      !updated) {
    return std::unexpected(updated.error());
  }
  return stored;
}

Result<std::string> DocumentService::pipeline(std::string_view account_id, std::string_view name) {
  auto row = impl_->tables_->pipeline(account_id, name);
  if (!row) return std::unexpected(row.error());
  return row->spec_json;
}

Result<std::string> DocumentService::pipelines(std::string_view account_id) {
  auto rows = impl_->tables_->pipelines(account_id);
  if (!rows) return std::unexpected(rows.error());
  json::array list;
  for (const PipelineRow& row : *rows) list.push_back(parse_object(row.spec_json));
  return json::serialize(json::object{{"pipelines", std::move(list)}});
}

Status DocumentService::delete_pipeline(std::string_view account_id, std::string_view name) {
  return impl_->tables_->delete_pipeline(account_id, name);
}

Status DocumentService::Impl::enqueue_for(const DocumentRow& row) {
  jobs::NewJob job{
      std::string(kQueueName), row.account_id,
      json::serialize(json::object{{"documentId", row.id}, {"pipeline", row.pipeline}}),
      row.job_id};
  auto job_id = services_.queue.enqueue(job);
  if (!job_id) return std::unexpected(job_id.error());
  return ok();
}

// An Idempotency-Key seen before: the same document again is a replay (its job enqueued now if
// an earlier attempt stopped before enqueueing it); another document is a conflict.
Status DocumentService::Impl::replay(const DocumentRow& row, const DocumentRow& existing,
                                     Submission& submission) {
  if (existing.content_sha256 != row.content_sha256 || existing.pipeline != row.pipeline) {
    return fail(ErrorCode::kConflict,
                "The Idempotency-Key was already used with a different document.");
  }
  submission = Submission{existing.id, existing.job_id, true};
  auto job = services_.queue.get(existing.job_id, "");
  if (job || job.error().code != ErrorCode::kNotFound) {
    return job ? ok() : Status(std::unexpected(job.error()));
  }
  return enqueue_for(existing);
}

Result<Submission> DocumentService::submit(const NewDocument& document) {
  Impl& impl = *impl_;
  auto pipeline = impl.tables_->pipeline(document.account_id, document.pipeline);
  if (!pipeline) return std::unexpected(pipeline.error());
  if (document.body.size() > impl.options_.max_document_bytes) {
    return fail(ErrorCode::kPayloadTooLarge, "The document is larger than the limit of " +
                                                 std::to_string(impl.options_.max_document_bytes) +
                                                 " bytes.");
  }
  static const std::regex kKey("[\\x21-\\x7e]{1,255}");
  if (!document.idempotency_key.empty() && !std::regex_match(document.idempotency_key, kKey)) {
    return fail(ErrorCode::kInvalidArgument,
                "Idempotency-Key must be 1 to 255 printable ASCII characters.");
  }
  DocumentRow row;
  std::string request_type = document.content_type.substr(0, document.content_type.find(';'));
  if (request_type == "multipart/form-data") {
    auto part = parse_multipart_file(document.content_type, document.body);
    if (!part) return std::unexpected(part.error());
    // Stored and shown in JSON views: refused unless UTF-8, and cut at a character boundary.
    if (!is_valid_utf8(part->filename) || !is_valid_utf8(part->content_type)) {
      return fail(ErrorCode::kInvalidArgument,
                  "The file part's filename and Content-Type must be valid UTF-8.");
    }
    row.filename = truncate_utf8(part->filename, 255);
    row.content_type = normalized_media_type(part->content_type);
    if (row.content_type.empty()) row.content_type = media_type_from_filename(part->filename);
    if (row.content_type.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "The file part's type '" + part->content_type +
                      "' is not supported; use application/pdf, text/plain, text/markdown, "
                      "text/html, text/csv, or a .docx or .xlsx file.");
    }
    row.content = std::move(part->bytes);
  } else {
    row.content_type = normalized_media_type(document.content_type);
    if (row.content_type.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "Content-Type '" + document.content_type +
                      "' is not supported; use application/pdf, text/plain, text/markdown, "
                      "text/html, text/csv, " +
                      std::string(kDocxMediaType) + ", " + std::string(kXlsxMediaType) +
                      " or multipart/form-data.");
    }
    row.content = document.body;
  }
  row.id = new_base32_id(impl.services_.random, "doc-", 20);
  row.account_id = document.account_id;
  row.pipeline = document.pipeline;
  row.principal_arn = document.principal_arn;
  row.content_sha256 = sha256_hex(row.content_type, row.content);
  row.idempotency_key = document.idempotency_key;
  row.spec_json = pipeline->spec_json;
  row.created_ms = impl.now_ms();

  // The document row first, its job second, under the id chosen here: a worker that claims the
  // job always finds the document. Where the two cannot commit together (PostgreSQL), a crash
  // in between leaves a document without a job, which the client's retry with the same
  // Idempotency-Key repairs (below); a concurrent duplicate loses on the unique key.
  row.job_id = new_uuid(impl.services_.random);
  Submission submission{row.id, row.job_id, false};
  auto submitted = impl.tables_->atomically([&]() -> Status {
    if (!row.idempotency_key.empty()) {
      auto existing =
          impl.tables_->document_by_idempotency_key(row.account_id, row.idempotency_key);
      if (!existing) return std::unexpected(existing.error());
      if (*existing) return impl.replay(row, **existing, submission);
    }
    if (auto inserted = impl.tables_->insert_document(row); !inserted) {
      if (inserted.error().code != ErrorCode::kAlreadyExists || row.idempotency_key.empty()) {
        return inserted;
      }
      auto existing =
          impl.tables_->document_by_idempotency_key(row.account_id, row.idempotency_key);
      if (!existing) return std::unexpected(existing.error());
      if (!*existing) return inserted;
      return impl.replay(row, **existing, submission);
    }
    return impl.enqueue_for(row);
  });
  if (!submitted) return std::unexpected(submitted.error());
  return submission;
}

Result<json::object> DocumentService::Impl::document_view(const DocumentRow& row) {
  auto job = services_.queue.get(row.job_id, row.account_id);
  auto stages = tables_->stages(row.id);
  if (!stages) return std::unexpected(stages.error());
  json::object view{{"documentId", row.id},
                    {"pipeline", row.pipeline},
                    {"jobId", row.job_id},
                    {"status", job ? status_name(job->status) : "queued"},
                    {"contentType", row.content_type},
                    {"createdAt", iso_time(row.created_ms)}};
  if (!row.filename.empty()) view["filename"] = row.filename;
  if (job && !job->error.empty() && is_terminal(job->status)) view["error"] = job->error;
  json::object stats{{"pages", 0}, {"characters", 0}, {"words", 0}, {"chunks", 0}};
  json::object usage;
  int64_t input = 0, output = 0;
  double cost = 0;
  for (const auto& [stage, text] : *stages) {
    json::object result = parse_object(text);
    if (stage == "parse") {
      for (const char* key : {"pages", "characters", "words"}) {
        if (auto* v = result.if_contains(key)) stats[key] = *v;
      }
    }
    if (stage == "embed") {
      if (auto* chunks = result.if_contains("chunks"); chunks && chunks->is_array()) {
        stats["chunks"] = chunks->as_array().size();
      }
    }
    if (stage == "extract" && result.contains("extraction"))
      view["extraction"] = result["extraction"];
    if (stage == "classify" && result.contains("label")) view["classification"] = result["label"];
    if (stage == "analyze" && result.contains("analysis")) view["analysis"] = result["analysis"];
    if (auto* u = result.if_contains("usage"); u && u->is_object()) {
      const json::object& entry = u->as_object();
      input += entry.at("inputTokens").to_number<int64_t>();
      output += entry.at("outputTokens").to_number<int64_t>();
      cost += entry.at("costUsd").to_number<double>();
      usage[stage] = entry;
    }
  }
  usage["total"] =
      json::object{{"inputTokens", input}, {"outputTokens", output}, {"costUsd", cost}};
  view["stats"] = std::move(stats);
  view["usage"] = std::move(usage);
  return view;
}

Result<json::object> DocumentService::Impl::job_view(const jobs::JobRecord& job) {
  json::object payload = parse_object(job.payload);
  json::object view{{"jobId", job.id},
                    {"documentId", payload.contains("documentId") ? payload["documentId"] : ""},
                    {"pipeline", payload.contains("pipeline") ? payload["pipeline"] : ""},
                    {"status", status_name(job.status)},
                    {"attempts", job.receive_count},
                    {"createdAt", iso_time(job.created_ms)},
                    {"updatedAt", iso_time(job.updated_ms)}};
  auto events = services_.queue.events_after(job.id, 0, std::chrono::milliseconds(0));
  if (!events) return std::unexpected(events.error());
  std::map<std::string, json::object> stage_state;
  for (std::string_view stage : kStages) {
    stage_state[std::string(stage)] = {{"name", stage}, {"status", "pending"}};
  }
  for (const jobs::JobEvent& event : *events) {
    if (!event.type.starts_with("stage.")) continue;
    json::object data = parse_object(event.data);
    auto* name = data.if_contains("stage");
    if (name == nullptr || !name->is_string()) continue;
    auto it = stage_state.find(std::string(name->as_string()));
    if (it == stage_state.end()) continue;
    if (event.type == "stage.started") {
      it->second["status"] = "running";
      it->second["startedAt"] = iso_time(event.time_ms);
      it->second.erase("finishedAt");
    } else {
      it->second["status"] = event.type == "stage.finished" ? "succeeded" : "failed";
      it->second["finishedAt"] = iso_time(event.time_ms);
    }
  }
  json::array stages;
  for (std::string_view stage : kStages) {
    json::object& state = stage_state[std::string(stage)];
    // A stage left running by a job that has ended did not finish.
    if (is_terminal(job.status) && state["status"] == "running") state["status"] = "failed";
    stages.push_back(std::move(state));
  }
  view["stages"] = std::move(stages);
  if (!job.error.empty() && job.status != jobs::JobStatus::kSucceeded) view["error"] = job.error;
  return view;
}

Result<std::string> DocumentService::document(std::string_view account_id, std::string_view id) {
  auto row = impl_->tables_->document(account_id, id);
  if (!row) return std::unexpected(row.error());
  auto view = impl_->document_view(*row);
  if (!view) return std::unexpected(view.error());
  return json::serialize(*view);
}

Status DocumentService::delete_document(std::string_view account_id, std::string_view id) {
  auto row = impl_->tables_->document(account_id, id);
  if (!row) return std::unexpected(row.error());
  if (auto removed = impl_->services_.vectors.remove_document(account_id, id); !removed) {
    return std::unexpected(removed.error());
  }
  return impl_->tables_->delete_document(account_id, id);
}

Result<std::string> DocumentService::job(std::string_view account_id, std::string_view id) {
  auto job = impl_->services_.queue.get(id, account_id);
  if (!job || job->queue != kQueueName) {
    return fail(ErrorCode::kNotFound, "No job " + std::string(id) + ".");
  }
  auto view = impl_->job_view(*job);
  if (!view) return std::unexpected(view.error());
  return json::serialize(*view);
}

Result<std::string> DocumentService::jobs(std::string_view account_id, int limit) {
  auto records = impl_->services_.queue.list(account_id, std::clamp(limit, 1, 100));
  if (!records) return std::unexpected(records.error());
  json::array list;
  for (const jobs::JobRecord& record : *records) {
    if (record.queue != kQueueName) continue;
    auto view = impl_->job_view(record);
    if (!view) return std::unexpected(view.error());
    list.push_back(std::move(*view));
  }
  return json::serialize(json::object{{"jobs", std::move(list)}});
}

bool carries_document_data(std::string_view event_type) {
  return event_type == "job.succeeded" || event_type == "analysis.delta";
}

Result<JobEventsRead> DocumentService::job_events(std::string_view account_id,
                                                  std::string_view job_id, int64_t after,
                                                  std::chrono::milliseconds wait) {
  auto job = impl_->services_.queue.get(job_id, account_id);
  if (!job || job->queue != kQueueName) {
    return fail(ErrorCode::kNotFound, "No job " + std::string(job_id) + ".");
  }
  if (impl_->stopping_) return fail(ErrorCode::kUnavailable, "The server is stopping.");
  auto events = impl_->services_.queue.events_after(job_id, after, wait);
  if (!events) return std::unexpected(events.error());
  JobEventsRead read;
  read.events = std::move(*events);
  json::object payload = parse_object(job->payload);
  if (auto* id = payload.if_contains("documentId"); id != nullptr && id->is_string()) {
    read.document_id = std::string(id->as_string());
  }
  for (const jobs::JobEvent& event : read.events) {
    if (event.type == "job.succeeded" || event.type == "job.failed") read.finished = true;
  }
  if (!read.finished && read.events.empty() && is_terminal(job->status)) {
    // The job ended but its final event was never written (the process stopped in between):
    // say how it ended so that no reader waits for ever.
    jobs::JobEvent event;
    event.sequence = after + 1;
    event.time_ms = job->updated_ms;
    if (job->status == jobs::JobStatus::kSucceeded) {
      event.type = "job.succeeded";
      if (auto id = impl_->tables_->document_id_for_job(job_id); id && *id) {
        if (auto document = this->document(account_id, **id)) event.data = *document;
      }
      if (event.data.empty()) event.data = "{}";
    } else {
      event.type = "job.failed";
      event.data = json::serialize(json::object{{"error", job->error}});
    }
    read.events.push_back(std::move(event));
    read.finished = true;
  }
  return read;
}

}  // namespace plinth::documents
