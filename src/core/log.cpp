// Logger setup: text to stderr, or one JSON object per line.
#include "plinth/core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace plinth::log {

void init(const std::string& level, bool json) {
  auto logger = spdlog::stderr_color_mt("plinth");
  if (json) {
    logger->set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","thread":%t,"message":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

}  // namespace plinth::log
