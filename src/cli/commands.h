// The CLI's subcommands: each registers its options on a CLI11 app and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

#include "plinth/core/config.h"
#include "plinth/core/result.h"

namespace plinth::cli {

// A subcommand's action; returns the process exit code.
using Action = std::function<int()>;

// Each registers a subcommand and stores into *action what to run if it is chosen.
void add_engine_commands(CLI::App& app, Action* action);  // tokenize, generate, embed
void add_serve_command(CLI::App& app, Action* action);
void add_iam_commands(CLI::App& app, Action* action);
void add_bench_commands(CLI::App& app, Action* action);
void add_usage_command(CLI::App& app, Action* action);    // usage (the ledger report)
void add_extract_command(CLI::App& app, Action* action);  // extract (parse + schema extraction)
void add_jobs_commands(CLI::App& app, Action* action);    // jobs list, jobs dlq list|redrive
void add_kb_commands(CLI::App& app, Action* action);      // kb add, kb list (knowledge bases)
void add_store_commands(CLI::App& app, Action* action);   // store migrate (SQLite → PostgreSQL)

// The models `plinth serve` offers without --config (PLINTH_MODELS_DIR or the bundled models/).
Result<Config> default_config();
// The config file, or (none given) default_config().
Result<Config> load_cli_config(const std::string& config_file);

}  // namespace plinth::cli
