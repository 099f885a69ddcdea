// Fuzz harness: Plinth's config parser (parse_config, validate_config) over arbitrary TOML text.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/core/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto config = plinth::parse_config(text, "/nonexistent-fuzz-base");
  if (config) {
    (void)plinth::validate_config(*config);
    (void)config->listen_endpoint();
  }
  return 0;
}
