// vectors_bench: build time, recall@10 against exact search, search latency, rebuild and
// saved-index load time of the SQLite vector store. Not part of the test run; the measuring
// lives in bench/vector_recall.
//   vectors_bench [--n 100000] [--dims 384] [--queries 1000] [--data clustered|sphere]
//                 [--m 24] [--efc 200] [--efs 128] [--threads 0] [--dir /tmp/...]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"
#include "vector_recall.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// CPU time of the whole process (every build thread), in seconds.
double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

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

  auto set = plinth::bench::generate_vectors(data, n, dims, query_count, 7);
  auto db = plinth::store::Database::open(dir / "plinth.db");
  if (!db) return std::fprintf(stderr, "%s\n", db.error().message.c_str()), 1;
  auto store = plinth::vectors::open_sqlite_vector_store(**db, options);
  if (!store) return std::fprintf(stderr, "%s\n", store.error().message.c_str()), 1;

  auto build_start = Clock::now();
  double build_cpu = process_cpu_s();
  if (auto st = plinth::bench::add_vectors(**store, set); !st)
    return std::fprintf(stderr, "%s\n", st.error().message.c_str()), 1;
  double build_s = seconds_since(build_start);
  std::printf("build (add, 1,000 per batch): %.1f s wall (%.0f vectors/s), %.1f s CPU\n", build_s,
              n / build_s, process_cpu_s() - build_cpu);
  std::fflush(stdout);

  auto exact_start = Clock::now();
  auto exact = plinth::bench::exact_top_k(set, kTop);
  std::printf("exact brute force: %.1f s\n", seconds_since(exact_start));
  std::fflush(stdout);

  auto measure = [&](plinth::vectors::VectorStore& s, const char* label) {
    auto figures = plinth::bench::measure_search(s, set, exact, kTop);
    if (!figures) return std::fprintf(stderr, "%s\n", figures.error().message.c_str()), false;
    auto wall = plinth::bench::percentiles(figures->wall_ms);
    auto cpu = plinth::bench::percentiles(figures->cpu_ms);
    std::printf(
        "%s: recall@10 %.4f; search wall p50 %.3f ms, p99 %.3f ms; thread CPU p50 %.3f ms, "
        "p99 %.3f ms\n",
        label, figures->recall, wall.p50, wall.p99, cpu.p50, cpu.p99);
    return true;
  };
  if (!measure(**store, "after build")) return 1;

  auto save_start = Clock::now();
  store->reset();  // saves the index next to the database
  std::printf("save index (close): %.1f s wall\n", seconds_since(save_start));
  db->reset();
  auto rebuild_start = Clock::now();
  double rebuild_cpu = process_cpu_s();
  auto reopened_db = plinth::store::Database::open(dir / "plinth.db");
  if (!reopened_db) return std::fprintf(stderr, "%s\n", reopened_db.error().message.c_str()), 1;
  auto rebuild_options = options;
  rebuild_options.persist = false;  // ignore the saved index: time the rebuild from rows
  auto reopened = plinth::vectors::open_sqlite_vector_store(**reopened_db, rebuild_options);
  if (!reopened) return std::fprintf(stderr, "%s\n", reopened.error().message.c_str()), 1;
  std::printf("rebuild from store (open): %.1f s wall, %.1f s CPU\n", seconds_since(rebuild_start),
              process_cpu_s() - rebuild_cpu);
  if (!measure(**reopened, "after rebuild")) return 1;
  reopened->reset();
  auto load_start = Clock::now();
  double load_cpu = process_cpu_s();
  reopened = plinth::vectors::open_sqlite_vector_store(**reopened_db, options);
  if (!reopened) return std::fprintf(stderr, "%s\n", reopened.error().message.c_str()), 1;
  std::printf("load saved index (open): %.2f s wall, %.2f s CPU\n", seconds_since(load_start),
              process_cpu_s() - load_cpu);
  if (!measure(**reopened, "after load")) return 1;
  reopened->reset();
  reopened_db->reset();
  if (arg_string(argc, argv, "--dir", "").empty()) fs::remove_all(dir);
  return 0;
}
