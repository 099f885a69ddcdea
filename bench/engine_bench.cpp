// engine_bench_main: model prompt / decode throughput through the public engine API.
#include "engine_bench.h"

#include <sys/mman.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gguf/gguf_file.h"
#include "matmul_bench.h"
#include "plinth/engine/engine.h"
#include "sampler_bench.h"

namespace {

using namespace plinth;
using Clock = std::chrono::steady_clock;

// Keeps a random model generating to max_tokens: end-of-generation tokens are never allowed.
class NoEndConstraint : public engine::TokenConstraint {
 public:
  explicit NoEndConstraint(const engine::Tokenizer& tok) : tok_(tok) {}
  bool allows(engine::TokenId t) override { return !tok_.is_end_of_generation(t); }
  void fill_mask(std::span<uint8_t> allowed) override {
    for (size_t i = 0; i < allowed.size(); ++i)
      if (tok_.is_end_of_generation(static_cast<engine::TokenId>(i))) allowed[i] = 0;
  }
  void accept(engine::TokenId) override {}
  bool is_complete() const override { return false; }

 private:
  const engine::Tokenizer& tok_;
};

std::vector<engine::TokenId> prompt_tokens(int n, int vocab, int salt) {
  std::vector<engine::TokenId> ids;
  for (int i = 0; i < n; ++i)
    ids.push_back(static_cast<engine::TokenId>((1000 + i * 37 + salt * 101) % vocab));
  return ids;
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// Bytes one decode step reads: every tensor, except the token embedding when the model has its
// own output matrix (then only one embedding row is read per token).
uint64_t decode_bytes_per_token(const std::filesystem::path& path) {
  auto file = engine::GgufFile::open(path);
  if (!file) return 0;
  const bool tied = (*file)->tensor("output.weight") == nullptr;
  uint64_t bytes = 0;
  for (const auto& t : (*file)->tensors()) {
    if (t.name == "token_embd.weight" && !tied) continue;
    bytes += t.n_bytes;
  }
  return bytes;
}

// Streaming read bandwidth of `threads` threads over 1 GiB (far beyond the caches), best of 3:
// the ceiling one-sequence decode is measured against, taken in the same run. The buffer is in
// transparent huge pages like the model's weights (Residency::kHugePages): small pages read ~5%
// slower here, and the ceiling should be the one the weights could reach. It is allocated and
// touched once; each measure() reads it again.
class BandwidthProbe {
 public:
  static constexpr size_t kBytes = size_t{1} << 30, kHugePage = size_t{2} << 20;

  explicit BandwidthProbe(int threads) : threads_(threads) {
    mapping_ = mmap(nullptr, kBytes + kHugePage, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapping_ == MAP_FAILED) {
      mapping_ = nullptr;
      return;
    }
    const auto misalignment = reinterpret_cast<uintptr_t>(mapping_) % kHugePage;
    words_ = reinterpret_cast<uint64_t*>(static_cast<uint8_t*>(mapping_) +
                                         (kHugePage - misalignment) % kHugePage);
    (void)madvise(words_, kBytes, MADV_HUGEPAGE);
    std::fill(words_, words_ + kBytes / sizeof(uint64_t), uint64_t{1});  // touched: resident
  }
  ~BandwidthProbe() {
    if (mapping_ != nullptr) munmap(mapping_, kBytes + kHugePage);
  }
  BandwidthProbe(const BandwidthProbe&) = delete;
  BandwidthProbe& operator=(const BandwidthProbe&) = delete;

  double measure() {
    if (words_ == nullptr) return 0;
    const size_t words = kBytes / sizeof(uint64_t);
    double best = 0;
    std::atomic<uint64_t> sink{0};
    for (int rep = 0; rep < 3; ++rep) {
      const auto start = Clock::now();
      std::vector<std::thread> readers;
      for (int t = 0; t < threads_; ++t) {
        readers.emplace_back([&, t] {
          const size_t begin = words * t / threads_, end = words * (t + 1) / threads_;
          uint64_t acc[8] = {};
          for (size_t i = begin; i + 8 <= end; i += 8)
            for (int j = 0; j < 8; ++j) acc[j] += words_[i + j];
          uint64_t sum = 0;
          for (uint64_t a : acc) sum += a;
          sink += sum;
        });
      }
      for (auto& r : readers) r.join();
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      best = std::max(best, static_cast<double>(kBytes) / 1e9 / seconds);
    }
    return sink.load() == 0 ? 0 : best;
  }

 private:
  int threads_;
  void* mapping_ = nullptr;
  uint64_t* words_ = nullptr;
};

// One-sequence decode against the bandwidth, in alternating windows: each window decodes, then
// reads memory right after. On a shared machine the neighbours' load moves both figures over
// seconds; pairing each decode with the probe beside it, and taking the median of the windows,
// keeps that drift out of the fraction.
constexpr int kBandwidthWindows = 5;

int run_model_bench(const std::filesystem::path& path, int threads, bool exact, int decode_tokens,
                    const std::vector<int>& sequences, bool decode_only) {
  engine::LoadOptions options;
  options.threads = threads;
  auto start = Clock::now();
  auto loaded = engine::Model::load(path, options);
  if (!loaded) {
    std::fprintf(stderr, "load failed: %s\n", loaded.error().message.c_str());
    return 1;
  }
  auto model = *loaded;
  double load_s = std::chrono::duration<double>(Clock::now() - start).count();
  const int vocab = model->tokenizer().vocab_size();
  std::printf("\n== model %s (%s, %d layers, %.1f MB file), loaded in %.2f s, %s path ==\n",
              path.filename().c_str(), model->info().architecture.c_str(), model->info().layers,
              std::filesystem::file_size(path) / 1e6, load_s, exact ? "exact" : "fast");

  if (!decode_only) {  // Prompt processing: 128 tokens, one generated.
    engine::GenerateRequest req;
    req.prompt = prompt_tokens(128, vocab, 0);
    req.max_tokens = 1;
    req.exact = exact;
    (void)model->generate(req);  // warm up
    req.prompt = prompt_tokens(128, vocab, 1);
    start = Clock::now();
    auto r = model->generate(req);
    double s = std::chrono::duration<double>(Clock::now() - start).count();
    if (!r) {
      std::fprintf(stderr, "generate failed: %s\n", r.error().message.c_str());
      return 1;
    }
    std::printf("prompt: 128 tokens in %.3f s = %.1f tok/s\n", s, 128 / s);
  }
  if (!exact &&
      !decode_only) {  // Prompt cache: time to first token with a 1,000-token prefix seen before.
    const int prefix = std::min(1000, model->info().context_window - 16);
    std::vector<double> cold, warm;
    for (int round = 0; round < 3; ++round) {
      auto base = prompt_tokens(prefix, vocab, 100 + round);
      engine::GenerateRequest req;
      req.max_tokens = 1;
      req.prompt = base;
      req.prompt.insert(req.prompt.end(), {11, 12, 13});
      start = Clock::now();
      auto first = model->generate(req);
      cold.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      req.prompt = base;
      req.prompt.insert(req.prompt.end(), {21, 22, 23, 24});
      start = Clock::now();
      auto second = model->generate(req);
      warm.push_back(std::chrono::duration<double>(Clock::now() - start).count());
      if (!first || !second || second->cached_prompt_tokens != prefix) {
        std::fprintf(stderr, "prompt cache: the prefix was not reused\n");
        return 1;
      }
    }
    std::sort(cold.begin(), cold.end());
    std::sort(warm.begin(), warm.end());
    std::printf(
        "prompt cache: %d-token prefix, first token uncached %.1f ms, cached %.1f ms "
        "(%.1fx faster; median of 3)\n",
        prefix, cold[1] * 1e3, warm[1] * 1e3, cold[1] / warm[1]);

    // Requests that arrive together sharing a prefix (instructions before each document): the
    // first computes it and the others reuse it, against each computing it (cache_prompt off, as
    // concurrent calls did before they waited for one another). A fresh prefix for each, so the
    // cache starts cold.
    constexpr int kTogether = 4;
    const int shared_prefix = std::min(500, model->info().context_window - 16);
    auto together = [&](bool share, int seed) -> std::optional<double> {
      const auto base = prompt_tokens(shared_prefix, vocab, seed);
      std::atomic<bool> failed{false};
      std::vector<std::thread> callers;
      const auto begin = Clock::now();
      for (int c = 0; c < kTogether; ++c) {
        callers.emplace_back([&, c] {
          engine::GenerateRequest one;
          one.max_tokens = 1;
          one.cache_prompt = share;
          one.prompt = base;
          one.prompt.insert(one.prompt.end(), {static_cast<engine::TokenId>(30 + c), 31, 32});
          if (!model->generate(one)) failed = true;
        });
      }
      for (auto& t : callers) t.join();
      if (failed) return std::nullopt;
      return std::chrono::duration<double>(Clock::now() - begin).count();
    };
    const auto apart = together(false, 200), shared = together(true, 201);
    if (!apart || !shared) {
      std::fprintf(stderr, "prompt cache: concurrent requests failed\n");
      return 1;
    }
    std::printf(
        "prompt cache: %d requests at once sharing a %d-token prefix, every first token in "
        "%.1f ms shared, %.1f ms each computing it (%.1fx faster)\n",
        kTogether, shared_prefix, *shared * 1e3, *apart * 1e3, *apart / *shared);
  }
  const int readers = threads > 0 ? threads : static_cast<int>(std::thread::hardware_concurrency());
  const double per_token_gb = static_cast<double>(decode_bytes_per_token(path)) / 1e9;
  std::unique_ptr<BandwidthProbe> probe;
  // tokens/s, CPU seconds per token, of `concurrency` sequences decoding decode_tokens each.
  auto decode = [&](int concurrency) -> std::optional<std::pair<double, double>> {
    std::atomic<int64_t> generated{0};
    std::atomic<bool> failed{false};
    std::vector<std::thread> clients;
    const auto begin = Clock::now();
    const double cpu_start = process_cpu_seconds();
    for (int c = 0; c < concurrency; ++c) {
      clients.emplace_back([&, c] {
        NoEndConstraint constraint(model->tokenizer());
        engine::GenerateRequest req;
        req.prompt = prompt_tokens(8, vocab, c + 2);
        req.max_tokens = decode_tokens;
        req.exact = exact;
        req.constraint = &constraint;
        auto r = model->generate(req);
        if (!r) {
          failed = true;
          return;
        }
        generated += r->generated_tokens;
      });
    }
    for (auto& t : clients) t.join();
    const double s = std::chrono::duration<double>(Clock::now() - begin).count();
    const double cpu = process_cpu_seconds() - cpu_start;
    if (failed || generated == 0) return std::nullopt;
    return std::pair{static_cast<double>(generated) / s, cpu / static_cast<double>(generated)};
  };
  for (int concurrency : sequences) {
    const int windows = concurrency == 1 ? kBandwidthWindows : 1;
    if (concurrency == 1 && probe == nullptr) probe = std::make_unique<BandwidthProbe>(readers);
    std::vector<double> rates, cpu_per_token, bandwidths, fractions;
    for (int w = 0; w < windows; ++w) {
      const auto measured = decode(concurrency);
      if (!measured) {
        std::fprintf(stderr, "generate failed at concurrency %d\n", concurrency);
        return 1;
      }
      rates.push_back(measured->first);
      cpu_per_token.push_back(measured->second);
      if (concurrency == 1) {
        bandwidths.push_back(probe->measure());
        fractions.push_back(
            bandwidths.back() > 0 ? per_token_gb * measured->first / bandwidths.back() : 0.0);
      }
    }
    auto median = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v[v.size() / 2];
    };
    const double rate = median(rates);
    // CPU time (all threads, spinning included) per step of `concurrency` tokens: on a shared
    // machine a fairer figure than wall time.
    std::printf(
        "decode: %2d sequences x %d tokens: %.1f tok/s total (%.1f per sequence), "
        "CPU %.1f ms per step%s\n",
        concurrency, decode_tokens, rate, rate / concurrency,
        median(cpu_per_token) * 1e3 * concurrency, windows > 1 ? " (median of windows)" : "");
    if (concurrency == 1) {
      std::string each;
      for (size_t w = 0; w < fractions.size(); ++w) {
        char part[64];
        std::snprintf(part, sizeof part, "%s%.1f tok/s / %.1f GB/s = %.0f%%", w ? "; " : "",
                      rates[w], bandwidths[w], 100 * fractions[w]);
        each += part;
      }
      std::printf(
          "decode bandwidth: %.1f MB read per token; %d windows, each decoding %d tokens then "
          "reading memory with %d threads: %s\n"
          "decode bandwidth: median %.0f%% of the bandwidth measured beside it (target >= 65%%)\n",
          per_token_gb * 1e3, windows, decode_tokens, readers, each.c_str(),
          100 * median(fractions));
    }
  }
  std::printf("peak RSS: %.1f MB\n", peak_rss_mb());
  return 0;
}

}  // namespace

namespace plinth::bench {

int engine_bench_main(int argc, char** argv) {
  CLI::App app{"Plinth engine benchmark."};
  std::string model_path, arch = "qwen2", recipe_name = "q8_0";
  int threads = 0, decode_tokens = 32;
  bool exact = false, micro = false, estimate = false, sampler = false, decode_only = false;
  std::vector<int> sequences = {1, 4, 16};
  double seconds = 0.5;
  app.add_option("--model", model_path, "GGUF model: prompt / decode tokens/s through Model");
  app.add_option("--threads", threads, "0: hardware concurrency");
  app.add_option("--decode-tokens", decode_tokens, "tokens generated per sequence");
  app.add_option("--sequences", sequences, "concurrent sequences to decode (default 1 4 16)");
  app.add_flag("--exact", exact, "F32 activations (the exact path)");
  app.add_flag("--decode-only", decode_only, "skip the prompt and prompt-cache figures");
  app.add_flag("--matmul", micro, "matmul microbenchmark: scalar vs AVX2 vs AVX-512");
  app.add_flag("--estimate", estimate, "Qwen2-0.5B-shaped matmul-only decode / prompt estimate");
  app.add_flag("--sampler", sampler, "sampler: us per token at 151,936 tokens vs sorting");
  app.add_option("--type", recipe_name, "estimate quantization: q8_0 | q4_k_m | f16 | ...");
  app.add_option("--seconds", seconds, "time budget per microbenchmark case");
  CLI11_PARSE(app, argc, argv);
  if (model_path.empty() && !micro && !estimate && !sampler) micro = estimate = sampler = true;

  int status = 0;
  if (!model_path.empty())
    status |= run_model_bench(model_path, threads, exact, decode_tokens, sequences, decode_only);
  if (estimate) {
    auto recipe = plinth::tools::parse_recipe(recipe_name);
    if (!recipe) {
      std::fprintf(stderr, "unknown --type %s\n", recipe_name.c_str());
      return 2;
    }
    plinth::tools::ModelShape shape = plinth::tools::qwen2_0_5b_shape();
    shape.architecture = arch;
    plinth::bench::run_model_estimate(shape, *recipe, threads, exact);
    std::printf("peak RSS: %.1f MB\n", peak_rss_mb());
  }
  if (micro) plinth::bench::run_matmul_microbench(threads, seconds);
  if (sampler) status |= plinth::bench::run_sampler_bench(seconds);
  return status;
}

}  // namespace plinth::bench
