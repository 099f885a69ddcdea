// Random identifiers in the shapes AWS clients expect.
#include "plinth/core/ids.h"

#include <cstdio>

namespace plinth {

std::string new_uuid(Random& random) {
  unsigned char b[16];
  random.fill(b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

std::string new_base32_id(Random& random, std::string_view prefix, size_t n) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out(prefix);
  std::string raw = random.bytes(n);
  for (unsigned char c : raw) out += kAlphabet[c & 31];
  return out;
}

std::string new_secret_key(Random& random) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string raw = random.bytes(40);
  std::string out;
  for (unsigned char c : raw) out += kAlphabet[c & 63];
  return out;
}

}  // namespace plinth
