// plinth bench …: benchmarks that print their figures.
#include "bench_gateway.h"
#include "commands.h"

namespace plinth::cli {

void add_bench_commands(CLI::App& app, Action* action) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print figures");
  bench->require_subcommand(1);

  auto g = std::make_shared<GatewayBenchOptions>();
  auto* gateway = bench->add_subcommand("gateway", "HTTP + SigV4 + policy + routing throughput");
  gateway->add_option("--iterations", g->iterations, "In-process iterations")->capture_default_str();
  gateway->add_option("--duration-ms", g->duration_ms, "Milliseconds per concurrency level")
      ->capture_default_str();
  gateway->add_option("--workers", g->worker_threads, "Server worker threads")->capture_default_str();
  gateway->callback([g, action] { *action = [g] { return run_gateway_bench(*g); }; });
}

}  // namespace plinth::cli
