// plinth bench streams: N concurrent ConverseStream calls against a real `plinth serve`; prints
// aggregate and per-stream tokens/s and time to first token for each N, and the aggregate
// speed-up over one stream measured in the same run.
#pragma once

#include <string>
#include <vector>

namespace plinth::cli {

struct StreamsBenchOptions {
  std::string model;  // GGUF; default: the fixture qwen2-32-tied-q8_0 in the models folder
  std::vector<int> streams = {1, 4, 16};
  int max_tokens = 128;  // long enough that 16 prompts prefilled together do not dominate
  int rounds = 3;        // the median round per N is reported
  float temperature = 1.0f;
};

int run_streams_bench(const StreamsBenchOptions& options);

}  // namespace plinth::cli
