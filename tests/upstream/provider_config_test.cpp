// [[providers]] and the upstream keys of [[models]]: exactly the documented keys, clear errors.
#include <gtest/gtest.h>

#include "plinth/core/config.h"
#include "plinth/upstream/upstream.h"

namespace plinth {
namespace {

constexpr std::string_view kGood = R"(
[[providers]]
id = "aws"
kind = "bedrock"
region = "us-west-2"
endpoint = "http://127.0.0.1:9/"
profile = "prod"
timeout_seconds = 30
max_retries = 1

[[providers]]
id = "oai"
kind = "openai"
base_url = "http://127.0.0.1:8000/v1"
api_key_env = "OPENAI_API_KEY"

[[models]]
id = "haiku"
provider = "aws"
upstream_model = "anthropic.claude-3-haiku-20240307-v1:0"
tier = "small"
aliases = ["h"]
price_input_per_mtok = 0.25
price_output_per_mtok = 1.25
fallbacks = ["gpt"]

[[models]]
id = "gpt"
provider = "oai"
tier = "small"
)";

TEST(ProviderConfig, ParsesTheDocumentedKeys) {
  auto config = parse_config(kGood, "/etc/plinth");
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->providers.size(), 2u);
  const ProviderConfig& aws = config->providers[0];
  EXPECT_EQ(aws.kind, "bedrock");
  EXPECT_EQ(aws.region, "us-west-2");
  EXPECT_EQ(aws.profile, "prod");
  EXPECT_EQ(aws.timeout_seconds, 30);
  EXPECT_EQ(aws.max_retries, 1);
  EXPECT_EQ(config->providers[1].api_key_env, "OPENAI_API_KEY");
  EXPECT_EQ(config->providers[1].timeout_seconds, 60);  // the default
  EXPECT_EQ(config->models[0].upstream_model, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(config->models[1].upstream_model, "gpt");  // default: the catalog id
  EXPECT_EQ(config->models[0].fallbacks, std::vector<std::string>{"gpt"});
  EXPECT_TRUE(validate_config(*config)) << validate_config(*config).error().message;
}

std::string error_of(std::string_view toml) {
  auto config = parse_config(toml, "/etc/plinth");
  if (!config) return config.error().message;
  auto valid = validate_config(*config);
  return valid ? "" : valid.error().message;
}

TEST(ProviderConfig, RefusesWhatItCannotUseWithAClearMessage) {
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='azure'\nbase_url='http://h'"),
            "provider x: kind must be 'bedrock', 'openai' or 'anthropic', got 'azure'");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='openai'"), "provider x: base_url is required");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='openai'\nbase_url='http://h'\napi_key='k'"),
            "providers[0].api_key is not a provider key");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='openai'\nbase_url='h:1'"),
            "provider x: base_url must start with http:// or https://");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='openai'\nbase_url='http://h'\n"
                     "api_key_env='A'\napi_key_file='f'"),
            "provider x: set at most one of api_key_env and api_key_file");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='bedrock'\nbase_url='http://h'"),
            "provider x: base_url, api_key_env and api_key_file are for openai and anthropic; a "
            "bedrock provider takes region, endpoint and profile");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='bedrock'\ntimeout_seconds=0"),
            "provider x: timeout_seconds must be between 1 and 3600");
  EXPECT_EQ(error_of("[[models]]\nid='m'\nprovider='nope'"),
            "model m: provider 'nope' is not in [[providers]]");
  EXPECT_EQ(error_of("[[models]]\nid='m'"),
            "models[0].file is required (or provider, for an upstream model)");
  EXPECT_EQ(error_of("[[providers]]\nid='x'\nkind='bedrock'\n[[models]]\nid='m'\nprovider='x'\n"
                     "fallbacks=['other']"),
            "model m: fallback 'other' is not another configured model");
  EXPECT_EQ(
      error_of("[[providers]]\nid='x'\nkind='bedrock'\n[[providers]]\nid='x'\nkind='bedrock'"),
      "provider id used twice: x");
}

TEST(ProviderConfig, ReadsTheApiKeyFromItsVariableWithoutShowingIt) {
  ProviderConfig config;
  config.id = "oai";
  config.kind = "openai";
  config.base_url = "http://127.0.0.1:1/v1";
  config.api_key_env = "PLINTH_TEST_KEY";
  upstream::ProviderDeps deps;
  deps.getenv = [](const std::string& name) -> std::optional<std::string> {
    if (name == "PLINTH_TEST_KEY") return " sk-secret\n";
    return std::nullopt;
  };
  auto key = upstream::read_api_key(config, deps);
  ASSERT_TRUE(key);
  EXPECT_EQ(*key, "sk-secret");
  config.api_key_env = "PLINTH_UNSET_KEY";
  auto missing = upstream::make_provider(config, deps);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "api_key_env names PLINTH_UNSET_KEY, which is not set");
}

}  // namespace
}  // namespace plinth
