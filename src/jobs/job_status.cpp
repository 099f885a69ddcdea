// Job status names, queue option checks, the failure and retry rule both queues share, and the
// Queue interface's default members.
#include <algorithm>

#include "plinth/jobs/queue.h"

namespace plinth::jobs {

std::string_view to_string(JobStatus status) {
  switch (status) {
    case JobStatus::kQueued:
      return "queued";
    case JobStatus::kRunning:
      return "running";
    case JobStatus::kSucceeded:
      return "succeeded";
    case JobStatus::kFailed:
      return "failed";
    case JobStatus::kDead:
      return "dead";
  }
  return "queued";
}

Result<JobStatus> parse_job_status(std::string_view text) {
  for (JobStatus status : {JobStatus::kQueued, JobStatus::kRunning, JobStatus::kSucceeded,
                           JobStatus::kFailed, JobStatus::kDead}) {
    if (to_string(status) == text) return status;
  }
  return fail(ErrorCode::kInvalidArgument,
              "unknown job status '" + std::string(text) +
                  "' (expected queued, running, succeeded, failed or dead)");
}

Status validate(const QueueOptions& options) {
  if (options.visibility_timeout.count() <= 0 || options.max_receive_count < 1 ||
      options.retry_backoff.count() < 0 || options.max_retry_backoff < options.retry_backoff) {
    return fail(ErrorCode::kInvalidArgument,
                "queue options need visibility_timeout > 0, max_receive_count >= 1 and "
                "0 <= retry_backoff <= max_retry_backoff");
  }
  return ok();
}

JobStatus status_after_failure(const QueueOptions& options, int receive_count, bool retryable) {
  if (!retryable) return JobStatus::kFailed;
  return receive_count >= options.max_receive_count ? JobStatus::kDead : JobStatus::kQueued;
}

std::chrono::milliseconds retry_delay(const QueueOptions& options, int receive_count) {
  std::chrono::milliseconds delay = options.retry_backoff;
  for (int i = 1; i < receive_count && delay < options.max_retry_backoff; ++i) delay *= 2;
  return std::min(delay, options.max_retry_backoff);
}

Result<std::vector<JobRecord>> Queue::list_matching(const JobFilter&) {
  return plinth::fail(ErrorCode::kUnavailable, "this queue cannot list by queue and status");
}

}  // namespace plinth::jobs
