// `plinth bench structured`: compile time, mask time and coverage over a folder of schemas.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/engine/engine.h"

namespace plinth::structured {

struct StructuredBenchOptions {
  // Folder of *.json schemas; each subfolder is reported as a set (JSONSchemaBench layout).
  std::filesystem::path schemas;
  // With a tokenizer, outputs are sampled token by token through the constraint (and masks are
  // timed); without one, byte by byte through the matcher.
  const engine::Tokenizer* tokenizer = nullptr;
  int32_t max_schemas_per_set = 0;  // 0 = all
  int32_t max_tokens = 512;         // budget per output (token mode; steering closes the JSON)
  uint64_t seed = 1;
};

struct SetCoverage {
  std::string name;
  int32_t total = 0;
  int32_t compiled = 0;   // compile_schema succeeded
  int32_t generated = 0;  // a random walk finished a complete output
  int32_t valid = 0;      // ... and valijson accepted it
};

struct StructuredBenchReport {
  std::vector<SetCoverage> sets;
  double compile_ms_avg = 0, compile_ms_p50 = 0, compile_ms_p99 = 0;
  int64_t masks = 0;
  double mask_us_avg = 0, mask_us_p50 = 0, mask_us_p99 = 0;
  std::vector<std::string> failures;  // "file: reason" for outputs that did not finish/validate
};

Result<StructuredBenchReport> run_structured_bench(const StructuredBenchOptions& options);

// A plain-text table of the report.
std::string format_report(const StructuredBenchReport& report);

}  // namespace plinth::structured
