// Compact JSON text for float vectors (shortest round-trip form, not Boost.JSON's 1E0 style).
#pragma once

#include <fmt/format.h>

#include <cmath>
#include <iterator>
#include <span>
#include <string>

namespace plinth::api {

inline std::string float_array_json(std::span<const float> values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    // JSON has no NaN or infinity; an embedding never should either, so send 0 rather than junk.
    float v = std::isfinite(values[i]) ? values[i] : 0.0f;
    fmt::format_to(std::back_inserter(out), "{}", v);
  }
  out += ']';
  return out;
}

}  // namespace plinth::api
