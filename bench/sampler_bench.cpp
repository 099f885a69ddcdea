// Sampler benchmark (see sampler_bench.h). Logit shapes: "flat" is what random-weight fixtures
// produce (the worst case for top-p: the nucleus is most of the vocabulary), "peaked" is a trained
// model's few likely tokens and long tail, "masked" a schema mask leaving 1 token in 7.
#include "sampler_bench.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "bench_stats.h"
#include "model/sampler.h"
#include "model/sampler_reference.h"

namespace plinth::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kVocab = 151936;
constexpr double kTargetMicros = 50.0;

std::vector<std::vector<float>> logit_rows(const std::string& shape, int rows) {
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<float> flat(-1.0f, 1.0f);
  std::normal_distribution<float> normal(0.0f, 3.0f);
  std::vector<std::vector<float>> out(static_cast<size_t>(rows), std::vector<float>(kVocab));
  for (auto& row : out) {
    for (size_t i = 0; i < kVocab; ++i) {
      if (shape == "flat") row[i] = flat(rng);
      if (shape == "peaked") row[i] = normal(rng) + (rng() % 1000 == 0 ? 12.0f : 0.0f);
      if (shape == "masked")
        row[i] = i % 7 == 3 ? flat(rng) : -std::numeric_limits<float>::infinity();
    }
  }
  return out;
}

struct Setting {
  const char* name;
  engine::SamplingParams params;
  int logprobs = 0;
};

// Microseconds per token, cycling through rows so that caches see fresh logits: the median of
// kWindows windows of seconds / kWindows each, so that a stall of the shared machine (another
// process taking a core for a few milliseconds) moves one window, not the figure.
constexpr int kWindows = 5;
template <typename SamplerT>
double micros_per_token(const Setting& s, const std::vector<std::vector<float>>& rows,
                        double seconds, int min_tokens, engine::PassThreads threads = {}) {
  SamplerT sampler = [&] {
    if constexpr (std::is_constructible_v<SamplerT, engine::SamplingParams, bool,
                                          engine::PassThreads>) {
      return SamplerT(s.params, s.logprobs > 0, threads);
    } else {
      return SamplerT(s.params);
    }
  }();
  std::vector<double> windows;
  int tokens = 0;
  volatile int sink = 0;
  for (int window = 0; window < kWindows; ++window) {
    const int first = tokens;
    const auto start = Clock::now();
    double elapsed = 0;
    while (tokens - first < min_tokens || elapsed < seconds / kWindows) {
      const auto& row = rows[static_cast<size_t>(tokens) % rows.size()];
      // As a generation step does it: sample, then log-probs (reusing the sampler's log-sum-exp or,
      // failing that, its largest logit).
      sink = sink + sampler.sample(row).value_or(0);
      if (s.logprobs > 0) {
        double lse = 0;
        if constexpr (requires { sampler.raw_log_sum_exp(row); }) {
          lse = sampler.raw_log_sum_exp(row);
        } else {
          lse = engine::log_sum_exp(row);
        }
        if constexpr (requires { sampler.top_logprobs(row, s.logprobs, lse); }) {
          sink = sink + static_cast<int>(sampler.top_logprobs(row, s.logprobs, lse).size());
        } else {
          sink = sink + static_cast<int>(engine::top_logprobs(row, s.logprobs, lse).size());
        }
      }
      ++tokens;
      elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    }
    windows.push_back(elapsed * 1e6 / (tokens - first));
  }
  std::nth_element(windows.begin(), windows.begin() + kWindows / 2, windows.end());
  return windows[kWindows / 2];
}

// Spins for `micros` on this thread; the spin count, so that the work is not optimized away.
uint64_t spin(int micros) {
  const auto until = Clock::now() + std::chrono::microseconds(micros);
  uint64_t spins = 0;
  while (Clock::now() < until) ++spins;
  return spins;
}

// The server samples right after a forward pass, when the pool's workers are busy on cores of
// their own. Before the pooled measurements the bench gets there too: it runs two 2 ms chunks on
// the pool until they finish together in under 3 ms (two cores at work), a few tries at most. A
// worker that slept during the one-thread and reference runs may first wake on the caller's core,
// where it only takes turns with the caller until the kernel moves it. Returns the milliseconds
// the last try took: ~2 when two cores ran it, ~4 when one did (on a virtual machine the second
// core may be a busy host's), printed with the figures it qualifies.
double engage(engine::ThreadPool& pool) {
  std::atomic<uint64_t> sink{0};
  double ms = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const auto start = Clock::now();
    pool.parallel_for(2, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) sink += spin(2000);
    });
    ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (ms < 3.0) break;
    sink += spin(5000);  // leave the kernel a moment to balance
  }
  return ms;
}

}  // namespace

int run_sampler_bench(double seconds_per_case) {
  const Setting settings[] = {
      {"greedy", {}},
      {"T=1 (Bedrock default)", {.temperature = 1.0f}},
      {"T=0.7 top_p=0.9", {.temperature = 0.7f, .top_p = 0.9f}},
      {"T=1 top_k=40", {.temperature = 1.0f, .top_k = 40}},
      {"T=1 min_p=0.05", {.temperature = 1.0f, .min_p = 0.05f}},
      {"T=1 k=250 p=0.95 min_p=0.05",
       {.temperature = 1.0f, .top_k = 250, .top_p = 0.95f, .min_p = 0.05f}},
      {"T=1 top_p=0.9 + 5 logprobs", {.temperature = 1.0f, .top_p = 0.9f}, 5},
  };
  // As the server runs it: the model's two-thread pool lent to the vocabulary passes (the target
  // applies to this column); on one thread alongside.
  engine::ThreadPool pool(2);
  std::mutex pool_mutex;
  const engine::PassThreads lent{.pool = &pool, .mutex = &pool_mutex};
  std::printf(
      "sampler, vocabulary %zu, load average %s (us per token, median of %d windows; fast = "
      "passes on the model's %d-thread pool as the server runs them, 1 thread alongside; "
      "reference = sort every candidate, 1 thread, same run)\n",
      kVocab, load_average().c_str(), kWindows, pool.size());
  std::printf("%-8s %-30s %10s %10s %12s %8s\n", "logits", "setting", "fast us", "1 thread",
              "reference us", "speedup");
  int missed = 0;
  double worst = 0;
  auto judge = [&](double fast) {
    worst = std::max(worst, fast);
    if (fast > kTargetMicros) ++missed;
    return fast <= kTargetMicros ? "PASS" : "MISS";
  };
  // Per shape, every pooled figure first (the pool busy throughout, as in the server), then the
  // one-thread and reference figures, which leave the pool's worker asleep.
  for (const char* shape : {"flat", "peaked", "masked"}) {
    const auto rows = logit_rows(shape, 8);
    std::vector<double> fast;
    std::printf("%-8s pool check: two 2 ms chunks in %.1f ms\n", shape, engage(pool));
    for (const Setting& s : settings)
      fast.push_back(micros_per_token<engine::Sampler>(s, rows, seconds_per_case, 50, lent));
    for (size_t i = 0; i < std::size(settings); ++i) {
      const Setting& s = settings[i];
      const double single = micros_per_token<engine::Sampler>(s, rows, seconds_per_case / 2, 50);
      const double reference =
          micros_per_token<engine::ReferenceSampler>(s, rows, seconds_per_case / 4, 3);
      std::printf("%-8s %-30s %10.1f %10.1f %12.1f %7.0fx %s\n", shape, s.name, fast[i], single,
                  reference, reference / fast[i], judge(fast[i]));
    }
  }
  // Every combination (fast sampler only): temperature x top-k x top-p x min-p x logprobs.
  std::printf("\nevery combination (target <= %.0f us per token)\n", kTargetMicros);
  std::printf("%-8s %-38s %10s %10s %6s\n", "logits", "setting", "fast us", "1 thread", "");
  for (const char* shape : {"flat", "peaked", "masked"}) {
    const auto rows = logit_rows(shape, 8);
    std::vector<Setting> combinations;
    for (int logprobs : {0, 5}) {
      for (float t : {0.0f, 1.0f, 0.7f}) {
        for (int32_t k : {0, 40}) {
          for (float p : {1.0f, 0.9f}) {
            for (float min_p : {0.0f, 0.05f}) {
              if (t == 0.0f && (k != 0 || p != 1.0f || min_p != 0.0f)) continue;  // greedy
              combinations.push_back(
                  {"", {.temperature = t, .top_k = k, .top_p = p, .min_p = min_p}, logprobs});
            }
          }
        }
      }
    }
    std::vector<double> fast;
    std::printf("%-8s pool check: two 2 ms chunks in %.1f ms\n", shape, engage(pool));
    for (const Setting& s : combinations)
      fast.push_back(micros_per_token<engine::Sampler>(s, rows, seconds_per_case / 5, 50, lent));
    for (size_t i = 0; i < combinations.size(); ++i) {
      const Setting& s = combinations[i];
      const double single = micros_per_token<engine::Sampler>(s, rows, seconds_per_case / 5, 50);
      char name[96];
      std::snprintf(name, sizeof name, "T=%.1f k=%d p=%.2f min_p=%.2f logprobs=%d",
                    s.params.temperature, s.params.top_k, s.params.top_p, s.params.min_p,
                    s.logprobs);
      std::printf("%-8s %-38s %10.1f %10.1f %6s\n", shape, name, fast[i], single, judge(fast[i]));
    }
  }
  std::printf("sampler worst case %.1f us per token (target <= %.0f us): %s (%d missed)\n", worst,
              kTargetMicros, missed == 0 ? "met" : "MISSED", missed);
  return missed == 0 ? 0 : 1;
}

}  // namespace plinth::bench
