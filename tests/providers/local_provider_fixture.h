// The local provider on the fixture models ("small": qwen2 text, "embed": bert), loaded once
// per test binary and shared by its suites.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "plinth/providers/local_provider.h"

namespace plinth::providers {

inline std::string fixture_model_path(const char* file) {
  return std::string(PLINTH_TEST_DATA_DIR) + "/models/" + file;
}

// Null (with a test failure) when the models do not load.
inline LocalProvider* fixture_local_provider() {
  static std::unique_ptr<LocalProvider> provider = [] {
    std::vector<ModelConfig> configs(2);
    configs[0].id = "small";
    configs[0].file = fixture_model_path("qwen2-32-tied-q8_0.gguf");
    configs[1].id = "embed";
    configs[1].kind = "embedding";
    configs[1].file = fixture_model_path("bert-bge-64-mean-f16.gguf");
    auto loaded = LocalProvider::load(configs, 2);
    EXPECT_TRUE(loaded) << loaded.error().message;
    return loaded ? std::move(*loaded) : nullptr;
  }();
  return provider.get();
}

}  // namespace plinth::providers
