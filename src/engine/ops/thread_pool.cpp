// ThreadPool: spinning workers released by a generation counter, futex sleep when idle.
#include "ops/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace plinth::engine {
namespace {

// A decode step issues hundreds of parallel_for calls a few microseconds apart: waiters spin
// briefly (no syscall on the common hand-off), then yield for a while (so a thread that is
// descheduled on an oversubscribed machine gets the core back quickly), then sleep on a futex.
constexpr int kSpinRounds = 2048;
constexpr int kYieldRounds = 256;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins, then sleeps on `value` until it differs from `old`. `sleepers` lets the writer skip the
// wake-up syscall when nobody sleeps (seq_cst on both sides: either the sleeper sees the new
// value or the writer sees the sleeper).
template <typename T>
T wait_for_change(std::atomic<T>& value, T old, std::atomic<int>& sleepers) {
  for (int i = 0; i < kSpinRounds + kYieldRounds; ++i) {
    T now = value.load(std::memory_order_acquire);
    if (now != old) return now;
    if (i < kSpinRounds) {
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  for (;;) {
    sleepers.fetch_add(1, std::memory_order_seq_cst);
    T now = value.load(std::memory_order_seq_cst);
    if (now == old) value.wait(old, std::memory_order_seq_cst);
    sleepers.fetch_sub(1, std::memory_order_seq_cst);
    now = value.load(std::memory_order_acquire);
    if (now != old) return now;
  }
}

}  // namespace

struct ThreadPool::State {
  std::vector<std::thread> threads;
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, chunk = 0, chunks = 0;
  bool stop = false;
  alignas(64) std::atomic<uint32_t> generation{0};
  alignas(64) std::atomic<int> worker_sleepers{0};
  alignas(64) std::atomic<int64_t> next_chunk{0};
  alignas(64) std::atomic<int> running{0};  // workers still inside the current call
  alignas(64) std::atomic<int> caller_sleeps{0};

  // Claims chunks until none are left. Chunks are contiguous ranges; more chunks than threads
  // lets a thread that was descheduled (shared cores) be covered by the others.
  void run_chunks() {
    for (;;) {
      int64_t c = next_chunk.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      int64_t begin = c * chunk, end = std::min(n, begin + chunk);
      (*fn)(begin, end);
    }
  }

  void worker_loop() {
    uint32_t seen = 0;
    for (;;) {
      seen = wait_for_change(generation, seen, worker_sleepers);
      if (stop) return;
      run_chunks();
      if (running.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
          caller_sleeps.load(std::memory_order_seq_cst) > 0)
        running.notify_one();
    }
  }

  void publish() {
    generation.fetch_add(1, std::memory_order_seq_cst);
    if (worker_sleepers.load(std::memory_order_seq_cst) > 0) generation.notify_all();
  }
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>()) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) state_->threads.emplace_back([this] { state_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  state_->stop = true;  // published by the generation bump below
  state_->publish();
  for (auto& t : state_->threads) t.join();
}

int ThreadPool::size() const { return static_cast<int>(state_->threads.size()) + 1; }

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  State& s = *state_;
  const int participants = size();
  if (n <= 0) return;
  if (participants == 1 || n == 1) {
    fn(0, n);
    return;
  }
  const int64_t wanted_chunks = std::min<int64_t>(n, participants * 4);
  s.fn = &fn;
  s.n = n;
  s.chunk = (n + wanted_chunks - 1) / wanted_chunks;
  s.chunks = (n + s.chunk - 1) / s.chunk;
  s.next_chunk.store(0, std::memory_order_relaxed);
  s.running.store(participants - 1, std::memory_order_relaxed);
  s.publish();  // release: the fields above are visible to every worker that sees the new value
  s.run_chunks();
  // Wait for the workers: they hold no chunk after next_chunk ran out, so this is short.
  int left = s.running.load(std::memory_order_acquire);
  while (left != 0) left = wait_for_change(s.running, left, s.caller_sleeps);
}

}  // namespace plinth::engine
