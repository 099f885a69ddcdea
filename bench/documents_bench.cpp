// `plinth bench documents`: the pipeline, queue and vector-search parts in turn, each a block of
// figures with the target beside it, between the load averages at start and end.
#include "documents_bench.h"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "bench_stats.h"
#include "pipeline_bench.h"
#include "plinth/core/clock.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"
#include "queue_latency.h"
#include "vector_recall.h"

namespace plinth::bench {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr double kQueueP99TargetMs = 2.0;
constexpr double kRecallTarget = 0.95;
constexpr double kSearchP99TargetMs = 5.0;
constexpr int kVectorQueries = 1000;
constexpr int kTop = 10;

const char* verdict(bool met) { return met ? "met" : "MISSED"; }

double seconds_since(Steady::time_point start) {
  return std::chrono::duration<double>(Steady::now() - start).count();
}

// The file system's cost of one durable write, which every durable commit pays at least once:
// the floor under the queue's latency, and the figure that moves when other work shares the disk.
Result<Percentiles> fdatasync_cost(const fs::path& file, int rounds) {
  struct OpenFile {
    int fd;
    ~OpenFile() {
      if (fd >= 0) ::close(fd);
    }
  } probe{::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
  if (probe.fd < 0) return fail(ErrorCode::kIo, "cannot open " + file.string());
  const std::string block(4096, 'x');
  std::vector<double> samples;
  for (int i = 0; i < rounds; ++i) {
    auto start = Steady::now();
    if (::pwrite(probe.fd, block.data(), block.size(), 0) != static_cast<ssize_t>(block.size()) ||
        ::fdatasync(probe.fd) != 0) {
      return fail(ErrorCode::kIo, "cannot write " + file.string());
    }
    samples.push_back(std::chrono::duration<double, std::milli>(Steady::now() - start).count());
  }
  std::error_code ignored;
  fs::remove(file, ignored);
  return percentiles(std::move(samples));
}

Status run_queue_part(const DocumentsBenchOptions& o, const fs::path& dir) {
  auto db = store::Database::open(dir / "queue.db");
  if (!db) return std::unexpected(db.error());
  auto clock = Clock::real();
  auto queue = jobs::open_sqlite_queue(**db, *clock);
  if (!queue) return std::unexpected(queue.error());
  auto latency = measure_queue_latency(**queue, o.queue_jobs);
  if (!latency) return std::unexpected(latency.error());
  std::printf("%d jobs one at a time on %s (WAL, synchronous=FULL: every commit durable)\n",
              o.queue_jobs, (dir / "queue.db").c_str());
  auto print = [](const char* what, const std::vector<double>& us) {
    Percentiles p = percentiles(us);
    std::printf("%-22s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms", what, p.p50 / 1000, p.p99 / 1000,
                p.max / 1000);
    return p;
  };
  print("enqueue", latency->enqueue_us);
  std::printf("\n");
  print("claim", latency->claim_us);
  std::printf("\n");
  Percentiles total = print("queue enqueue->claim", latency->total_us);
  std::printf("   (target p99 < %.0f ms: %s)\n", kQueueP99TargetMs,
              verdict(total.p99 / 1000 < kQueueP99TargetMs));
  auto disk = fdatasync_cost(dir / "fdatasync-probe", 100);
  if (!disk) return std::unexpected(disk.error());
  std::printf(
      "disk: 4 KiB write + fdatasync p50 %6.2f ms  p99 %6.2f ms   (each enqueue and claim "
      "commits durably)\n",
      disk->p50, disk->p99);
  return ok();
}

Status run_vectors_part(const DocumentsBenchOptions& o, const fs::path& dir) {
  vectors::IndexOptions index;
  std::printf(
      "%d vectors x %d dims (clustered), %d queries, HNSW M=%d efConstruction=%d "
      "efSearch=%d, %u cores\n",
      o.vectors, o.dimensions, kVectorQueries, index.m, index.ef_construction, index.ef_search,
      std::thread::hardware_concurrency());
  std::fflush(stdout);
  auto set = generate_vectors("clustered", o.vectors, o.dimensions, kVectorQueries, 7);
  auto db = store::Database::open(dir / "vectors.db");
  if (!db) return std::unexpected(db.error());
  auto store = vectors::open_sqlite_vector_store(**db, index);
  if (!store) return std::unexpected(store.error());
  auto build_start = Steady::now();
  if (auto added = add_vectors(**store, set); !added) return added;
  double build_s = seconds_since(build_start);
  auto exact_start = Steady::now();
  auto exact = exact_top_k(set, kTop);
  double exact_s = seconds_since(exact_start);
  std::printf(
      "build (stored and indexed, 1,000 a batch) %.1f s (%.0f vectors/s); exact search "
      "%.1f s\n",
      build_s, o.vectors / build_s, exact_s);
  auto figures = measure_search(**store, set, exact, kTop);
  if (!figures) return std::unexpected(figures.error());
  Percentiles wall = percentiles(figures->wall_ms);
  Percentiles cpu = percentiles(figures->cpu_ms);
  std::printf("recall@10 vs exact     %.4f   (target >= %.2f: %s)\n", figures->recall,
              kRecallTarget, verdict(figures->recall >= kRecallTarget));
  std::printf(
      "search                 p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms   (target p99 < %.0f "
      "ms: %s)\n",
      wall.p50, wall.p99, wall.max, kSearchP99TargetMs, verdict(wall.p99 < kSearchP99TargetMs));
  std::printf("search thread CPU      p50 %6.2f ms  p99 %6.2f ms\n", cpu.p50, cpu.p99);
  return ok();
}

}  // namespace

int run_documents_bench(const DocumentsBenchOptions& o, const Config& config) {
  if (o.documents < 1 || o.pages < 1 || o.workers < 1 || o.queue_jobs < 1 || o.vectors < kTop ||
      o.dimensions < 1) {
    std::fprintf(stderr,
                 "plinth bench documents: --documents, --pages, --workers, --queue-jobs and "
                 "--dimensions must be at least 1, --vectors at least %d\n",
                 kTop);
    return 2;
  }
  bool temporary = o.data_dir.empty();
  fs::path dir = temporary ? fs::temp_directory_path() / ("plinth-bench-documents-" +
                                                          std::to_string(std::random_device{}()))
                           : fs::path(o.data_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "plinth bench documents: cannot create %s: %s\n", dir.c_str(),
                 ec.message().c_str());
    return 1;
  }
  std::printf("plinth bench documents: data in %s, %u cores, load average at start %s\n",
              dir.c_str(), std::thread::hardware_concurrency(), load_average().c_str());
  int exit_code = 0;
  auto part = [&](const char* title, auto&& run) {
    std::printf("\n== %s ==\n", title);
    std::fflush(stdout);
    if (auto st = run(); !st) {
      std::printf("error: %s\n", st.error().message.c_str());
      std::fprintf(stderr, "plinth bench documents: %s: %s\n", title, st.error().message.c_str());
      exit_code = 1;
    }
    std::fflush(stdout);
  };
  part("documents pipeline", [&] { return run_pipeline_part(o, config, dir); });
  part("queue", [&] { return run_queue_part(o, dir); });
  if (o.skip_vectors) {
    std::printf("\n== vectors ==\nskipped (--skip-vectors)\n");
  } else {
    part("vectors", [&] { return run_vectors_part(o, dir); });
  }
  std::printf("\nload average at end %s\n", load_average().c_str());
  if (temporary) fs::remove_all(dir, ec);
  return exit_code;
}

}  // namespace plinth::bench
