// Figures for the queue: enqueue → claim latency with every commit durable (measured by
// bench/queue_latency, shared with `plinth bench documents`), and claims per second from 2
// threads; then SQLite and PostgreSQL side by side with 1 and 3 replicas (bench/queue_replicas):
// idle workers woken by another replica's enqueue, and a backlog drained by every replica.
// Usage: jobs_bench [DIR] [JOBS] [POSTGRES_URL] (DIR defaults to a fresh temp dir; its file
// system decides the fsync cost, which dominates; POSTGRES_URL defaults to
// $PLINTH_BENCH_PG_URL, and without either only SQLite is measured).
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "plinth/core/clock.h"
#include "plinth/jobs/queue.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"
#include "queue_latency.h"
#include "queue_replicas.h"

using namespace plinth;
using Steady = std::chrono::steady_clock;

namespace {

void print_percentiles(const char* what, const std::vector<double>& samples) {
  auto p = bench::percentiles(samples);
  std::printf("%-24s p50 %8.1f us  p99 %8.1f us  max %8.1f us  (n=%zu)\n", what, p.p50, p.p99,
              p.max, p.count);
}

[[noreturn]] void die(const Error& error) {
  std::fprintf(stderr, "jobs_bench: %s\n", error.message.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::random_device seed;
  std::filesystem::path dir = argc > 1 ? std::filesystem::path(argv[1])
                                       : std::filesystem::temp_directory_path() /
                                             ("plinth-jobs-bench-" + std::to_string(seed()));
  int jobs = argc > 2 ? std::atoi(argv[2]) : 3000;
  std::filesystem::create_directories(dir);
  auto file = dir / "jobs-bench.db";
  std::filesystem::remove(file);
  auto db = store::Database::open(file);
  if (!db) die(db.error());
  auto clock = Clock::real();
  auto queue = jobs::open_sqlite_queue(**db, *clock);
  if (!queue) die(queue.error());
  std::string payload = R"({"document_id":"doc-0123456789","schema":"invoice-v1"})";

  // 1. One at a time: enqueue (durable), then claim it (durable), then complete it untimed.
  auto latency = bench::measure_queue_latency(**queue, jobs);
  if (!latency) die(latency.error());
  std::printf("%s, %d jobs, SQLite WAL synchronous=FULL\n", file.c_str(), jobs);
  print_percentiles("enqueue", latency->enqueue_us);
  print_percentiles("claim", latency->claim_us);
  print_percentiles("enqueue -> claim", latency->total_us);

  // 2. Two threads draining a backlog (enqueued in one transaction, untimed).
  {
    auto transaction = store::Transaction::begin(**db);
    if (!transaction) die(transaction.error());
    for (int i = 0; i < jobs; ++i) {
      if (auto id = (*queue)->enqueue({"drain", "111111111111", payload}); !id) die(id.error());
    }
    if (auto committed = transaction->commit(); !committed) die(committed.error());
  }
  std::atomic<int> claimed = 0;
  auto drain = [&] {
    while (true) {
      auto lease = (*queue)->claim("drain");
      if (!lease) die(lease.error());
      if (!*lease) return;
      ++claimed;
    }
  };
  auto start = Steady::now();
  std::thread a(drain), b(drain);
  a.join();
  b.join();
  double seconds = std::chrono::duration<double>(Steady::now() - start).count();
  std::printf("2 threads: %d claims in %.2f s = %.0f claims/s\n", claimed.load(), seconds,
              claimed.load() / seconds);
  // 3. Replicas: SQLite connections on the same file, PostgreSQL pools on the same database.
  std::vector<std::unique_ptr<store::Database>> connections;
  bench::QueueOpener sqlite_replica = [&]() -> Result<std::unique_ptr<jobs::Queue>> {
    auto opened = store::Database::open(file);
    if (!opened) return std::unexpected(opened.error());
    connections.push_back(std::move(*opened));
    return jobs::open_sqlite_queue(*connections.back(), *clock);
  };
  const char* pg_env = std::getenv("PLINTH_BENCH_PG_URL");
  std::string pg_url = argc > 3 ? argv[3] : (pg_env != nullptr ? pg_env : "");
  bench::QueueOpener pg_replica = [&]() -> Result<std::unique_ptr<jobs::Queue>> {
    auto pool = pg::Pool::open({pg_url, 4});
    if (!pool) return std::unexpected(pool.error());
    return jobs::open_postgres_queue(*pool, *clock);
  };
  std::printf("\n%-10s %8s %14s %14s %12s\n", "backend", "replicas", "wake p50 us", "wake p99 us",
              "claims/s");
  for (auto [name, opener] :
       {std::pair<const char*, bench::QueueOpener*>{"sqlite", &sqlite_replica},
        {"postgres", &pg_replica}}) {
    if (std::string(name) == "postgres" && pg_url.empty()) {
      std::printf("%-10s (set PLINTH_BENCH_PG_URL or pass a URL to measure)\n", name);
      continue;
    }
    for (int replicas : {1, 3}) {
      auto figures = bench::measure_replicas(*opener, replicas, std::min(jobs, 300), jobs);
      if (!figures) die(figures.error());
      auto p = bench::percentiles(figures->wake_us);
      std::printf("%-10s %8d %14.0f %14.0f %12.0f\n", name, replicas, p.p50, p.p99,
                  figures->claims_per_second);
    }
  }
  connections.clear();

  queue->reset();
  db->reset();
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
  if (argc <= 1) std::filesystem::remove_all(dir);
  return 0;
}
