// Synthetic embeddings, exact search and the recall/latency measurement of a VectorStore.
#include "vector_recall.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <random>
#include <thread>

namespace plinth::bench {
namespace {

using Steady = std::chrono::steady_clock;

// CPU time of the calling thread: the search's own cost, apart from waiting for a shared core.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

void normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= scale;
}

// Eight independent sums, so that the compiler vectorizes the loop without -ffast-math.
float dot(const float* a, const float* b, int n) {
  float partial[8] = {};
  int d = 0;
  for (; d + 8 <= n; d += 8) {
    for (int j = 0; j < 8; ++j) partial[j] += a[d + j] * b[d + j];
  }
  float sum = 0;
  for (float p : partial) sum += p;
  for (; d < n; ++d) sum += a[d] * b[d];
  return sum;
}

class Generator {
 public:
  Generator(const std::string& kind, int dims, uint32_t seed) : dims_(dims), rng_(seed) {
    if (kind == "clustered") {
      for (int c = 0; c < 1000; ++c) centres_.push_back(gaussian(1.0f));
    }
  }
  std::vector<float> next() {
    std::vector<float> v;
    if (centres_.empty()) {
      v = gaussian(1.0f);
    } else {
      const auto& centre =
          centres_[std::uniform_int_distribution<size_t>(0, centres_.size() - 1)(rng_)];
      v = gaussian(0.6f);
      for (int d = 0; d < dims_; ++d) v[d] += centre[d];
    }
    normalize(v);
    return v;
  }

 private:
  std::vector<float> gaussian(float sigma) {
    std::normal_distribution<float> normal(0.0f, sigma);
    std::vector<float> v(static_cast<size_t>(dims_));
    for (float& x : v) x = normal(rng_);
    return v;
  }
  int dims_;
  std::mt19937 rng_;
  std::vector<std::vector<float>> centres_;
};

}  // namespace

VectorSet generate_vectors(const std::string& kind, int n, int dims, int queries, uint32_t seed) {
  Generator generator(kind, dims, seed);
  VectorSet set;
  set.n = n;
  set.dims = dims;
  set.base.resize(static_cast<size_t>(n) * dims);
  for (int i = 0; i < n; ++i) {
    auto v = generator.next();
    std::copy(v.begin(), v.end(), set.base.begin() + static_cast<size_t>(i) * dims);
  }
  for (int q = 0; q < queries; ++q) set.queries.push_back(generator.next());
  return set;
}

std::vector<std::vector<int>> exact_top_k(const VectorSet& set, int k) {
  const int n = set.n, dims = set.dims;
  k = std::min(k, n);
  std::vector<std::vector<int>> out(set.queries.size());
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::pair<float, int>> scored(static_cast<size_t>(n));
      for (size_t q = t; q < set.queries.size(); q += threads) {
        for (int i = 0; i < n; ++i) {
          const float* row = set.base.data() + static_cast<size_t>(i) * dims;
          scored[i] = {-dot(row, set.queries[q].data(), dims), i};
        }
        std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
        for (int j = 0; j < k; ++j) out[q].push_back(scored[j].second);
      }
    });
  }
  for (auto& w : workers) w.join();
  return out;
}

Status add_vectors(vectors::VectorStore& store, const VectorSet& set) {
  if (auto kb = store.ensure_knowledge_base(kBenchAccount, kBenchKnowledgeBase, "bench-model");
      !kb) {
    return std::unexpected(kb.error());
  }
  for (int first = 0; first < set.n; first += 1000) {
    std::vector<vectors::ChunkVector> batch;
    for (int i = first; i < std::min(set.n, first + 1000); ++i) {
      const float* row = set.base.data() + static_cast<size_t>(i) * set.dims;
      batch.push_back({kBenchAccount, kBenchKnowledgeBase, std::to_string(i), 0, "chunk text", "{}",
                       std::vector<float>(row, row + set.dims)});
    }
    if (auto added = store.add(batch); !added) return added;
  }
  return ok();
}

Result<SearchFigures> measure_search(vectors::VectorStore& store, const VectorSet& set,
                                     const std::vector<std::vector<int>>& exact, int k) {
  SearchFigures figures;
  size_t found = 0;
  for (size_t q = 0; q < set.queries.size(); ++q) {
    auto start = Steady::now();
    double cpu_start = thread_cpu_ms();
    auto hits = store.search({kBenchAccount, kBenchKnowledgeBase, set.queries[q], k, std::nullopt});
    figures.wall_ms.push_back(
        std::chrono::duration<double, std::milli>(Steady::now() - start).count());
    figures.cpu_ms.push_back(thread_cpu_ms() - cpu_start);
    if (!hits) return std::unexpected(hits.error());
    for (const auto& hit : *hits) {
      int id = std::atoi(hit.document_id.c_str());
      if (std::find(exact[q].begin(), exact[q].end(), id) != exact[q].end()) ++found;
    }
  }
  size_t expected = 0;
  for (const auto& e : exact) expected += e.size();
  figures.recall = expected == 0 ? 0 : static_cast<double>(found) / static_cast<double>(expected);
  return figures;
}

}  // namespace plinth::bench
