// The AWS shared configuration file format (~/.aws/credentials and ~/.aws/config): sections of
// key = value pairs, as the SDKs read them.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "plinth/core/result.h"

namespace plinth::aws {

// Bounds on a shared file; a file beyond them is refused rather than read in part.
inline constexpr size_t kMaxIniBytes = 1 << 20;
inline constexpr size_t kMaxIniSections = 4096;
inline constexpr size_t kMaxIniKeysPerSection = 512;

using IniSection = std::map<std::string, std::string>;  // key (lowercase) -> value
using IniFile = std::map<std::string, IniSection>;      // section name as written, trimmed

// Parses the text of a shared file. Lines starting with '#' or ';' are comments; keys are
// case-insensitive (lowercased); values are trimmed; indented lines under a key with an empty value
// are its sub-properties, stored as "key.sub". A later duplicate key wins, and sections with the
// same name are merged, as in the SDKs. kInvalidArgument when a bound is exceeded or a line is
// neither a section, a key = value pair, a comment nor blank.
Result<IniFile> parse_ini(std::string_view text);

// The profile `name` of a config file ("[profile name]", or "[default]" / "[profile default]").
const IniSection* config_profile(const IniFile& config, std::string_view name);

}  // namespace plinth::aws
