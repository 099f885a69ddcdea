// Fuzz harness: arbitrary bytes compiled as a JSON Schema, then an instance walked through the
// byte matcher and validated (linear-time regexes, work bounds, no crash on any input).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "plinth/structured/structured.h"

namespace {

// Deterministic walk: among the bytes the matcher allows, prefer the one chosen by the input's
// hash early on and the one closest to completion later.
std::string walk(const std::shared_ptr<const plinth::structured::CompiledSchema>& schema,
                 uint64_t seed) {
  plinth::structured::JsonMatcher m(schema);
  std::string out;
  for (int step = 0; step < 4096 && !m.is_complete(); ++step) {
    int best = -1;
    int64_t best_distance = INT64_MAX;
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    int offset = static_cast<int>(seed >> 56);
    for (int k = 0; k < 256; ++k) {
      int b = (k + offset) & 0xFF;
      if (!m.can_feed(static_cast<uint8_t>(b))) continue;
      if (step < 64) {
        best = b;
        break;
      }
      plinth::structured::JsonMatcher probe = m;
      probe.feed(static_cast<uint8_t>(b));
      int64_t d = probe.distance_to_close();
      if (d < best_distance) best = b, best_distance = d;
    }
    if (best < 0) break;
    m.feed(static_cast<uint8_t>(best));
    out.push_back(static_cast<char>(best));
  }
  return m.is_complete() ? out : std::string();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = plinth::structured::compile_schema_uncached(text);
  if (!compiled) {
    (void)plinth::structured::validate(text, "null");
    return 0;
  }
  uint64_t seed = 1469598103934665603ULL;
  for (uint8_t c : text) seed = (seed ^ c) * 1099511628211ULL;
  std::string instance = walk(*compiled, seed);
  if (instance.empty()) return 0;
  auto valid = plinth::structured::validate(text, instance);
  // PLINTH_FUZZ_STRICT=1: an output the matcher finished that the validator rejects is a bug.
  if (!valid && std::getenv("PLINTH_FUZZ_STRICT") &&
      valid.error().message.find("schema not usable") == std::string::npos)
    std::abort();
  return 0;
}
