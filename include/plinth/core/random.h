// Injectable randomness: secure bytes for keys and ids; tests may substitute a seeded source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace plinth {

class Random {
 public:
  virtual ~Random() = default;
  virtual void fill(void* out, size_t n) = 0;

  std::string bytes(size_t n);
  uint64_t next_u64();

  // Cryptographically secure (OpenSSL RAND_bytes).
  static std::shared_ptr<Random> secure();
  // Deterministic, for tests only.
  static std::shared_ptr<Random> seeded(uint64_t seed);
};

}  // namespace plinth
