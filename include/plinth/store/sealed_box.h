// AES-256-GCM sealing of small secrets (stored access-key secrets, self-verifying tokens).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "plinth/core/random.h"
#include "plinth/core/result.h"

namespace plinth::store {

inline constexpr size_t kSealKeyBytes = 32;

// Output layout: 12-byte nonce | ciphertext | 16-byte tag. `associated` is authenticated but not
// stored (bind a sealed value to its context, e.g. the access key id it belongs to).
Result<std::string> seal(std::string_view key, std::string_view plaintext, Random& random,
                         std::string_view associated = {});
// kCorruptData when the key, the associated data or any byte of `sealed` is wrong.
Result<std::string> unseal(std::string_view key, std::string_view sealed,
                           std::string_view associated = {});

// A 32-byte key kept in a file outside the database: read it, or create it (mode 0600) with fresh
// random bytes when absent. `env_var`, when set in the environment, wins: 64 hex characters or
// base64 of 32 bytes. Used for DATA_DIR/master.key (PLINTH_MASTER_KEY) and DATA_DIR/session.key.
Result<std::string> load_or_create_key_file(const std::filesystem::path& file, Random& random,
                                            const char* env_var = nullptr);

}  // namespace plinth::store
