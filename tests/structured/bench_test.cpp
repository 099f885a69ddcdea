// run_structured_bench over a few sample schemas, byte-level and through a fake vocabulary.
#include "plinth/structured/bench.h"

#include <gtest/gtest.h>

#include <cstdio>

#include "fake_tokenizer.h"

namespace plinth::structured {
namespace {

StructuredBenchOptions sample_options() {
  StructuredBenchOptions options;
  options.schemas = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "jsonschemabench-sample";
  options.max_schemas_per_set = 2;
  return options;
}

void expect_consistent(const StructuredBenchReport& report) {
  int total = 0;
  for (const auto& s : report.sets) {
    EXPECT_LE(s.compiled, s.total) << s.name;
    EXPECT_LE(s.generated, s.compiled) << s.name;
    EXPECT_EQ(s.valid, s.generated) << s.name;  // every finished output validates
    total += s.total;
  }
  EXPECT_GE(total, 10);
  EXPECT_TRUE(report.failures.empty()) << report.failures.front();
  EXPECT_GT(report.compile_ms_avg, 0);
  EXPECT_LE(report.compile_ms_p50, report.compile_ms_p99);
}

TEST(StructuredBench, ByteLevelCoverageOverSample) {
  auto report = run_structured_bench(sample_options());
  ASSERT_TRUE(report) << report.error().message;
  expect_consistent(*report);
  EXPECT_EQ(report->masks, 0);
  std::string table = format_report(*report);
  EXPECT_NE(table.find("ALL"), std::string::npos);
  std::printf("%s", table.c_str());
}

TEST(StructuredBench, TokenLevelTimesMasks) {
  testing::FakeTokenizer tok({"{\"", "\":", "\",\"", "\"}", "true", "null", "12", "]}", "\\n"});
  auto options = sample_options();
  options.max_schemas_per_set = 1;
  options.tokenizer = &tok;
  options.max_tokens = 2000;
  auto report = run_structured_bench(options);
  ASSERT_TRUE(report) << report.error().message;
  expect_consistent(*report);
  EXPECT_GT(report->masks, 0);
  EXPECT_LE(report->mask_us_p50, report->mask_us_p99);
}

TEST(StructuredBench, MissingFolderIsNotFound) {
  StructuredBenchOptions options;
  options.schemas = "/nonexistent/schemas";
  auto report = run_structured_bench(options);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace plinth::structured
