// plinth-bench-engine: model throughput through the public engine API, plus matmul benchmarks.
#include "engine_bench.h"

int main(int argc, char** argv) { return plinth::bench::engine_bench_main(argc, argv); }
