// Fuzzes the parsers of issue 13's outside bytes: JWTs (parse and verify against the recorded
// JWKS), JWKS documents, and both kinds of Bedrock API key. The first byte picks the parser.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include "plinth/auth/bedrock_api_key.h"
#include "plinth/auth/jwt.h"

namespace {

using namespace plinth;

const auth::JsonWebKeySet& recorded_keys() {
  static const auth::JsonWebKeySet keys = [] {
    std::ifstream in(std::string(PLINTH_TEST_DATA_DIR) + "/jwt/vectors.json");
    std::stringstream buffer;
    buffer << in.rdbuf();
    auto doc = boost::json::parse(buffer.str());
    auto parsed = auth::JsonWebKeySet::parse(boost::json::serialize(doc.at("jwks")));
    if (!parsed || parsed->size() != 2) __builtin_trap();  // the fixture must load
    return *parsed;
  }();
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      if (auto claims = auth::verify_jwt(rest, recorded_keys())) {
        (void)claims->iss.size();
      }
      (void)auth::parse_jwt(rest);
      break;
    case 1:
      if (auto keys = auth::JsonWebKeySet::parse(rest)) {
        if (keys->size() > auth::kMaxJwksKeys) __builtin_trap();
      }
      break;
    case 2:
      if (auto key = auth::decode_short_term_api_key(rest)) {
        (void)auth::parse_presigned_query(key->raw_query);
      }
      break;
    default:
      if (auto key = auth::decode_long_term_api_key(rest)) {
        // A decoded key re-encodes to a key that decodes to the same parts.
        auto again =
            auth::decode_long_term_api_key(auth::encode_long_term_api_key(key->alias, key->secret));
        if (!again || again->alias != key->alias || again->secret != key->secret) {
          __builtin_trap();
        }
      }
      break;
  }
  return 0;
}
