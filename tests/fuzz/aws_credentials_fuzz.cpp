// Fuzzes the parsers of the outbound credential chain's outside bytes: the shared AWS files (INI),
// STS XML answers, ECS/IMDS credential JSON, ISO 8601 times and endpoint URLs. The first byte
// picks the parser.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/aws/ini.h"
#include "plinth/aws/sts_client.h"
#include "plinth/http/url.h"

using namespace plinth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0:
      if (auto file = aws::parse_ini(rest)) {
        if (file->size() > aws::kMaxIniSections) __builtin_trap();
        for (const auto& [name, section] : *file) {
          if (section.size() > aws::kMaxIniKeysPerSection) __builtin_trap();
          (void)aws::config_profile(*file, name);
        }
      }
      break;
    case 1:
      if (auto c = aws::parse_sts_credentials_xml(rest, data[0] & 0x80 ? 400 : 200)) {
        if (c->access_key_id.empty() || c->secret_access_key.empty() || !c->expiration) {
          __builtin_trap();
        }
      }
      break;
    case 2:
      if (auto c = aws::parse_credentials_json(rest)) {
        if (c->access_key_id.empty() || c->secret_access_key.empty()) __builtin_trap();
      }
      break;
    case 3:
      (void)aws::parse_iso8601(rest);
      break;
    default:
      if (auto url = http::parse_http_url(rest)) {
        if (url->host.empty() || url->port == 0 || url->target.empty() || url->target[0] != '/') {
          __builtin_trap();
        }
      }
      break;
  }
  return 0;
}
