// The queue across replicas: idle workers on R replicas woken by an enqueue on another one
// (enqueue → claim latency), and R replicas draining a backlog (claims per second).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/jobs/queue.h"

namespace plinth::bench {

// Opens one more queue on the shared storage: a replica (its own connection or pool).
using QueueOpener = std::function<Result<std::unique_ptr<jobs::Queue>>()>;

struct ReplicaFigures {
  std::vector<double> wake_us;  // enqueue returned on the producer → claim returned on a worker
  double claims_per_second = 0;
  int claimed = 0;
};

// `replicas` queues with one worker each. First `wake_jobs` jobs enqueued one at a time (every
// worker idle in claim_wait) from one more replica; then a backlog of `drain_jobs` drained.
Result<ReplicaFigures> measure_replicas(const QueueOpener& open, int replicas, int wake_jobs,
                                        int drain_jobs);

}  // namespace plinth::bench
