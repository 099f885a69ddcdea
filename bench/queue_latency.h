// Enqueue → claim latency of the durable job queue, one job at a time with every commit durable
// (tests/jobs/jobs_bench and `plinth bench documents`).
#pragma once

#include <vector>

#include "plinth/core/result.h"
#include "plinth/jobs/queue.h"

namespace plinth::bench {

struct QueueLatency {
  std::vector<double> enqueue_us;
  std::vector<double> claim_us;
  std::vector<double> total_us;  // enqueue start → claim returned
};

// `jobs` rounds of enqueue (timed), claim (timed), complete (untimed) on queue `queue_name`.
Result<QueueLatency> measure_queue_latency(jobs::Queue& queue, int jobs,
                                           std::string_view queue_name = "bench");

}  // namespace plinth::bench
