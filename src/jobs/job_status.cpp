// Job status names and the Queue interface's default members.
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

Result<std::vector<JobRecord>> Queue::list_matching(const JobFilter&) {
  return plinth::fail(ErrorCode::kUnavailable, "this queue cannot list by queue and status");
}

}  // namespace plinth::jobs
