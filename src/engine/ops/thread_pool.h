// A fixed pool of worker threads for data-parallel loops inside one forward pass.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

namespace plinth::engine {

class ThreadPool {
 public:
  explicit ThreadPool(int threads);  // threads <= 0: hardware concurrency
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const;
  // Splits [0, n) into contiguous chunks and runs fn(begin, end) on the pool (the calling thread
  // takes part); returns when all chunks are done. Not reentrant: one parallel_for at a time.
  void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plinth::engine
