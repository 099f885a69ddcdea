// The error of a failed Result handed on as the caller's own (`if (!rows) return pass(rows);`).
#pragma once

#include "plinth/core/result.h"

namespace plinth::store {

template <typename T>
std::unexpected<Error> pass(const Result<T>& r) {
  return std::unexpected(r.error());
}

}  // namespace plinth::store
