// plinth bench …: benchmarks that print their figures.
#include "commands.h"

namespace plinth::cli {

void add_bench_commands(CLI::App& app, Action* action) {
  auto* bench = app.add_subcommand("bench", "Benchmarks that print figures");
  bench->require_subcommand(1);
  (void)action;
}

}  // namespace plinth::cli
