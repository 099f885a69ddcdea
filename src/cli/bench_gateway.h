// plinth bench gateway.
#pragma once

namespace plinth::cli {

struct GatewayBenchOptions {
  int iterations = 20000;  // in-process SigV4 + policy + routing measurements
  int duration_ms = 3000;  // per concurrency level over HTTP
  int worker_threads = 8;
};

int run_gateway_bench(const GatewayBenchOptions& options);

}  // namespace plinth::cli
