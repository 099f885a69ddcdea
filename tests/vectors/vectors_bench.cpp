// vectors_bench: build time, recall@10 against exact search, search latency, rebuild and
// saved-index load time of the SQLite vector store. Not part of the test run.
//   vectors_bench [--n 100000] [--dims 384] [--queries 1000] [--data clustered|sphere]
//                 [--m 24] [--efc 200] [--efs 128] [--threads 0] [--dir /tmp/...]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"

namespace {

namespace fs = std::filesystem;
using plinth::vectors::ChunkVector;
using Clock = std::chrono::steady_clock;

// CPU time of the calling thread: the search's own cost, apart from waiting for a shared core.
double thread_cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// CPU time of the whole process (every build thread), in seconds.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

void normalize(std::vector<float>& v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= scale;
}

// "sphere": uniform on the unit sphere (the hard case: no structure). "clustered": 1,000
// Gaussian clusters with a spread comparable to their separation, closer to text embeddings.
class Generator {
 public:
  Generator(std::string kind, int dims, uint32_t seed)
      : kind_(std::move(kind)), dims_(dims), rng_(seed) {
    if (kind_ == "clustered") {
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
  std::string kind_;
  int dims_;
  std::mt19937 rng_;
  std::vector<std::vector<float>> centres_;
};

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}
std::string arg_string(int argc, char** argv, const char* name, std::string fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  }
  return fallback;
}

// Exact top-k ids by inner product, on several threads.
std::vector<std::vector<int>> brute_force(const std::vector<float>& base, int n, int dims,
                                          const std::vector<std::vector<float>>& queries, int k) {
  std::vector<std::vector<int>> out(queries.size());
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::pair<float, int>> scored(static_cast<size_t>(n));
      for (size_t q = t; q < queries.size(); q += threads) {
        for (int i = 0; i < n; ++i) {
          const float* row = base.data() + static_cast<size_t>(i) * dims;
          float dot = 0;
          for (int d = 0; d < dims; ++d) dot += row[d] * queries[q][d];
          scored[i] = {-dot, i};
        }
        std::partial_sort(scored.begin(), scored.begin() + k, scored.end());
        for (int j = 0; j < k; ++j) out[q].push_back(scored[j].second);
      }
    });
  }
  for (auto& w : workers) w.join();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = arg_int(argc, argv, "--n", 100'000);
  const int dims = arg_int(argc, argv, "--dims", 384);
  const int query_count = arg_int(argc, argv, "--queries", 1000);
  const std::string data = arg_string(argc, argv, "--data", "clustered");
  plinth::vectors::IndexOptions options;
  options.m = arg_int(argc, argv, "--m", options.m);
  options.ef_construction = arg_int(argc, argv, "--efc", options.ef_construction);
  options.ef_search = arg_int(argc, argv, "--efs", options.ef_search);
  options.build_threads = arg_int(argc, argv, "--threads", 0);
  constexpr int kTop = 10;
  fs::path dir = arg_string(argc, argv, "--dir",
                            (fs::temp_directory_path() /
                             ("plinth-vectors-bench-" + std::to_string(std::random_device{}())))
                                .string());
  fs::create_directories(dir);
  std::printf(
      "vectors_bench: %d vectors x %d dims (%s), %d queries, M=%d efC=%d efS=%d, %u cores\n", n,
      dims, data.c_str(), query_count, options.m, options.ef_construction, options.ef_search,
      std::thread::hardware_concurrency());

  Generator generator(data, dims, 7);
  std::vector<float> base(static_cast<size_t>(n) * dims);
  for (int i = 0; i < n; ++i) {
    auto v = generator.next();
    std::copy(v.begin(), v.end(), base.begin() + static_cast<size_t>(i) * dims);
  }
  std::vector<std::vector<float>> queries;
  for (int q = 0; q < query_count; ++q) queries.push_back(generator.next());

  auto db = plinth::store::Database::open(dir / "plinth.db");
  if (!db) return std::fprintf(stderr, "%s\n", db.error().message.c_str()), 1;
  auto store = plinth::vectors::open_sqlite_vector_store(**db, options);
  if (!store) return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 1;
  (void)(*store)->ensure_knowledge_base("000000000000", "kb-bench", "bench-model");

  // Build: the pipeline's path, add() in batches of 1,000 chunks (one transaction each).
  auto build_start = Clock::now();
  double build_cpu = process_cpu_s();
  for (int first = 0; first < n; first += 1000) {
    std::vector<ChunkVector> batch;
    for (int i = first; i < std::min(n, first + 1000); ++i) {
      const float* row = base.data() + static_cast<size_t>(i) * dims;
      batch.push_back({"000000000000", "kb-bench", std::to_string(i), 0, "chunk text", "{}",
                       std::vector<float>(row, row + dims)});
    }
    if (auto st = (*store)->add(batch); !st)
      return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
  }
  double build_s = seconds_since(build_start);
  std::printf("build (add, 1,000 per batch): %.1f s wall (%.0f vectors/s), %.1f s CPU\n", build_s,
              n / build_s, process_cpu_s() - build_cpu);
  std::fflush(stdout);

  auto exact_start = Clock::now();
  auto exact = brute_force(base, n, dims, queries, kTop);
  std::printf("exact brute force: %.1f s\n", seconds_since(exact_start));
  std::fflush(stdout);

  auto measure = [&](plinth::vectors::VectorStore& s, const char* label) {
    std::vector<double> latencies_ms, cpu_ms;
    size_t found = 0;
    for (int q = 0; q < query_count; ++q) {
      auto start = Clock::now();
      double cpu_start = thread_cpu_ms();
      auto hits = s.search({"000000000000", "kb-bench", queries[q], kTop, std::nullopt});
      latencies_ms.push_back(seconds_since(start) * 1000);
      cpu_ms.push_back(thread_cpu_ms() - cpu_start);
      if (!hits) return std::fprintf(stderr, "%s\n", hits.error().message.c_str()), void();
      for (const auto& hit : *hits) {
        int id = std::atoi(hit.document_id.c_str());
        if (std::find(exact[q].begin(), exact[q].end(), id) != exact[q].end()) ++found;
      }
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    std::sort(cpu_ms.begin(), cpu_ms.end());
    auto pct = [](const std::vector<double>& v, double p) {
      return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
    };
    std::printf(
        "%s: recall@10 %.4f; search wall p50 %.3f ms, p99 %.3f ms; thread CPU p50 %.3f ms, "
        "p99 %.3f ms\n",
        label, static_cast<double>(found) / (static_cast<double>(query_count) * kTop),
        pct(latencies_ms, 0.5), pct(latencies_ms, 0.99), pct(cpu_ms, 0.5), pct(cpu_ms, 0.99));
  };
  measure(**store, "after build");

  auto save_start = Clock::now();
  store->reset();  // saves the index next to the database
  std::printf("save index (close): %.1f s wall\n", seconds_since(save_start));
  db->reset();
  auto rebuild_start = Clock::now();
  double rebuild_cpu = process_cpu_s();
  auto reopened_db = plinth::store::Database::open(dir / "plinth.db");
  auto rebuild_options = options;
  rebuild_options.persist = false;  // ignore the saved index: time the rebuild from rows
  auto reopened = plinth::vectors::open_sqlite_vector_store(**reopened_db, rebuild_options);
  if (!reopened) return std::fprintf(stderr, "%s\n", reopened.error().message.c_str()), 1;
  std::printf("rebuild from store (open): %.1f s wall, %.1f s CPU\n", seconds_since(rebuild_start),
              process_cpu_s() - rebuild_cpu);
  measure(**reopened, "after rebuild");
  reopened->reset();
  auto load_start = Clock::now();
  double load_cpu = process_cpu_s();
  reopened = plinth::vectors::open_sqlite_vector_store(**reopened_db, options);
  if (!reopened) return std::fprintf(stderr, "%s\n", reopened.error().message.c_str()), 1;
  std::printf("load saved index (open): %.2f s wall, %.2f s CPU\n", seconds_since(load_start),
              process_cpu_s() - load_cpu);
  measure(**reopened, "after load");
  reopened->reset();
  reopened_db->reset();
  if (arg_string(argc, argv, "--dir", "").empty()) fs::remove_all(dir);
  return 0;
}
