// plinth: the command-line entry point.
#include <cstdio>
#include <exception>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"Plinth: a self-hosted, Bedrock-compatible AI gateway"};
  app.require_subcommand(1);
  plinth::cli::Action action;
  plinth::cli::add_serve_command(app, &action);
  plinth::cli::add_iam_commands(app, &action);
  plinth::cli::add_engine_commands(app, &action);
  plinth::cli::add_bench_commands(app, &action);
  plinth::cli::add_usage_command(app, &action);
  plinth::cli::add_extract_command(app, &action);
  plinth::cli::add_jobs_commands(app, &action);
  plinth::cli::add_kb_commands(app, &action);
  plinth::cli::add_store_commands(app, &action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  try {
    return action ? action() : 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "plinth: %s\n", e.what());
    return 1;
  }
}
