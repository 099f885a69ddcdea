// Replica figures for the queue: wake-up latency of idle workers and claims/s of a backlog.
#include "queue_replicas.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace plinth::bench {
namespace {

using Steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Steady::now().time_since_epoch())
      .count();
}

}  // namespace

Result<ReplicaFigures> measure_replicas(const QueueOpener& open, int replicas, int wake_jobs,
                                        int drain_jobs) {
  std::vector<std::unique_ptr<jobs::Queue>> queues;
  for (int i = 0; i <= replicas; ++i) {  // the last one is the producer
    auto queue = open();
    if (!queue) return std::unexpected(queue.error());
    queues.push_back(std::move(*queue));
  }
  jobs::Queue& producer = *queues.back();
  ReplicaFigures figures;
  std::mutex mutex;
  std::atomic<int> claimed = 0;
  std::atomic<bool> stop = false;
  std::atomic<int> errors = 0;
  // Phase 1: each payload carries the time its enqueue returned; workers wait in claim_wait.
  auto waker = [&](jobs::Queue& queue) {
    while (!stop) {
      auto lease = queue.claim_wait("wake", 200ms);
      if (!lease) {
        ++errors;
        return;
      }
      if (!*lease) continue;
      int64_t got = now_ns();
      int64_t sent = std::stoll((*lease)->job.payload);
      {
        std::lock_guard lock(mutex);
        figures.wake_us.push_back(static_cast<double>(got - sent) / 1000.0);
      }
      ++claimed;
      (void)queue.complete(**lease, "{}");
    }
  };
  {
    std::vector<std::thread> workers;
    for (int i = 0; i < replicas; ++i) workers.emplace_back(waker, std::ref(*queues[i]));
    std::this_thread::sleep_for(300ms);  // every worker waiting
    for (int i = 0; i < wake_jobs; ++i) {
      // The payload is the time just before the enqueue: its own commit is counted too.
      auto id = producer.enqueue({"wake", "111111111111", std::to_string(now_ns())});
      if (!id) return std::unexpected(id.error());
      auto deadline = Steady::now() + 2s;
      while (claimed.load() <= i && Steady::now() < deadline) std::this_thread::sleep_for(100us);
      std::this_thread::sleep_for(2ms);  // idle again before the next
    }
    stop = true;
    for (auto& worker : workers) worker.join();
  }
  if (errors > 0) return fail(ErrorCode::kInternal, "a worker's claim failed");
  // Phase 2: a backlog drained by every replica's worker at once.
  for (int i = 0; i < drain_jobs; ++i) {
    auto id = producer.enqueue({"drain", "111111111111", "{}"});
    if (!id) return std::unexpected(id.error());
  }
  std::atomic<int> drained = 0;
  auto drainer = [&](jobs::Queue& queue) {
    while (true) {
      auto lease = queue.claim("drain");
      if (!lease) {
        ++errors;
        return;
      }
      if (!*lease) return;
      ++drained;
    }
  };
  auto start = Steady::now();
  {
    std::vector<std::thread> workers;
    for (int i = 0; i < replicas; ++i) workers.emplace_back(drainer, std::ref(*queues[i]));
    for (auto& worker : workers) worker.join();
  }
  double seconds = std::chrono::duration<double>(Steady::now() - start).count();
  if (errors > 0) return fail(ErrorCode::kInternal, "a drainer's claim failed");
  figures.claimed = drained.load();
  figures.claims_per_second = seconds > 0 ? drained.load() / seconds : 0;
  return figures;
}

}  // namespace plinth::bench
