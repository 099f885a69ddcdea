// ThreadPool: simple placeholder implementation (one task at a time, condition variables).
#include "ops/thread_pool.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace plinth::engine {

struct ThreadPool::State {
  std::mutex mutex;
  std::condition_variable work_cv, done_cv;
  std::vector<std::thread> threads;
  const std::function<void(int64_t, int64_t)>* fn = nullptr;  // guarded by mutex
  int64_t n = 0, chunk = 0;
  int64_t generation = 0;
  int pending = 0;
  bool stop = false;
};

ThreadPool::ThreadPool(int threads) : state_(std::make_unique<State>()) {
  if (threads <= 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < threads; ++i) {
    state_->threads.emplace_back([this, i] {
      State& s = *state_;
      int64_t seen = 0;
      for (;;) {
        std::unique_lock lock(s.mutex);
        s.work_cv.wait(lock, [&] { return s.stop || s.generation != seen; });
        if (s.stop) return;
        seen = s.generation;
        auto* fn = s.fn;
        int64_t begin = std::min(s.n, s.chunk * i), end = std::min(s.n, s.chunk * (i + 1));
        lock.unlock();
        if (begin < end) (*fn)(begin, end);
        lock.lock();
        if (--s.pending == 0) s.done_cv.notify_one();
      }
    });
  }
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->work_cv.notify_all();
  for (auto& t : state_->threads) t.join();
}

int ThreadPool::size() const { return static_cast<int>(state_->threads.size()) + 1; }

void ThreadPool::parallel_for(int64_t n, const std::function<void(int64_t, int64_t)>& fn) {
  State& s = *state_;
  int workers = size();
  if (workers == 1 || n <= 1) {
    if (n > 0) fn(0, n);
    return;
  }
  int64_t chunk = (n + workers - 1) / workers;
  {
    std::lock_guard lock(s.mutex);
    s.fn = &fn;
    s.n = n;
    s.chunk = chunk;
    s.pending = workers - 1;
    ++s.generation;
  }
  s.work_cv.notify_all();
  fn(0, std::min(n, chunk));
  std::unique_lock lock(s.mutex);
  s.done_cv.wait(lock, [&] { return s.pending == 0; });
}

}  // namespace plinth::engine
