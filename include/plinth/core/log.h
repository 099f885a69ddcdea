// Logging: spdlog behind a small facade. Never log a secret: log access key ids, not keys.
#pragma once

#include <spdlog/spdlog.h>

namespace plinth::log {

// Configure the default logger (level: trace|debug|info|warn|error|off; json = one object a line).
void init(const std::string& level, bool json = false);

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::warn;

}  // namespace plinth::log
