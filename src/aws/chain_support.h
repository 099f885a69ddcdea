// Helpers shared by the links of the credential chain (private to the aws module).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "plinth/aws/credentials.h"

namespace plinth::aws {

// A variable's value, or nullopt when unset or empty.
std::optional<std::string> env_value(const EnvironmentLookup& environment, std::string_view name);
// "~/x" with $HOME; other paths as given.
std::string expand_home(const EnvironmentLookup& environment, std::string_view path);
// The whole file, refused (kInvalidArgument) above max_bytes; kNotFound when it does not exist.
Result<std::string> read_bounded_file(const std::string& path, size_t max_bytes);
// The region for STS: `preferred` (a profile's region), else AWS_REGION, AWS_DEFAULT_REGION, the
// chain's default.
std::string chain_region(const ChainOptions& options, std::string_view preferred = {});
// A role session name as the SDKs make one when none is configured.
std::string default_session_name(const Clock& clock);

}  // namespace plinth::aws
