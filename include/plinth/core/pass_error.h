// The error of a failed Result handed on as the caller's own (`if (!rows) return pass(rows);`).
// The companion of fail() (result.h) for errors that come from a call below.
#pragma once

#include "plinth/core/result.h"

namespace plinth {

template <typename T>
std::unexpected<Error> pass(const Result<T>& r) {
  return std::unexpected(r.error());
}

}  // namespace plinth
