// Test helper: drive a matcher with random allowed bytes (a random-weight model) to completion.
#pragma once

#include <random>
#include <string>

#include "plinth/structured/structured.h"

namespace plinth::structured::testing {

struct WalkResult {
  bool completed = false;
  std::string text;
};

// Picks uniformly among allowed bytes (printable ASCII plus a few UTF-8 bytes); past
// `soft_limit` bytes it only picks bytes that bring the output closest to complete.
inline WalkResult random_walk(const std::shared_ptr<const CompiledSchema>& schema,
                              std::mt19937_64& rng, size_t soft_limit = 400) {
  static const std::string kCandidates = [] {
    std::string c;
    for (int b = 0x20; b < 0x7F; ++b) c.push_back(static_cast<char>(b));
    c += "\xC3\xA9\xE2\x82\xAC";
    return c;
  }();
  JsonMatcher m(schema);
  WalkResult r;
  std::vector<uint8_t> allowed;
  for (size_t step = 0; step < 200000; ++step) {  // big required skeletons need room
    bool complete = m.is_complete();
    if (complete && (r.text.size() >= soft_limit || rng() % 3 == 0)) break;
    allowed.clear();
    for (char c : kCandidates)
      if (m.can_feed(static_cast<uint8_t>(c))) allowed.push_back(static_cast<uint8_t>(c));
    if (allowed.empty())  // e.g. a key or enum value in another script: try every byte
      for (int b = 0; b < 256; ++b)
        if (m.can_feed(static_cast<uint8_t>(b))) allowed.push_back(static_cast<uint8_t>(b));
    if (allowed.empty()) break;
    uint8_t pick = allowed[rng() % allowed.size()];
    if (r.text.size() >= soft_limit) {
      int64_t best = INT64_MAX;
      size_t ties = 0;
      for (uint8_t b : allowed) {
        JsonMatcher probe = m;
        probe.feed(b);
        int64_t d = probe.distance_to_close();
        if (d < best)
          best = d, pick = b, ties = 1;
        else if (d == best && rng() % ++ties == 0)
          pick = b;  // uniform among the best
      }
    }
    m.feed(pick);
    r.text.push_back(static_cast<char>(pick));
  }
  r.completed = m.is_complete();
  return r;
}

}  // namespace plinth::structured::testing
