// The hnswlib-backed AnnIndex. The only file that includes hnswlib (its header defines non-inline
// functions, so a second including file would not link).
#include "ann_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

namespace plinth::vectors {
namespace {

constexpr size_t kInitialCapacity = 1024;
// Batches smaller than this are inserted on the calling thread.
constexpr size_t kParallelThreshold = 512;

int build_threads(const IndexOptions& options) {
  if (options.build_threads > 0) return options.build_threads;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
}

}  // namespace

struct AnnIndex::Impl {
  explicit Impl(int dimensions, const IndexOptions& options)
      : space(static_cast<size_t>(dimensions)),
        hnsw(&space, kInitialCapacity, static_cast<size_t>(options.m),
             static_cast<size_t>(options.ef_construction)) {
    hnsw.setEf(static_cast<size_t>(options.ef_search));  // set once: setEf is not thread-safe
  }
  hnswlib::InnerProductSpace space;
  hnswlib::HierarchicalNSW<float> hnsw;
};

AnnIndex::AnnIndex(int dimensions, const IndexOptions& options)
    : dimensions_(dimensions),
      options_(options),
      impl_(std::make_unique<Impl>(dimensions, options)) {}

AnnIndex::~AnnIndex() = default;

size_t AnnIndex::deleted() const { return impl_->hnsw.num_deleted_; }

size_t AnnIndex::live() const { return impl_->hnsw.cur_element_count - impl_->hnsw.num_deleted_; }

Status AnnIndex::add(std::span<const IndexPoint> points) {
  auto& hnsw = impl_->hnsw;
  try {
    size_t needed = hnsw.cur_element_count + points.size();
    if (needed > hnsw.max_elements_) {
      hnsw.resizeIndex(std::max(needed, hnsw.max_elements_ * 2));
    }
    int threads = std::min<int>(build_threads(options_),
                                static_cast<int>(points.size() / (kParallelThreshold / 2) + 1));
    if (points.size() < kParallelThreshold || threads <= 1) {
      for (const IndexPoint& point : points) hnsw.addPoint(point.data, point.label);
      return ok();
    }
    // hnswlib supports concurrent addPoint calls for distinct labels.
    std::atomic<size_t> next{0};
    std::mutex error_mutex;
    std::string first_error;  // guarded by error_mutex
    std::vector<std::jthread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        for (size_t i = next++; i < points.size(); i = next++) {
          try {
            hnsw.addPoint(points[i].data, points[i].label);
          } catch (const std::exception& e) {
            std::lock_guard lock(error_mutex);
            if (first_error.empty()) first_error = e.what();
            next = points.size();
          }
        }
      });
    }
    workers.clear();  // joins
    if (!first_error.empty()) return fail(ErrorCode::kInternal, "vector index: " + first_error);
    return ok();
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, std::string("vector index: ") + e.what());
  }
}

void AnnIndex::remove(uint64_t label) {
  auto& hnsw = impl_->hnsw;
  auto found = hnsw.label_lookup_.find(label);
  if (found == hnsw.label_lookup_.end() || hnsw.isMarkedDeleted(found->second)) return;
  hnsw.markDelete(label);
}

Result<std::vector<Neighbour>> AnnIndex::search(const float* query, size_t k) const {
  std::vector<Neighbour> out;
  if (k == 0 || live() == 0) return out;
  try {
    auto queue = impl_->hnsw.searchKnn(query, k);
    out.resize(queue.size());
    // The queue pops the farthest first.
    for (size_t i = out.size(); i-- > 0; queue.pop()) {
      out[i] = Neighbour{queue.top().second, 1.0f - queue.top().first};
    }
    return out;
  } catch (const std::exception& e) {
    return fail(ErrorCode::kInternal, std::string("vector index: ") + e.what());
  }
}

}  // namespace plinth::vectors
