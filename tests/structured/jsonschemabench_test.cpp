// JSONSchemaBench sample: compile, random-walk to completion, validate independently (valijson).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "random_walk.h"

namespace plinth::structured {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct Coverage {
  int total = 0, compiled = 0, generated = 0, valid = 0;
};

TEST(JsonSchemaBench, EveryGeneratedOutputValidates) {
  fs::path root = fs::path(PLINTH_TEST_DATA_DIR) / "jsonschemabench-sample";
  if (const char* dir = std::getenv("PLINTH_JSONSCHEMABENCH_DIR")) root = dir;  // full corpus
  ASSERT_TRUE(fs::exists(root)) << root;
  const bool verbose = std::getenv("PLINTH_JSONSCHEMABENCH_VERBOSE") != nullptr;
  std::map<std::string, Coverage> by_set;
  std::vector<std::string> invalid;
  std::mt19937_64 rng(1234);
  for (const auto& set : fs::directory_iterator(root)) {
    if (!set.is_directory()) continue;
    std::vector<fs::path> files;
    for (const auto& f : fs::directory_iterator(set.path())) files.push_back(f.path());
    std::sort(files.begin(), files.end());
    Coverage& c = by_set[set.path().filename().string()];
    for (const auto& file : files) {
      if (verbose) std::fprintf(stderr, "%s\n", file.string().c_str());
      std::string schema = read_file(file);
      ++c.total;
      auto compiled = compile_schema_uncached(schema);
      if (!compiled) continue;
      ++c.compiled;
      bool all_valid = true, all_done = true;
      for (int run = 0; run < 3; ++run) {
        auto walk = testing::random_walk(*compiled, rng);
        if (!walk.completed) {
          all_done = false;
          invalid.push_back(file.string() + " did not complete: " + walk.text);
          break;
        }
        if (auto v = validate(schema, walk.text); !v) {
          // valijson cannot read some schemas at all; that is not an output failure.
          if (v.error().message.starts_with("schema not usable")) continue;
          all_valid = false;
          invalid.push_back(file.string() + ": " + v.error().message + "\n  " + walk.text);
          break;
        }
      }
      if (all_done) ++c.generated;
      if (all_done && all_valid) ++c.valid;
    }
  }
  Coverage sum;
  for (const auto& [name, c] : by_set) {
    std::printf("%-18s total %4d compiled %4d generated %4d valid %4d\n", name.c_str(), c.total,
                c.compiled, c.generated, c.valid);
    sum.total += c.total, sum.compiled += c.compiled, sum.generated += c.generated;
    sum.valid += c.valid;
  }
  std::printf("%-18s total %4d compiled %4d generated %4d valid %4d\n", "ALL", sum.total,
              sum.compiled, sum.generated, sum.valid);
  for (const auto& line : invalid) ADD_FAILURE() << line;
  EXPECT_GT(sum.compiled, sum.total / 2);
}

}  // namespace
}  // namespace plinth::structured
