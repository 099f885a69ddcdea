// Secure randomness from OpenSSL, and a seeded generator for tests.
#include "plinth/core/random.h"

#include <openssl/rand.h>

#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>

namespace plinth {
namespace {

class SecureRandom final : public Random {
 public:
  void fill(void* out, size_t n) override {
    if (RAND_bytes(static_cast<unsigned char*>(out), static_cast<int>(n)) != 1) {
      // No entropy means no safe keys: this is not recoverable.
      throw std::runtime_error("RAND_bytes failed");
    }
  }
};

class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : engine_(seed) {}
  void fill(void* out, size_t n) override {
    std::lock_guard lock(mutex_);
    auto* p = static_cast<unsigned char*>(out);
    for (size_t i = 0; i < n; ++i) p[i] = static_cast<unsigned char>(engine_() & 0xff);
  }

 private:
  std::mutex mutex_;
  std::mt19937_64 engine_;  // guarded by mutex_
};

}  // namespace

std::string Random::bytes(size_t n) {
  std::string out(n, '\0');
  fill(out.data(), n);
  return out;
}

uint64_t Random::next_u64() {
  uint64_t v = 0;
  fill(&v, sizeof v);
  return v;
}

std::shared_ptr<Random> Random::secure() {
  static const auto random = std::make_shared<SecureRandom>();
  return random;
}

std::shared_ptr<Random> Random::seeded(uint64_t seed) {
  return std::make_shared<SeededRandom>(seed);
}

}  // namespace plinth
