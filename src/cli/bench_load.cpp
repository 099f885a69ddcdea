// plinth bench load: starts `plinth serve` on the fixture model, measures Converse capacity with
// closed-loop clients, then offers a fixed arrival rate (open loop) at 80% and 200% of it and
// prints latency, errors, 429s, /health latency and the server's peak RSS for each phase.
#include "bench_load.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "bench_server.h"
#include "bench_stats.h"
#include "plinth/http/client.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::duration<double, std::milli>;

Result<ServedPlinth> start_server(const LoadBenchOptions& o, const fs::path& dir) {
  std::string extra;
  if (o.worker_threads > 0) extra += "worker_threads = " + std::to_string(o.worker_threads) + "\n";
  if (o.max_queued_requests > 0)
    extra += "[server]\nmax_queued_requests = " + std::to_string(o.max_queued_requests) + "\n";
  return start_plinth_serve(fs::path(o.models_dir) / "qwen2-32-tied-q8_0.gguf", dir, extra);
}

http::Request converse_request(uint16_t port, int max_tokens) {
  // Signed once: a signature stays valid for 15 minutes, longer than the bench runs.
  return signed_post(
      port, "/model/small/converse",
      R"({"messages":[{"role":"user","content":[{"text":"Say hello to the load bench."}]}],)"
      R"("inferenceConfig":{"maxTokens":)" +
          std::to_string(max_tokens) + "}}");
}

// Samples the server's RSS and probes /health every 20 ms while a phase runs.
class Observer {
 public:
  Observer(pid_t pid, uint16_t port) {
    thread_ = std::thread([this, pid, port] {
      http::Client client("127.0.0.1", port, with_timeout(std::chrono::seconds(10)));
      http::Request health = plain_request("GET", "/health");
      while (!stop_) {
        peak_rss_kib_ = std::max(peak_rss_kib_, rss_kib(pid, "VmRSS:"));
        auto t0 = Clock::now();
        auto r = client.send(health);
        double ms = Millis(Clock::now() - t0).count();
        if (r && r->status == 200)
          health_ms_.push_back(ms);
        else
          ++health_errors_;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  void finish() {
    stop_ = true;
    thread_.join();
  }
  long peak_rss_kib_ = 0;
  std::vector<double> health_ms_;
  int health_errors_ = 0;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

struct PhaseResult {
  double offered_rps = 0, ok_rps = 0;
  bench::Percentiles ok_ms, throttled_ms, health_ms;
  int64_t ok = 0, throttled = 0, errors = 0;
  int health_errors = 0;
  long peak_rss_kib = 0;
};

// Closed loop: `concurrency` clients send back to back; capacity is what they get done.
double measure_capacity(const LoadBenchOptions& o, const ServedPlinth& s,
                        const http::Request& req) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> done{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < o.concurrency; ++c) {
    clients.emplace_back([&] {
      http::Client client("127.0.0.1", s.port, with_timeout(std::chrono::seconds(120)));
      while (!stop) {
        if (auto r = client.send(req); r && r->status == 200) done.fetch_add(1);
      }
    });
  }
  auto started = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(o.capacity_seconds));
  stop = true;
  for (auto& t : clients) t.join();
  return static_cast<double>(done.load()) /
         std::chrono::duration<double>(Clock::now() - started).count();
}

// Open loop: arrivals at a fixed rate regardless of responses; latency counts from the arrival
// time, so waiting for a free sender counts too (no coordinated omission).
PhaseResult open_loop(const LoadBenchOptions& o, const ServedPlinth& s, const http::Request& req,
                      double rate) {
  std::mutex mutex;
  std::condition_variable ready;
  std::deque<Clock::time_point> arrivals;
  bool done = false;
  std::mutex results_mutex;
  std::vector<double> ok_ms, throttled_ms;
  int64_t errors = 0;
  std::vector<std::thread> senders;
  for (int i = 0; i < o.senders; ++i) {
    senders.emplace_back([&] {
      http::Client client("127.0.0.1", s.port, with_timeout(std::chrono::seconds(120)));
      while (true) {
        Clock::time_point arrival;
        {
          std::unique_lock lock(mutex);
          ready.wait(lock, [&] { return done || !arrivals.empty(); });
          if (arrivals.empty()) return;
          arrival = arrivals.front();
          arrivals.pop_front();
        }
        auto r = client.send(req);
        double ms = Millis(Clock::now() - arrival).count();
        std::lock_guard lock(results_mutex);
        if (r && r->status == 200)
          ok_ms.push_back(ms);
        else if (r && r->status == 429)
          throttled_ms.push_back(ms);
        else
          ++errors;
      }
    });
  }
  Observer observer(s.pid, s.port);
  auto started = Clock::now();
  auto interval = std::chrono::duration<double>(1.0 / rate);
  int64_t sent = 0;
  while (Clock::now() - started < std::chrono::seconds(o.duration_seconds)) {
    auto due = started + std::chrono::duration_cast<Clock::duration>(interval * sent);
    std::this_thread::sleep_until(due);
    {
      std::lock_guard lock(mutex);
      arrivals.push_back(due);
    }
    ready.notify_one();
    ++sent;
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  ready.notify_all();
  for (auto& t : senders) t.join();
  observer.finish();
  PhaseResult result;
  result.offered_rps = static_cast<double>(sent) / seconds;
  result.ok = static_cast<int64_t>(ok_ms.size());
  result.throttled = static_cast<int64_t>(throttled_ms.size());
  result.errors = errors;
  result.ok_rps = static_cast<double>(result.ok) / seconds;
  result.ok_ms = bench::percentiles(std::move(ok_ms));
  result.throttled_ms = bench::percentiles(std::move(throttled_ms));
  result.health_ms = bench::percentiles(std::move(observer.health_ms_));
  result.health_errors = observer.health_errors_;
  result.peak_rss_kib = observer.peak_rss_kib_;
  return result;
}

void print_phase(const char* name, double capacity, const PhaseResult& r) {
  std::printf("%s: offered %.1f req/s (%.2f x capacity), served %.1f req/s (%.2f x offered)\n",
              name, r.offered_rps, r.offered_rps / capacity, r.ok_rps,
              r.offered_rps > 0 ? r.ok_rps / r.offered_rps : 0.0);
  std::printf("  200: %lld  p50 %.1f ms  p99 %.1f ms  (p99/p50 %.2f)\n",
              static_cast<long long>(r.ok), r.ok_ms.p50, r.ok_ms.p99,
              r.ok_ms.p50 > 0 ? r.ok_ms.p99 / r.ok_ms.p50 : 0.0);
  std::printf("  429: %lld (%.1f%% of offered)  p50 %.2f ms  p99 %.2f ms\n",
              static_cast<long long>(r.throttled),
              100.0 * static_cast<double>(r.throttled) /
                  std::max<double>(1, static_cast<double>(r.ok + r.throttled + r.errors)),
              r.throttled_ms.p50, r.throttled_ms.p99);
  std::printf("  other errors: %lld\n", static_cast<long long>(r.errors));
  std::printf(
      "  /health during the phase: %zu probes  p50 %.2f ms  p99 %.2f ms  max %.2f ms"
      "  failures %d\n",
      r.health_ms.count, r.health_ms.p50, r.health_ms.p99, r.health_ms.max, r.health_errors);
  std::printf("  server peak RSS in phase: %.1f MiB\n", static_cast<double>(r.peak_rss_kib) / 1024);
}

}  // namespace

int run_load_bench(const LoadBenchOptions& o) {
  fs::path dir = fs::temp_directory_path() / ("plinth-load-" + std::to_string(::getpid()));
  auto served = start_server(o, dir);
  if (!served) {
    std::fprintf(stderr, "plinth bench load: %s\n", served.error().message.c_str());
    return 1;
  }
  http::Request req = converse_request(served->port, o.max_tokens);
  if (auto probe = http::request("127.0.0.1", served->port, req); !probe || probe->status != 200) {
    std::fprintf(stderr, "plinth bench load: a Converse call failed: %s\n",
                 probe ? probe->body.c_str() : probe.error().message.c_str());
    stop_plinth_serve(*served);
    return 1;
  }
  std::printf("plinth bench load: fixture qwen2-32-tied-q8_0, maxTokens %d, load average %s\n",
              o.max_tokens, bench::load_average().c_str());
  double capacity = measure_capacity(o, *served, req);
  std::printf("capacity (closed loop, %d clients, %d s): %.1f Converse/s\n", o.concurrency,
              o.capacity_seconds, capacity);
  int status = 0;
  if (capacity <= 0) {
    std::fprintf(stderr, "plinth bench load: no Converse call succeeded\n");
    status = 1;
  } else {
    PhaseResult normal = open_loop(o, *served, req, 0.8 * capacity);
    print_phase("open loop at 80%", capacity, normal);
    PhaseResult overload = open_loop(o, *served, req, 2.0 * capacity);
    print_phase("open loop at 200%", capacity, overload);
  }
  std::printf("server peak RSS over the run (VmHWM): %.1f MiB\n",
              static_cast<double>(rss_kib(served->pid, "VmHWM:")) / 1024);
  stop_plinth_serve(*served);
  std::error_code ec;
  fs::remove_all(dir, ec);
  return status;
}

}  // namespace plinth::cli
