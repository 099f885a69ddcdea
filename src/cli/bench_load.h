// plinth bench load: a real `plinth serve` driven closed-loop, then open-loop at 80% and 200%.
#pragma once

#include <string>

namespace plinth::cli {

struct LoadBenchOptions {
  std::string models_dir = "models";  // holds qwen2-32-tied-q8_0.gguf (the fixture model)
  int capacity_seconds = 10;          // closed loop: measures Converse capacity
  int duration_seconds = 60;          // each open-loop phase
  int concurrency = 16;               // closed-loop clients
  int max_tokens = 16;
  int senders = 256;            // open loop: threads that send; arrivals never wait for a response
  int worker_threads = 0;       // the server's; 0: its default
  int max_queued_requests = 0;  // the server's; 0: its default
};

int run_load_bench(const LoadBenchOptions& options);

}  // namespace plinth::cli
