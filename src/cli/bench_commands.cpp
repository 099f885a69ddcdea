// plinth bench …: benchmarks that print their figures.
#include <cstdio>
#include <iostream>

#include "bench_gateway.h"
#include "bench_load.h"
#include "bench_streams.h"
#include "commands.h"
#include "documents_bench.h"
#include "engine_bench.h"
#include "plinth/core/log.h"
#include "plinth/engine/engine.h"
#include "plinth/structured/bench.h"

namespace plinth::cli {
namespace {

struct StructuredBenchCli {
  std::string schemas;
  std::string model;  // optional: constrain through this model's tokenizer
  int per_set = 0;
  int max_tokens = 512;
  uint64_t seed = 1;
};

int run_structured(const StructuredBenchCli& o) {
  structured::StructuredBenchOptions options;
  options.schemas = o.schemas;
  options.max_schemas_per_set = o.per_set;
  options.max_tokens = o.max_tokens;
  options.seed = o.seed;
  std::shared_ptr<engine::Model> model;
  if (!o.model.empty()) {
    auto loaded = engine::Model::load(o.model);
    if (!loaded) {
      std::fprintf(stderr, "plinth bench structured: %s\n", loaded.error().message.c_str());
      return 1;
    }
    model = *loaded;
    options.tokenizer = &model->tokenizer();
  }
  auto report = structured::run_structured_bench(options);
  if (!report) {
    std::fprintf(stderr, "plinth bench structured: %s\n", report.error().message.c_str());
    return 1;
  }
  std::cout << structured::format_report(*report);
  return 0;
}

struct DocumentsBenchCli {
  bench::DocumentsBenchOptions options;
  std::string config_file;
};

// Without --config the bundled models run with short outputs, so that the default 20 documents
// finish in about a minute on 2 cores; a config file's [documents] table is used as written.
constexpr int kBenchExtractMaxTokens = 128;
constexpr int kBenchAnalysisMaxTokens = 48;

int run_documents(const DocumentsBenchCli& o) {
  auto config = load_cli_config(o.config_file);
  if (config) {
    if (auto valid = validate_config(*config); !valid) config = std::unexpected(valid.error());
  }
  if (!config) {
    std::fprintf(stderr, "plinth bench documents: %s\n", config.error().message.c_str());
    return 2;
  }
  if (o.config_file.empty()) {
    config->documents.extract_max_tokens = kBenchExtractMaxTokens;
    config->documents.analysis_max_tokens = kBenchAnalysisMaxTokens;
  }
  log::init("warn");  // the figures, not the workers' per-job lines
  return bench::run_documents_bench(o.options, *config);
}

}  // namespace

void add_bench_commands(CLI::App& app, Action* action) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print figures");
  bench->require_subcommand(1);

  auto g = std::make_shared<GatewayBenchOptions>();
  auto* gateway = bench->add_subcommand("gateway", "HTTP + SigV4 + policy + routing throughput");
  gateway->add_option("--iterations", g->iterations, "In-process iterations")
      ->capture_default_str();
  gateway->add_option("--duration-ms", g->duration_ms, "Milliseconds per concurrency level")
      ->capture_default_str();
  gateway->add_option("--workers", g->worker_threads, "Server worker threads")
      ->capture_default_str();
  gateway->callback([g, action] { *action = [g] { return run_gateway_bench(*g); }; });

  auto l = std::make_shared<LoadBenchOptions>();
  l->models_dir = PLINTH_BUNDLED_MODELS_DIR;
  auto* load = bench->add_subcommand(
      "load", "Starts plinth serve; Converse capacity, then open loop at 80% and 200% of it");
  load->add_option("--models-dir", l->models_dir, "Folder with the fixture model")
      ->capture_default_str();
  load->add_option("--capacity-seconds", l->capacity_seconds, "Closed-loop measurement")
      ->capture_default_str();
  load->add_option("--duration-seconds", l->duration_seconds, "Each open-loop phase")
      ->capture_default_str();
  load->add_option("--concurrency", l->concurrency, "Closed-loop clients")->capture_default_str();
  load->add_option("--max-tokens", l->max_tokens, "maxTokens per Converse")->capture_default_str();
  load->add_option("--senders", l->senders, "Open-loop sender threads")->capture_default_str();
  load->add_option("--worker-threads", l->worker_threads, "Server worker threads (0: default)");
  load->add_option("--max-queued", l->max_queued_requests,
                   "Server [server] max_queued_requests (0: default)");
  load->callback([l, action] { *action = [l] { return run_load_bench(*l); }; });

  auto st_options = std::make_shared<StreamsBenchOptions>();
  st_options->model = std::string(PLINTH_BUNDLED_MODELS_DIR) + "/qwen2-32-tied-q8_0.gguf";
  auto* streams = bench->add_subcommand(
      "streams", "Starts plinth serve; N concurrent ConverseStream calls: tokens/s and TTFT");
  streams->add_option("--model", st_options->model, "GGUF text model")->capture_default_str();
  streams->add_option("--streams", st_options->streams, "Concurrent streams per measurement")
      ->capture_default_str();
  streams->add_option("--max-tokens", st_options->max_tokens, "maxTokens per call")
      ->capture_default_str();
  streams
      ->add_option("--rounds", st_options->rounds,
                   "Rounds, each running every N once (medians reported)")
      ->capture_default_str();
  streams->add_option("--temperature", st_options->temperature, "Sampling temperature")
      ->capture_default_str();
  streams->callback(
      [st_options, action] { *action = [st_options] { return run_streams_bench(*st_options); }; });

  // The engine benchmark parses its own flags (--model F --threads N --matmul --estimate ...).
  auto* engine = bench->add_subcommand(
      "engine", "Prompt and decode tokens/s at 1, 4 and 16 sequences, peak RSS (--model F)");
  engine->allow_extras();
  engine->prefix_command();
  engine->callback([engine, action] {
    std::vector<std::string> args = engine->remaining();
    *action = [args] {
      std::vector<std::string> argv_storage{"plinth bench engine"};
      argv_storage.insert(argv_storage.end(), args.begin(), args.end());
      std::vector<char*> argv;
      for (auto& a : argv_storage) argv.push_back(a.data());
      argv.push_back(nullptr);
      return bench::engine_bench_main(static_cast<int>(argv_storage.size()), argv.data());
    };
  });

  auto s = std::make_shared<StructuredBenchCli>();
  auto* st = bench->add_subcommand("structured",
                                   "Schema compile and mask times, JSONSchemaBench coverage");
  st->add_option("--schemas", s->schemas, "Folder of schemas (JSONSchemaBench layout)")
      ->required()
      ->check(CLI::ExistingDirectory);
  st->add_option("--model", s->model, "GGUF model whose tokenizer the masks are computed for")
      ->check(CLI::ExistingFile);
  st->add_option("--per-set", s->per_set, "Schemas per set (0 = all)");
  st->add_option("--max-tokens", s->max_tokens, "Token budget per output")->capture_default_str();
  st->add_option("--seed", s->seed, "Random walk seed");
  st->callback([s, action] { *action = [s] { return run_structured(*s); }; });

  auto d = std::make_shared<DocumentsBenchCli>();
  auto* docs = bench->add_subcommand(
      "documents",
      "Documents/s and time to result for multi-page PDFs, queue enqueue->claim latency, vector "
      "search recall@10 and latency");
  docs->add_option("--documents", d->options.documents, "PDFs submitted at once")
      ->capture_default_str();
  docs->add_option("--pages", d->options.pages, "Pages per PDF")->capture_default_str();
  docs->add_option("--workers", d->options.workers, "Pipeline worker threads")
      ->capture_default_str();
  docs->add_option("--vectors", d->options.vectors, "Vectors in the searched index")
      ->capture_default_str();
  docs->add_option("--dimensions", d->options.dimensions, "Vector dimensions")
      ->capture_default_str();
  docs->add_option("--queue-jobs", d->options.queue_jobs, "Jobs for the enqueue->claim latency")
      ->capture_default_str();
  docs->add_flag("--skip-vectors", d->options.skip_vectors, "Skip the vector-search part");
  docs->add_option("--data-dir", d->options.data_dir,
                   "Folder for the benchmark's SQLite files (default: a temp dir, removed)");
  docs->add_option("--storage-url", d->options.storage_url,
                   "postgresql://… (an empty database): the pipeline part on PostgreSQL");
  docs->add_option("--config", d->config_file, "TOML config file (default: the bundled models)")
      ->check(CLI::ExistingFile);
  docs->callback([d, action] { *action = [d] { return run_documents(*d); }; });
}

}  // namespace plinth::cli
