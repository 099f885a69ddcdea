// Checks and conversions both vector stores apply to chunks and queries. Private to vectors.
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::vectors {

constexpr size_t kMaxIdBytes = 256;
constexpr int kMaxDimensions = 8192;
constexpr int kMaxK = 1000;
constexpr size_t kCompactMinDeleted = 1024;

inline Status check_id(std::string_view value, std::string_view what) {
  if (value.empty() || value.size() > kMaxIdBytes) {
    return fail(ErrorCode::kInvalidArgument,
                std::string(what) + " must be 1 to " + std::to_string(kMaxIdBytes) + " bytes");
  }
  return ok();
}

// Unit-length copy; kInvalidArgument for a zero, infinite or NaN vector.
inline Result<std::vector<float>> normalized(const std::vector<float>& v) {
  double norm = 0;
  for (float x : v) {
    if (!std::isfinite(x)) return fail(ErrorCode::kInvalidArgument, "embedding is not finite");
    norm += static_cast<double>(x) * x;
  }
  if (norm <= 0) return fail(ErrorCode::kInvalidArgument, "embedding is a zero vector");
  float scale = static_cast<float>(1.0 / std::sqrt(norm));
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = v[i] * scale;
  return out;
}

inline std::string_view as_bytes(const std::vector<float>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)};
}

}  // namespace plinth::vectors
