// Fuzzes session and bearer token decoding: arbitrary tokens, arbitrary claims sealed under the
// server key (to reach the claims reader behind the AES-GCM check), and encode/decode round trips.
// The first byte picks the mode; the rest is the token, the claims or the principal's fields.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/auth/sts.h"
#include "plinth/core/encoding.h"
#include "plinth/core/random.h"
#include "plinth/store/sealed_box.h"

namespace {

using namespace plinth;

// The associated data session_token.cpp binds tokens to (kept in step with it).
constexpr std::string_view kSessionContext = "plinth-session-token-v1";
constexpr std::string_view kBearerContext = "plinth-bearer-token-v1";
constexpr std::string_view kBearerPrefix = "plinth-bt-";
const std::string kKey(32, 'k');
const auto kNow = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'000'000));

const auth::SessionTokenCodec& codec() {
  static const auth::SessionTokenCodec instance(kKey, Random::seeded(3));
  return instance;
}

void decode_both(std::string_view token) {
  (void)codec().decode_session(token, "ASIAFUZZ", kNow);
  (void)codec().decode_bearer(token, kNow);
}

void sealed_claims(std::string_view claims) {
  auto random = Random::seeded(4);
  if (auto sealed = store::seal(kKey, claims, *random, kSessionContext)) {
    std::string token = base64url_encode(*sealed);
    (void)codec().decode_session(token, "ASIAFUZZ", kNow);
  }
  if (auto sealed = store::seal(kKey, claims, *random, kBearerContext)) {
    (void)codec().decode_bearer(std::string(kBearerPrefix) + base64url_encode(*sealed), kNow);
  }
}

// Fields separated by '\n': arn, name, session name, role ARN, secret.
void round_trip(std::string_view fields) {
  if (!is_valid_utf8(fields)) return;  // principals come from validated IAM names
  std::string parts[5];
  for (std::string& part : parts) {
    size_t eol = fields.find('\n');
    part = std::string(fields.substr(0, eol));
    fields = eol == std::string_view::npos ? std::string_view() : fields.substr(eol + 1);
  }
  auth::Principal principal;
  principal.kind = auth::Principal::Kind::kAssumedRole;
  principal.arn = parts[0];
  principal.account_id = "000000000000";
  principal.access_key_id = "ASIAFUZZ";
  principal.name = parts[1];
  principal.session_name = parts[2];
  principal.role_arn = parts[3];
  principal.expires_at = kNow + std::chrono::hours(1);
  auto session =
      codec().decode_session(codec().encode_session(principal, parts[4]), "ASIAFUZZ", kNow);
  if (!session || session->principal.arn != parts[0] || session->secret_access_key != parts[4]) {
    __builtin_trap();  // a token we issued must decode to what we put in
  }
  auto bearer = codec().decode_bearer(codec().encode_bearer(principal), kNow);
  if (!bearer || bearer->session_name != parts[2]) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      decode_both(rest);
      break;
    case 1:
      sealed_claims(rest);
      break;
    default:
      round_trip(rest);
      break;
  }
  return 0;
}
