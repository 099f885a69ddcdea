// The durable job queue: SQS semantics (at-least-once delivery, visibility timeout, retries with
// backoff, a dead-letter state after maxReceiveCount) plus each job's ordered event log, which
// the documents API streams as Server-Sent Events and resumes from Last-Event-ID.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/clock.h"
#include "plinth/core/result.h"

namespace plinth::store {
class Database;
}
namespace plinth::pg {
class Pool;
}

namespace plinth::jobs {

enum class JobStatus { kQueued, kRunning, kSucceeded, kFailed, kDead };
std::string_view to_string(JobStatus status);  // "queued" "running" "succeeded" "failed" "dead"
// The inverse of to_string; kInvalidArgument for any other text.
Result<JobStatus> parse_job_status(std::string_view text);

struct QueueOptions {
  std::chrono::milliseconds visibility_timeout{30'000};
  int max_receive_count = 5;                            // then the job is dead-lettered
  std::chrono::milliseconds retry_backoff{1'000};       // doubled per receive …
  std::chrono::milliseconds max_retry_backoff{60'000};  // … up to this
};

// kInvalidArgument unless visibility_timeout > 0, max_receive_count >= 1 and
// 0 <= retry_backoff <= max_retry_backoff.
Status validate(const QueueOptions& options);

// Where a job that failed on its receive_count-th receive goes: kFailed when not retryable,
// kDead once it has had max_receive_count receives, else kQueued again after retry_delay().
JobStatus status_after_failure(const QueueOptions& options, int receive_count, bool retryable);
// retry_backoff doubled per earlier receive, at most max_retry_backoff.
std::chrono::milliseconds retry_delay(const QueueOptions& options, int receive_count);

struct NewJob {
  std::string queue;       // "documents"
  std::string account_id;  // the owner; reads are scoped to it
  std::string payload;     // opaque to the queue (JSON text by convention)
  // The job's id when the caller chose it up front (a uuid, so that it can write it elsewhere
  // before enqueueing); "" to have one made. kAlreadyExists when a job has it already.
  std::string id = {};
};

struct JobRecord {
  std::string id;
  std::string queue;
  std::string account_id;
  std::string payload;
  JobStatus status = JobStatus::kQueued;
  int receive_count = 0;
  std::string error;       // last failure reason (failed, dead, or a retried attempt)
  std::string result;      // complete()'s result text
  int64_t created_ms = 0;  // Unix milliseconds
  int64_t updated_ms = 0;
};

// A claimed job. The receipt changes on every receive, so a worker whose visibility expired
// (and whose job another worker now holds) gets kConflict from extend/complete/fail (core has no
// kFailedPrecondition; kConflict is its "state conflict" code).
struct JobLease {
  JobRecord job;
  std::string receipt;
  int64_t visible_until_ms = 0;
};

struct JobEvent {
  int64_t sequence = 0;  // 1, 2, 3 … per job: the SSE id
  std::string type;      // "stage.started", "stage.finished", "analysis.delta", "job.succeeded" …
  std::string data;      // JSON text
  int64_t time_ms = 0;
};

// What list_matching() selects; empty strings match anything.
struct JobFilter {
  std::string account_id;
  std::string queue;
  std::optional<JobStatus> status;
  int limit = 100;
};

// What this process's queue did since it opened: per replica, for /metrics.
struct QueueStats {
  uint64_t enqueued = 0;
  uint64_t claimed = 0;
  uint64_t dead_lettered = 0;
  uint64_t notifications = 0;  // wake-ups received from any replica (PostgreSQL LISTEN)
};

class Queue {
 public:
  virtual ~Queue() = default;

  // Counters of this queue object; the default (a queue that keeps none) is all zero.
  virtual QueueStats stats() const { return {}; }

  // Durable when it returns. Runs as one statement with no transaction of its own, so a caller
  // that holds a store::Transaction on the same Database enqueues atomically with its own writes.
  virtual Result<std::string> enqueue(const NewJob& job) = 0;
  // The next visible job of `queue` (queued and due, or running with its visibility expired),
  // marked running for visibility_timeout; nullopt when none. A job whose receive count would
  // pass max_receive_count is dead-lettered instead of returned.
  virtual Result<std::optional<JobLease>> claim(std::string_view queue) = 0;
  // Blocks up to `wait` for a job (woken by enqueue/redrive in this process; polls otherwise).
  virtual Result<std::optional<JobLease>> claim_wait(std::string_view queue,
                                                     std::chrono::milliseconds wait) = 0;
  // Heartbeat: visible_until = now + visibility_timeout.
  virtual Status extend(JobLease& lease) = 0;
  virtual Status complete(const JobLease& lease, std::string_view result) = 0;
  // retryable: back to queued after the backoff (or dead after max_receive_count receives);
  // otherwise failed for good.
  virtual Status fail(const JobLease& lease, std::string_view reason, bool retryable) = 0;

  // kNotFound unless the job exists and belongs to account_id (empty account_id: any).
  virtual Result<JobRecord> get(std::string_view job_id, std::string_view account_id) = 0;
  // Newest first, at most `limit` (clamped to 1 … 1000).
  virtual Result<std::vector<JobRecord>> list(std::string_view account_id, int limit) = 0;
  // Also by queue and status (the CLI's listing); newest first. The default reports kUnavailable.
  virtual Result<std::vector<JobRecord>> list_matching(const JobFilter& filter);
  // Oldest first. Empty queue: dead jobs of every queue.
  virtual Result<std::vector<JobRecord>> list_dead(std::string_view queue) = 0;
  // Dead → queued (due now) with receive_count 0; returns how many moved (0 when job_id is not a
  // dead job of `queue`). Empty job_id: every dead job; empty queue: any queue.
  virtual Result<int> redrive(std::string_view queue, std::string_view job_id) = 0;
  // Jobs queued or running in `queue` (the queue-depth metric).
  virtual Result<int64_t> depth(std::string_view queue) = 0;

  // Appends the next event of a job; durable when it returns. Returns its sequence number;
  // kNotFound for an unknown job.
  virtual Result<int64_t> append_event(std::string_view job_id, std::string_view type,
                                       std::string_view data) = 0;
  // Events with sequence > after, oldest first, waiting up to `wait` for at least one when there
  // are none yet (woken by append_event in this process; polls otherwise). kNotFound for an
  // unknown job. At most 1000 events per call: ask again from the last sequence for more.
  virtual Result<std::vector<JobEvent>> events_after(std::string_view job_id, int64_t after,
                                                     std::chrono::milliseconds wait) = 0;
};

// A queue in tables jobs / job_events of `db` (migrated on open); db and clock must outlive it.
Result<std::unique_ptr<Queue>> open_sqlite_queue(store::Database& db, const Clock& clock,
                                                 QueueOptions options = {});

// The same queue in PostgreSQL (libpq URL), shared by every replica on that database: claims
// take rows with FOR UPDATE SKIP LOCKED and waits wake on LISTEN/NOTIFY from any replica.
// Unlike the SQLite queue, enqueue runs in its own transaction on a pooled connection.
Result<std::unique_ptr<Queue>> open_postgres_queue(std::shared_ptr<pg::Pool> pool,
                                                   const Clock& clock, QueueOptions options = {});

}  // namespace plinth::jobs
