// make_provider: one Provider per [[providers]] entry, by kind; the options all kinds share.
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "kinds.h"

namespace plinth::upstream {
namespace {

std::string trimmed(std::string text) {
  const char* space = " \t\r\n";
  size_t first = text.find_first_not_of(space);
  if (first == std::string::npos) return "";
  size_t last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

}  // namespace

Result<std::unique_ptr<providers::Provider>> make_provider(const ProviderConfig& config,
                                                           const ProviderDeps& deps) {
  // Each kind adds its branch here (bedrock and anthropic: their own files next to this one).
  if (config.kind == "openai") return make_openai_provider(config, deps);
  if (config.kind == "bedrock") return make_bedrock_provider(config, deps);
  if (config.kind == "anthropic") return make_anthropic_provider(config, deps);
  return fail(ErrorCode::kInvalidArgument,
              "provider kind '" + config.kind + "' is not supported by this build");
}

TransportOptions transport_options(const ProviderConfig& config, const ProviderDeps& deps,
                                   Endpoint endpoint) {
  TransportOptions options;
  options.provider_id = config.id;
  options.endpoint = std::move(endpoint);
  options.timeout = std::chrono::seconds(config.timeout_seconds);
  options.max_retries = config.max_retries;
  options.breaker = deps.breaker;
  options.clock = deps.clock;
  options.random = deps.random;
  return options;
}

Result<std::string> read_api_key(const ProviderConfig& config, const ProviderDeps& deps) {
  if (!config.api_key_env.empty()) {
    std::optional<std::string> value;
    if (deps.getenv) {
      value = deps.getenv(config.api_key_env);
    } else if (const char* raw = std::getenv(config.api_key_env.c_str())) {
      value = raw;
    }
    if (!value || trimmed(*value).empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "api_key_env names " + config.api_key_env + ", which is not set");
    }
    return trimmed(std::move(*value));
  }
  if (!config.api_key_file.empty()) {
    std::ifstream in(config.api_key_file, std::ios::binary);
    if (!in) {
      return fail(ErrorCode::kInvalidArgument,
                  "api_key_file " + config.api_key_file.string() + " cannot be read");
    }
    std::ostringstream text;
    text << in.rdbuf();
    std::string key = trimmed(text.str());
    if (key.empty()) {
      return fail(ErrorCode::kInvalidArgument,
                  "api_key_file " + config.api_key_file.string() + " is empty");
    }
    return key;
  }
  return std::string();
}

}  // namespace plinth::upstream
