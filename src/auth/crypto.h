// SHA-256 and HMAC-SHA256 over OpenSSL (private to the auth module).
#pragma once

#include <string>
#include <string_view>

namespace plinth::auth::crypto {

std::string sha256(std::string_view data);                             // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes

}  // namespace plinth::auth::crypto
