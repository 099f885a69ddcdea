// The pipeline worker: claims jobs, keeps their leases alive, runs each stage not yet stored,
// records usage in the ledger before storing a stage, and ends the job with its final event.
#include "budgeted_provider.h"
#include "plinth/core/log.h"
#include "service_impl.h"

namespace plinth::documents {
namespace {

namespace json = boost::json;

// Extends a lease every third of the visibility timeout while a job runs (its own thread).
class LeaseKeeper {
 public:
  LeaseKeeper(jobs::Queue& queue, jobs::JobLease& lease, std::chrono::milliseconds visibility)
      : queue_(queue),
        lease_(lease),
        interval_(
            std::max<std::chrono::milliseconds>(visibility / 3, std::chrono::milliseconds(50))) {
    thread_ = std::thread([this] { loop(); });
  }
  ~LeaseKeeper() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  bool lost() const { return lost_.load(); }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, interval_, [this] { return done_; })) {
      if (auto extended = queue_.extend(lease_); !extended) {
        log::warn("job {}: lease lost ({})", lease_.job.id, extended.error().message);
        lost_ = true;
        return;
      }
    }
  }

  jobs::Queue& queue_;
  jobs::JobLease& lease_;  // extended here only; the owner reads it after this keeper ends
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;  // guarded by mutex_
  std::atomic<bool> lost_{false};
  std::thread thread_;
};

// Input problems fail for good; everything else (a model busy, the disk) is worth a retry.
bool retryable(const Error& error) {
  switch (error.code) {
    case ErrorCode::kUnavailable:
    case ErrorCode::kThrottled:
    case ErrorCode::kTimeout:
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      return true;
    default:
      return false;
  }
}

}  // namespace

Result<bool> DocumentService::Impl::run_one_job() {
  auto lease = services_.queue.claim(kQueueName);
  if (!lease) return std::unexpected(lease.error());
  if (!*lease) return false;
  run_job(std::move(**lease));
  return true;
}

void DocumentService::Impl::run_job(jobs::JobLease lease) {
  jobs::Queue& queue = services_.queue;
  const std::string job_id = lease.job.id;
  auto emit = [&](std::string_view type, std::string_view data) {
    if (auto appended = queue.append_event(job_id, type, data); !appended) {
      log::warn("job {}: cannot append event {}: {}", job_id, type, appended.error().message);
    }
  };
  boost::system::error_code ec;
  json::value payload = json::parse(lease.job.payload, ec);
  const json::value* id =
      (!ec && payload.is_object()) ? payload.as_object().if_contains("documentId") : nullptr;
  if (id == nullptr || !id->is_string()) {
    (void)queue.fail(lease, "the job names no document", false);
    emit("job.failed", R"({"error":"the job names no document"})");
    return;
  }
  auto document = tables_->document("", id->as_string(), true);
  if (!document) {
    // Deleted while queued: nothing left to do.
    (void)queue.complete(lease, "document deleted");
    emit("job.failed", R"({"error":"the document was deleted"})");
    return;
  }
  auto spec = load_pipeline_spec(document->spec_json);
  if (!spec) {
    (void)queue.fail(lease, "the stored pipeline is unreadable: " + spec.error().message, false);
    return;
  }
  auto done = tables_->stages(document->id);
  if (!done) {
    (void)queue.fail(lease, done.error().message, true);
    return;
  }
  // Who the stages' model calls are charged to.
  ledger::BudgetSubject subject{document->account_id, document->principal_arn,
                                "pipeline/" + document->pipeline};
  std::optional<Error> failure;
  std::string failed_stage;
  bool budget_refused = false;
  {
    LeaseKeeper keeper(queue, lease, options_.visibility_timeout);
    for (std::string_view stage : kStages) {
      if (done->contains(std::string(stage))) continue;  // stored by an earlier delivery
      if (stopping_ || keeper.lost()) return;  // the lease expires and another worker resumes
      if (!tables_->document(document->account_id, document->id)) {
        // Deleted while running: stop before indexing chunks nobody can delete any more.
        failure = Error(ErrorCode::kNotFound, "the document was deleted");
        failed_stage = std::string(stage);
        break;
      }
      json::object started{{"stage", stage}};
      emit("stage.started", json::serialize(started));
      auto started_at = services_.clock.steady_now();
      // Every model call of the stage reserves its worst case first; what the calls cost is
      // booked against the budgets when `provider` settles (at the latest when it goes away).
      BudgetedProvider provider(services_.provider, services_.catalog, services_.budgets, subject);
      // Model calls stop when the service stops; the interrupted stage is then simply not stored.
      StageContext context{*document, *spec, job_id, *done, &stopping_, emit, provider};
      auto output = run_stage(stage, context);
      if (stopping_) return;
      if (!output) {
        failure = output.error();
        failed_stage = std::string(stage);
        // A budget's refusal is final for this job: retrying cannot make the money appear.
        budget_refused = provider.refused();
        // Model calls that succeeded before the stage failed were paid for: they go in the
        // ledger too, else a restart (budgets are rebuilt from the ledger) or a retry forgets
        // them.
        if (BudgetedProvider::Spend spend = provider.unsettled();
            services_.ledger != nullptr && (spend.input_tokens > 0 || spend.output_tokens > 0)) {
          StageUsage usage;
          usage.model = usage.model_requested = spend.model;
          usage.input_tokens = spend.input_tokens;
          usage.output_tokens = spend.output_tokens;
          usage.cost_micro_usd = spend.micro_usd;
          usage.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 services_.clock.steady_now() - started_at)
                                 .count();
          provider.settle();
          record_usage(*document, job_id, stage, usage, "failed", lease.job.receive_count);
          if (auto flushed = services_.ledger->flush(); !flushed) {
            log::warn("job {}: cannot record the failed stage's cost: {}", job_id,
                      flushed.error().message);
          }
        }
        emit("stage.failed",
             json::serialize(json::object{{"stage", stage}, {"error", output.error().message}}));
        break;
      }
      if (output->usage && services_.ledger != nullptr) {
        provider.settle();  // books exactly the record's cost_micro_usd
        record_usage(*document, job_id, stage, *output->usage, "200", lease.job.receive_count);
        // The charge is durable before the stage is: a redelivery never charges twice.
        if (auto flushed = services_.ledger->flush(); !flushed) {
          failure = flushed.error();
          failed_stage = std::string(stage);
          break;
        }
      }
      if (output->usage) output->result["usage"] = usage_json(*output->usage);
      std::string stored = json::serialize(output->result);
      if (auto put = tables_->put_stage(document->id, stage, stored, now_ms()); !put) {
        failure = put.error();
        failed_stage = std::string(stage);
        break;
      }
      (*done)[std::string(stage)] = std::move(stored);
      int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       services_.clock.steady_now() - started_at)
                       .count();
      emit("stage.finished", json::serialize(json::object{{"stage", stage}, {"durationMs", ms}}));
    }
  }
  if (failure) {
    std::string reason = failed_stage + ": " + failure->message;
    bool retry = !budget_refused && retryable(*failure) &&
                 lease.job.receive_count < options_.max_receive_count;
    log::warn("job {} failed{}: {}", job_id, retry ? " (will retry)" : "", reason);
    if (auto failed = queue.fail(lease, reason, retry); !failed) {
      log::warn("job {}: cannot record the failure: {}", job_id, failed.error().message);
      return;
    }
    if (!retry) emit("job.failed", json::serialize(json::object{{"error", reason}}));
    return;
  }
  if (auto completed = queue.complete(lease, "ok"); !completed) {
    log::warn("job {}: cannot complete: {}", job_id, completed.error().message);
    return;
  }
  auto view = document_view(*document);
  emit("job.succeeded", view ? json::serialize(*view) : "{}");
}

void DocumentService::Impl::record_usage(const DocumentRow& document, const std::string& job_id,
                                         std::string_view stage, const StageUsage& usage,
                                         std::string status, int delivery) {
  ledger::UsageRecord record;
  record.time_ms = now_ms();
  record.account_id = document.account_id;
  record.principal_arn = document.principal_arn;
  record.application_tag = "pipeline/" + document.pipeline;
  record.operation = "Document" + std::string(1, static_cast<char>(std::toupper(stage[0]))) +
                     std::string(stage.substr(1));
  record.model_requested = usage.model_requested;
  record.model_used = usage.model;
  if (const catalog::ModelEntry* model = services_.catalog.find(usage.model)) {
    record.provider = std::string(model->provider_name());
  }
  record.input_tokens = usage.input_tokens;
  record.output_tokens = usage.output_tokens;
  record.latency_ms = usage.latency_ms;
  record.cost_micro_usd = usage.cost_micro_usd;
  record.status = std::move(status);
  // One row per stage: a redelivery that finds the row does not charge twice. A failed stage
  // may run again, so each delivery's failure is its own row.
  record.request_id = "job:" + job_id + ":" + std::string(stage);
  if (record.status != "200") record.request_id += ":failed:" + std::to_string(delivery);
  if (services_.metrics != nullptr) services_.metrics->observe(record);
  services_.ledger->record(std::move(record));
}

Result<StageOutput> DocumentService::Impl::run_stage(std::string_view stage,
                                                     const StageContext& context) {
  if (stage == "parse") return parse_stage(context);
  if (stage == "extract") return extract_stage(context);
  if (stage == "classify") return classify_stage(context);
  if (stage == "embed") return embed_stage(context);
  if (stage == "index") return index_stage(context);
  return analyze_stage(context);
}

void DocumentService::Impl::start_workers() {
  std::lock_guard lock(workers_mutex_);
  if (!workers_.empty()) return;
  stopping_ = false;
  for (int i = 0; i < options_.workers; ++i) {
    workers_.emplace_back([this, i] {
      while (!stopping_) {
        auto lease = services_.queue.claim_wait(kQueueName, options_.claim_wait);
        if (!lease) {
          log::warn("documents worker {}: {}", i, lease.error().message);
          std::this_thread::sleep_for(options_.claim_wait);
          continue;
        }
        if (!*lease) continue;
        try {
          run_job(std::move(**lease));
        } catch (const std::exception& e) {
          // A bug in a stage must not take the worker (or the server) down; the lease expires
          // and the job is retried up to max_receive_count.
          log::error("documents worker {}: job failed with an exception: {}", i, e.what());
        }
      }
    });
  }
}

void DocumentService::Impl::stop_workers() {
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(workers_mutex_);
    stopping_ = true;
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

}  // namespace plinth::documents
