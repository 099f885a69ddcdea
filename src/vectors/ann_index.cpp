// The hnswlib-backed AnnIndex. The only file that includes hnswlib (its header defines non-inline
// functions, so a second including file would not link).
#include "ann_index.h"

#include <hnswlib/hnswlib.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>

namespace plinth::vectors {
namespace {

constexpr size_t kInitialCapacity = 1024;
// hnswlib draws levels with mult 1/ln(M): level 64 would need ~e^(64 ln M) points.
constexpr int kMaxLevel = 64;
// Batches smaller than this are inserted on the calling thread.
constexpr size_t kParallelThreshold = 512;

int build_threads(const IndexOptions& options) {
  if (options.build_threads > 0) return options.build_threads;
  return static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 16u));
}

}  // namespace

struct AnnIndex::Impl {
  explicit Impl(int dimensions, const IndexOptions& options, size_t capacity = kInitialCapacity)
      : space(static_cast<size_t>(dimensions)),
        hnsw(&space, capacity, static_cast<size_t>(options.m),
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

AnnIndex::AnnIndex(int dimensions, const IndexOptions& options, int /*empty*/)
    : dimensions_(dimensions), options_(options) {}

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

LabelSummary AnnIndex::live_labels() const {
  const auto& hnsw = impl_->hnsw;
  LabelSummary out;
  for (size_t i = 0; i < hnsw.cur_element_count; ++i) {
    if (hnsw.isMarkedDeleted(static_cast<hnswlib::tableint>(i))) continue;
    uint64_t label = hnsw.getExternalLabel(static_cast<hnswlib::tableint>(i));
    out.min = out.count == 0 ? label : std::min(out.min, label);
    out.max = std::max(out.max, label);
    out.sum += label;
    ++out.count;
  }
  return out;
}

// The layout mirrors hnswlib's saveIndex (which only writes to a path of its own): element
// count, sizes, entry point, the base layer block, then each element's upper-layer links.
Status AnnIndex::save(ByteSink& out) const {
  const auto& hnsw = impl_->hnsw;
  uint64_t count = hnsw.cur_element_count;
  uint64_t data_size = hnsw.size_data_per_element_;
  uint64_t links_size = hnsw.size_links_per_element_;
  int32_t max_level = hnsw.maxlevel_;
  uint32_t entry = hnsw.enterpoint_node_;
  for (auto [field, size] : {std::pair<const void*, size_t>{&count, sizeof count},
                             {&data_size, sizeof data_size},
                             {&links_size, sizeof links_size},
                             {&max_level, sizeof max_level},
                             {&entry, sizeof entry}}) {
    if (auto st = out.write(field, size); !st) return st;
  }
  if (auto st = out.write(hnsw.data_level0_memory_, count * data_size); !st) return st;
  for (size_t i = 0; i < count; ++i) {
    uint32_t level = static_cast<uint32_t>(hnsw.element_levels_[i]);
    if (auto st = out.write(&level, sizeof level); !st) return st;
    if (level > 0) {
      if (auto st = out.write(hnsw.linkLists_[i], level * links_size); !st) return st;
    }
  }
  return ok();
}

namespace {

Error corrupt(const std::string& what) {
  return Error{ErrorCode::kCorruptData, "saved index: " + what};
}

// Every link names an element that exists and a list holds at most `max_links`.
bool links_valid(const unsigned int* list, size_t max_links, size_t count) {
  size_t size = *reinterpret_cast<const unsigned short*>(list);
  if (size > max_links) return false;
  for (size_t j = 1; j <= size; ++j) {
    if (list[j] >= count) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<AnnIndex>> AnnIndex::load(ByteSource& in, int dimensions,
                                                 const IndexOptions& options) {
  uint64_t count = 0, data_size = 0, links_size = 0;
  int32_t max_level = 0;
  uint32_t entry = 0;
  for (auto [field, size] : {std::pair<void*, size_t>{&count, sizeof count},
                             {&data_size, sizeof data_size},
                             {&links_size, sizeof links_size},
                             {&max_level, sizeof max_level},
                             {&entry, sizeof entry}}) {
    if (auto st = in.read(field, size); !st) return std::unexpected(st.error());
  }
  // Bounded by the bytes present before anything is allocated.
  if (data_size == 0 || count > UINT32_MAX || count > in.remaining() / data_size) {
    return fail(ErrorCode::kCorruptData, "saved index is truncated (its element count exceeds it)");
  }
  std::unique_ptr<AnnIndex> index(new AnnIndex(dimensions, options, 0));
  try {
    index->impl_ =
        std::make_unique<Impl>(dimensions, options, std::max<size_t>(count, kInitialCapacity));
    auto& hnsw = index->impl_->hnsw;
    if (data_size != hnsw.size_data_per_element_ || links_size != hnsw.size_links_per_element_) {
      return std::unexpected(corrupt("element layout differs (dimensions or M)"));
    }
    if (count > 0 && (entry >= count || max_level < 0 || max_level > kMaxLevel)) {
      return std::unexpected(corrupt("entry point out of range"));
    }
    if (auto st = in.read(hnsw.data_level0_memory_, count * data_size); !st) {
      return std::unexpected(st.error());
    }
    for (size_t i = 0; i < count; ++i) {
      uint32_t level = 0;
      if (auto st = in.read(&level, sizeof level); !st) return std::unexpected(st.error());
      if (level > static_cast<uint32_t>(max_level)) return std::unexpected(corrupt("bad level"));
      hnsw.element_levels_[i] = static_cast<int>(level);
      hnsw.linkLists_[i] = nullptr;
      if (level > 0) {
        hnsw.linkLists_[i] = static_cast<char*>(std::malloc(level * links_size));
        if (hnsw.linkLists_[i] == nullptr) return std::unexpected(corrupt("out of memory"));
      }
      hnsw.cur_element_count = i + 1;  // the destructor frees the lists of counted elements
      if (level > 0) {
        if (auto st = in.read(hnsw.linkLists_[i], level * links_size); !st) {
          return std::unexpected(st.error());
        }
      }
    }
    size_t deleted = 0;
    for (size_t i = 0; i < count; ++i) {
      auto id = static_cast<hnswlib::tableint>(i);
      if (!links_valid(hnsw.get_linklist0(id), hnsw.maxM0_, count)) {
        return std::unexpected(corrupt("base layer link out of range"));
      }
      for (int level = 1; level <= hnsw.element_levels_[i]; ++level) {
        if (!links_valid(hnsw.get_linklist(id, level), hnsw.maxM_, count)) {
          return std::unexpected(corrupt("upper layer link out of range"));
        }
      }
      if (!hnsw.label_lookup_.emplace(hnsw.getExternalLabel(id), id).second) {
        return std::unexpected(corrupt("duplicate label"));
      }
      if (hnsw.isMarkedDeleted(id)) ++deleted;
    }
    if (count > 0) {
      if (hnsw.element_levels_[entry] != max_level) {
        return std::unexpected(corrupt("entry point is not on the top level"));
      }
      hnsw.enterpoint_node_ = entry;
      hnsw.maxlevel_ = max_level;
    }
    hnsw.num_deleted_ = deleted;
  } catch (const std::exception& e) {
    return std::unexpected(corrupt(e.what()));
  }
  return index;
}

}  // namespace plinth::vectors
