// BatchScheduler: continuous batching — one thread steps every active generation together.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "model/forward.h"
#include "model/generation.h"

namespace plinth::engine {

class BatchScheduler {
 public:
  // compute_mutex guards `forward` (and the pool it drives) against other users such as embed().
  BatchScheduler(const ModelConfig& config, ForwardPass& forward, std::mutex& compute_mutex,
                 int32_t max_sequences);
  ~BatchScheduler();  // finishes waiting and active generations as cancelled, joins the thread
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Submits the generation and blocks until it has finished.
  void run(Generation& generation);

 private:
  void loop();
  void admit();  // mutex_ held
  void step(bool exact);
  void retire_finished();

  const ModelConfig& config_;
  ForwardPass& forward_;
  std::mutex& compute_mutex_;
  const size_t max_sequences_;

  std::mutex mutex_;
  std::condition_variable work_cv_, done_cv_;
  std::deque<Generation*> waiting_;  // guarded by mutex_
  std::vector<Generation*> done_;    // guarded by mutex_: finished, not yet collected by run()
  bool stopping_ = false;            // guarded by mutex_

  // Scheduler thread only.
  std::vector<Generation*> active_;
  std::vector<Generation*> group_;
  std::vector<SequenceChunk> chunks_;
  std::vector<float> logits_;
  std::thread thread_;
};

}  // namespace plinth::engine
