// The engine benchmark as a callable entry point (plinth-bench-engine and `plinth bench engine`).
#pragma once

namespace plinth::bench {

// Parses benchmark flags (--model, --threads, --matmul, --estimate, --type, --exact, ...) and
// prints the results to stdout; returns a process exit status.
int engine_bench_main(int argc, char** argv);

}  // namespace plinth::bench
