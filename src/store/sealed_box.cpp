// AES-256-GCM seal/unseal and the key files that hold the keys outside the database.
#include "plinth/store/sealed_box.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "plinth/core/encoding.h"

namespace plinth::store {
namespace {

constexpr size_t kNonceBytes = 12;
constexpr size_t kTagBytes = 16;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

Result<std::string> seal(std::string_view key, std::string_view plaintext, Random& random,
                         std::string_view associated) {
  if (key.size() != kSealKeyBytes) return fail(ErrorCode::kInternal, "seal key must be 32 bytes");
  std::string nonce = random.bytes(kNonceBytes);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  std::copy(nonce.begin(), nonce.end(), out.begin());
  auto* cipher_out = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  int len = 0;
  bool good =
      ctx &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) ==
          1 &&
      (associated.empty() || EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(associated),
                                               static_cast<int>(associated.size())) == 1) &&
      EVP_EncryptUpdate(ctx.get(), cipher_out, &len, bytes_of(plaintext),
                        static_cast<int>(plaintext.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), cipher_out + len, &len) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes,
                          out.data() + kNonceBytes + plaintext.size()) == 1;
  if (!good) return fail(ErrorCode::kInternal, "AES-GCM encryption failed");
  return out;
}

Result<std::string> unseal(std::string_view key, std::string_view sealed,
                           std::string_view associated) {
  if (key.size() != kSealKeyBytes) return fail(ErrorCode::kInternal, "seal key must be 32 bytes");
  if (sealed.size() < kNonceBytes + kTagBytes) {
    return fail(ErrorCode::kCorruptData, "sealed value too short");
  }
  std::string_view nonce = sealed.substr(0, kNonceBytes);
  std::string_view cipher = sealed.substr(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  std::string out(cipher.size(), '\0');
  auto* plain_out = reinterpret_cast<unsigned char*>(out.data());
  int len = 0;
  bool good =
      ctx &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, bytes_of(key), bytes_of(nonce)) ==
          1 &&
      (associated.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(associated),
                                               static_cast<int>(associated.size())) == 1) &&
      EVP_DecryptUpdate(ctx.get(), plain_out, &len, bytes_of(cipher),
                        static_cast<int>(cipher.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), plain_out + len, &len) == 1;
  if (!good) return fail(ErrorCode::kCorruptData, "sealed value failed authentication");
  return out;
}

Result<std::string> load_or_create_key_file(const std::filesystem::path& file, Random& random,
                                            const char* env_var) {
  if (env_var != nullptr) {
    if (const char* value = std::getenv(env_var); value != nullptr && *value != '\0') {
      std::string_view text(value);
      std::optional<std::string> key =
          text.size() == 2 * kSealKeyBytes ? hex_decode(text) : base64_decode(text);
      if (!key || key->size() != kSealKeyBytes) {
        return fail(ErrorCode::kInvalidArgument,
                    std::string(env_var) + " must be 64 hex characters or base64 of 32 bytes");
      }
      return *key;
    }
  }
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    std::optional<std::string> key = hex_decode(text);
    if (!in.good() && !in.eof()) return fail(ErrorCode::kIo, "cannot read " + file.string());
    if (!key || key->size() != kSealKeyBytes) {
      return fail(ErrorCode::kCorruptData, file.string() + " does not hold a 32-byte hex key");
    }
    return *key;
  }
  if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
  std::string key = random.bytes(kSealKeyBytes);
  // O_EXCL and mode 0600 from creation: the key is never readable by others, even briefly.
  std::string text = hex_encode(key) + "\n";
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create " + file.string());
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  written = ::fsync(fd) == 0 && written;
  ::close(fd);
  if (!written) return fail(ErrorCode::kIo, "cannot write " + file.string());
  return key;
}

}  // namespace plinth::store
