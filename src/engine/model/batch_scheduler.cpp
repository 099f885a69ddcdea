// BatchScheduler: admits new generations between steps and decodes all of them in one pass.
#include "model/batch_scheduler.h"

#include <algorithm>

namespace plinth::engine {

BatchScheduler::BatchScheduler(const ModelConfig& config, ForwardPass& forward,
                               std::mutex& compute_mutex, int32_t max_sequences)
    : config_(config),
      forward_(forward),
      compute_mutex_(compute_mutex),
      max_sequences_(static_cast<size_t>(std::max(max_sequences, 1))) {
  thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void BatchScheduler::run(Generation& generation) {
  if (generation.finished()) return;
  std::unique_lock lock(mutex_);
  waiting_.push_back(&generation);
  work_cv_.notify_one();
  done_cv_.wait(lock,
                [&] { return std::find(done_.begin(), done_.end(), &generation) != done_.end(); });
  done_.erase(std::find(done_.begin(), done_.end(), &generation));
}

void BatchScheduler::loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      work_cv_.wait(lock, [&] { return stopping_ || !waiting_.empty() || !active_.empty(); });
      if (stopping_) {
        // Nobody may be left waiting forever: whatever is queued or running ends cancelled.
        for (Generation* g : waiting_) active_.push_back(g);
        waiting_.clear();
        for (Generation* g : active_) {
          g->cancel();
          done_.push_back(g);
        }
        active_.clear();
        done_cv_.notify_all();
        return;
      }
      admit();
    }
    for (Generation* g : active_) g->check_cancelled();
    retire_finished();
    // Exact and fast sequences use different matmul paths and cache types: separate passes.
    step(false);
    step(true);
    retire_finished();
  }
}

void BatchScheduler::admit() {
  // New requests join between steps, in arrival order. One whose prompt shares a cacheable prefix
  // with a prompt about to be computed (admitted now, not yet run) waits one step: that prompt's
  // pass stores the prefix, and this one then computes only the rest. Requests that arrive
  // together with a shared system prompt or instructions compute it once, not once each.
  // One held back keeps its place: it counts against max_sequences, so that a later request
  // cannot take the slot it gets on the next step.
  size_t held = 0;
  for (auto it = waiting_.begin();
       it != waiting_.end() && active_.size() + held < max_sequences_;) {
    Generation* g = *it;
    g->take_cached_prefix();  // a prompt computed since it arrived may cover more of it now
    const bool wait = std::any_of(active_.begin(), active_.end(), [&](const Generation* a) {
      return a->prompt_pending() && g->cacheable_shared_prefix(*a) > g->cached_prompt_tokens();
    });
    if (wait) {
      ++held;
      ++it;
      continue;
    }
    active_.push_back(g);
    it = waiting_.erase(it);
  }
}

void BatchScheduler::step(bool exact) {
  group_.clear();
  chunks_.clear();
  for (Generation* g : active_) {
    if (g->finished() || g->exact() != exact) continue;
    group_.push_back(g);
    chunks_.push_back({&g->cache(), g->next_input()});
  }
  if (group_.empty()) return;
  const size_t n_vocab = static_cast<size_t>(config_.n_vocab);
  if (logits_.size() < group_.size() * n_vocab) logits_.resize(group_.size() * n_vocab);
  {
    std::lock_guard lock(compute_mutex_);
    forward_.decode(chunks_, exact, logits_.data());
  }
  for (size_t i = 0; i < group_.size(); ++i) {
    try {
      group_[i]->consume(std::span<float>(logits_.data() + i * n_vocab, n_vocab));
    } catch (...) {
      // A throwing caller callback (on_text, constraint) ends only its own generation.
      group_[i]->cancel();
    }
  }
}

void BatchScheduler::retire_finished() {
  auto finished = std::stable_partition(active_.begin(), active_.end(),
                                        [](Generation* g) { return !g->finished(); });
  if (finished == active_.end()) return;
  {
    std::lock_guard lock(mutex_);
    done_.insert(done_.end(), finished, active_.end());
  }
  active_.erase(finished, active_.end());
  done_cv_.notify_all();
}

}  // namespace plinth::engine
