// Sampler benchmark: microseconds per token at Qwen2's 151,936-token vocabulary for each
// combination of settings, the fast sampler against the sort-everything reference in the same run.
#pragma once

namespace plinth::bench {

// Returns nonzero when a case misses the 50 µs target.
int run_sampler_bench(double seconds_per_case);

}  // namespace plinth::bench
