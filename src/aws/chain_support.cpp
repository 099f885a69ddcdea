// Helpers shared by the links of the credential chain.
#include "chain_support.h"

#include <filesystem>
#include <fstream>
#include <sstream>

namespace plinth::aws {

std::optional<std::string> env_value(const EnvironmentLookup& environment, std::string_view name) {
  auto value = environment(name);
  if (!value || value->empty()) return std::nullopt;
  return value;
}

std::string expand_home(const EnvironmentLookup& environment, std::string_view path) {
  if (path == "~" || path.starts_with("~/")) {
    return env_value(environment, "HOME").value_or("") + std::string(path.substr(1));
  }
  return std::string(path);
}

Result<std::string> read_bounded_file(const std::string& path, size_t max_bytes) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return fail(ErrorCode::kNotFound, "no file " + path);
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return fail(ErrorCode::kIo, "cannot read " + path + ": " + ec.message());
  if (size > max_bytes) {
    return fail(ErrorCode::kInvalidArgument,
                path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "cannot open " + path);
  std::string out(max_bytes + 1, '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));
  if (out.size() > max_bytes) {  // grew since the size check
    return fail(ErrorCode::kInvalidArgument,
                path + " is larger than " + std::to_string(max_bytes) + " bytes");
  }
  return out;
}

std::string chain_region(const ChainOptions& options, std::string_view preferred) {
  if (!preferred.empty()) return std::string(preferred);
  for (const char* name : {"AWS_REGION", "AWS_DEFAULT_REGION"}) {
    if (auto value = env_value(options.environment, name)) return *value;
  }
  return options.region.empty() ? "us-east-1" : options.region;
}

std::string default_session_name(const Clock& clock) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch());
  return "plinth-" + std::to_string(ms.count());
}

}  // namespace plinth::aws
