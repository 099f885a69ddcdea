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

// Chunks of the current call are claimed from one 64-bit word: the call's generation (24 bits),
// its chunk count (20 bits) and the next chunk index (20 bits). A worker that wakes late, after
// its call finished, fails to claim (the generation differs), so the caller never waits for
// threads that did no work: it waits only for the chunks themselves.
constexpr int kIndexBits = 20;
constexpr uint64_t kIndexMask = (1ULL << kIndexBits) - 1, kGenerationMask = (1ULL << 24) - 1;

uint64_t pack_claim(uint32_t generation, int64_t chunks, int64_t index) {
  return (static_cast<uint64_t>(generation) & kGenerationMask) << (2 * kIndexBits) |
         static_cast<uint64_t>(chunks) << kIndexBits | static_cast<uint64_t>(index);
}

}  // namespace

struct ThreadPool::State {
  std::vector<std::thread> threads;
  // Set by the caller before a call is published; stable while any of its chunks is unfinished.
  const std::function<void(int64_t, int64_t)>* fn = nullptr;
  int64_t n = 0, chunk = 0;
  std::atomic<bool> stop{false};
  alignas(64) std::atomic<uint32_t> generation{0};
  alignas(64) std::atomic<int> worker_sleepers{0};
  alignas(64) std::atomic<uint64_t> claim{0};
  alignas(64) std::atomic<int64_t> done{0};  // chunks finished in the current call
  alignas(64) std::atomic<int> caller_sleeps{0};

  // Runs chunks of call `gen` until none are left or a newer call replaced it.
  void run_chunks(uint32_t gen) {
    uint64_t current = claim.load(std::memory_order_acquire);
    for (;;) {
      if ((current >> (2 * kIndexBits)) != (gen & kGenerationMask)) return;
      int64_t chunks = static_cast<int64_t>((current >> kIndexBits) & kIndexMask);
      int64_t index = static_cast<int64_t>(current & kIndexMask);
      if (index >= chunks) return;
      if (!claim.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                       std::memory_order_acquire))
        continue;  // `current` was reloaded
      int64_t begin = index * chunk, end = std::min(n, begin + chunk);
      (*fn)(begin, end);
      if (done.fetch_add(1, std::memory_order_seq_cst) + 1 == chunks &&
          caller_sleeps.load(std::memory_order_seq_cst) > 0)
        done.notify_one();
      current = claim.load(std::memory_order_acquire);
    }
  }

  void worker_loop() {
    uint32_t seen = 0;
    for (;;) {
      seen = wait_for_change(generation, seen, worker_sleepers);
      if (stop.load(std::memory_order_acquire)) return;
      run_chunks(seen);
    }
  }

  void publish(uint32_t next_generation) {
    generation.store(next_generation, std::memory_order_seq_cst);
    if (worker_sleepers.load(std::memory_order_seq_cst) > 0) generation.notify_all();
  }
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>()) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 1; i < threads; ++i) state_->threads.emplace_back([this] { state_->worker_loop(); });
}

ThreadPool::~ThreadPool() {
  state_->stop.store(true, std::memory_order_release);
  state_->publish(state_->generation.load() + 1);
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
  // More chunks than threads so that others cover for a thread the OS descheduled.
  const int64_t wanted_chunks = std::min<int64_t>({n, participants * 4, int64_t{kIndexMask}});
  s.fn = &fn;
  s.n = n;
  s.chunk = (n + wanted_chunks - 1) / wanted_chunks;
  const int64_t chunks = (n + s.chunk - 1) / s.chunk;
  const uint32_t gen = s.generation.load(std::memory_order_relaxed) + 1;
  s.done.store(0, std::memory_order_relaxed);
  s.claim.store(pack_claim(gen, chunks, 0), std::memory_order_release);
  s.publish(gen);
  s.run_chunks(gen);
  int64_t finished = s.done.load(std::memory_order_acquire);
  while (finished != chunks) finished = wait_for_change(s.done, finished, s.caller_sleeps);
}

}  // namespace plinth::engine
