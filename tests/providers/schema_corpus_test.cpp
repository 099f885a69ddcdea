// JSONSchemaBench sample through the whole local path: a real fixture model (random weights, the
// harshest adversary: it wanders wherever the mask allows) generates under each schema that
// compiles, and every finished output must validate. Zero invalid outputs allowed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "plinth/providers/local_provider.h"
#include "plinth/structured/structured.h"

namespace plinth::providers {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SchemaCorpus, EveryFinishedOutputValidatesOnARealModel) {
  const std::string data = PLINTH_TEST_DATA_DIR;
  ModelConfig config;
  config.id = "small";
  config.file = data + "/models/qwen2-32-tied-q8_0.gguf";
  auto provider = LocalProvider::load({config}, 2);
  ASSERT_TRUE(provider) << provider.error().message;

  std::vector<fs::path> schemas;
  for (const auto& entry : fs::recursive_directory_iterator(data + "/jsonschemabench-sample")) {
    if (entry.path().extension() == ".json") schemas.push_back(entry.path());
  }
  std::sort(schemas.begin(), schemas.end());
  ASSERT_GT(schemas.size(), 150u);
  // Every fourth schema keeps the test to about a minute on two cores; the structured module's
  // own tests walk the whole sample, and `plinth bench structured` the whole corpus.
  std::vector<fs::path> picked;
  for (size_t i = 0; i < schemas.size(); i += 4) picked.push_back(schemas[i]);
  schemas = std::move(picked);

  int compiled = 0, finished = 0, valid = 0, hit_max_tokens = 0;
  std::vector<std::string> invalid;
  for (const auto& path : schemas) {
    std::string schema = read_file(path);
    if (!structured::compile_schema(schema)) continue;
    ++compiled;
    for (uint64_t seed : {1}) {
      InferenceRequest r;
      r.model_id = "small";
      r.messages.push_back({Role::kUser, {ContentBlock{.text = "Produce the JSON."}}});
      r.output_schema_json = schema;
      r.temperature = seed == 1 ? 1.0f : 0.7f;
      r.seed = seed;
      r.max_tokens = 256;
      auto started = std::chrono::steady_clock::now();
      auto out = provider->get()->infer(r, {});
      std::printf("%-60s %6.2f s %s\n", path.filename().c_str(),
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
                  out && out->stop_reason == StopReason::kMaxTokens ? "max_tokens" : "");
      ASSERT_TRUE(out) << path << ": " << out.error().message;
      if (out->stop_reason == StopReason::kMaxTokens) {
        ++hit_max_tokens;  // honest: the output did not close within the budget
        continue;
      }
      ++finished;
      if (out->output_valid.value_or(false)) {
        ++valid;
      } else {
        invalid.push_back(path.filename().string() + ": " + out->content[0].text.substr(0, 200));
      }
    }
  }
  std::printf("schemas %zu, compiled %d, outputs finished %d, valid %d, hit max_tokens %d\n",
              schemas.size(), compiled, finished, valid, hit_max_tokens);
  EXPECT_TRUE(invalid.empty()) << invalid.size() << " invalid, first: " << invalid.front();
  EXPECT_GE(compiled, static_cast<int>(schemas.size() * 8 / 10));
  // Steering closes most outputs well before the budget.
  EXPECT_GE(finished, compiled * 9 / 10);
}

}  // namespace
}  // namespace plinth::providers
