// Every schema Zod emits (tests/data/zod-schemas, made by its generate.cjs) compiles, and random
// walks under each finish and validate. PLINTH_ZOD_SAMPLES=<file> writes the walks as JSON lines
// for tests/data/zod-schemas/check.cjs to run through Zod's own safeParse.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "random_walk.h"

namespace plinth::structured {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fs::path> zod_schemas() {
  std::vector<fs::path> files;
  for (const auto& e :
       fs::directory_iterator(fs::path(PLINTH_TEST_DATA_DIR) / "zod-schemas" / "schemas"))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

// zod-to-json-schema writes z.string().cidr() as allOf of the v4 and v6 patterns, which no
// string satisfies: a 400 naming the keyword is the right answer there.
bool expected_refusal(const fs::path& p) {
  return p.filename().string().starts_with("zod3_cidr_allof_");
}

TEST(ZodSchemas, EveryEmittedSchemaCompilesAndEveryWalkValidates) {
  auto files = zod_schemas();
  ASSERT_GE(files.size(), 300u);
  std::ofstream samples;
  if (const char* out = std::getenv("PLINTH_ZOD_SAMPLES")) samples.open(out);
  std::mt19937_64 rng(11);
  int compiled = 0, walks = 0, valid = 0;
  for (const auto& file : files) {
    std::string schema = read_text(file);
    auto c = compile_schema_uncached(schema);
    if (expected_refusal(file)) {
      ASSERT_FALSE(c) << file;
      EXPECT_NE(c.error().message.find("pattern"), std::string::npos) << c.error().message;
      continue;
    }
    if (!c) {
      ADD_FAILURE() << file.filename() << ": " << c.error().message;
      continue;
    }
    ++compiled;
    for (int run = 0; run < 8; ++run) {
      auto walk = testing::random_walk(*c, rng, 200);
      ++walks;
      if (!walk.completed) {
        ADD_FAILURE() << file.filename() << " did not complete: " << walk.text;
        break;
      }
      auto v = validate(schema, walk.text);
      if (!v) {
        ADD_FAILURE() << file.filename() << ": " << v.error().message << "\n  " << walk.text;
        break;
      }
      ++valid;
      if (samples.is_open())
        samples << "{\"schema\":\"" << file.filename().string() << "\",\"output\":" << walk.text
                << "}\n";
    }
  }
  std::printf("zod schemas %zu compiled %d walks %d valid %d\n", files.size(), compiled, walks,
              valid);
}

}  // namespace
}  // namespace plinth::structured
