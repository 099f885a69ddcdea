// JWT (compact JWS) parsing and RS256/ES256 verification over OpenSSL; JWKS parsing.
#include "plinth/auth/jwt.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>

#include "plinth/core/encoding.h"

namespace plinth::auth {
namespace json = boost::json;

struct JsonWebKeySet::Key {
  std::string kid;
  std::string alg;  // RS256 | ES256 (from the key's type when the JWK names none)
  std::shared_ptr<EVP_PKEY> pkey;
};

namespace {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
using Bignum = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using ParamBuild = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD, OSSL_PARAM_BLD_free>>;
using Params = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM, OSSL_PARAM_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX, EVP_MD_CTX_free>>;
using EcdsaSig = std::unique_ptr<ECDSA_SIG, Deleter<ECDSA_SIG, ECDSA_SIG_free>>;

Error malformed(std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               "The web identity token is malformed: " + std::string(why));
}

std::optional<std::string> text(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}

std::optional<std::string> b64(const json::object& o, const char* key) {
  auto t = text(o, key);
  return t ? base64url_decode(*t) : std::nullopt;
}

std::shared_ptr<EVP_PKEY> from_params(const char* type, OSSL_PARAM_BLD* build) {
  Params params(OSSL_PARAM_BLD_to_param(build));
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* pkey = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return nullptr;
  }
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

std::shared_ptr<EVP_PKEY> rsa_key(const json::object& jwk) {
  auto n = b64(jwk, "n"), e = b64(jwk, "e");
  // 2048..8192-bit moduli: smaller ones are weak, larger ones are work an attacker chooses.
  if (!n || !e || n->size() < 256 || n->size() > 1024 || e->empty() || e->size() > 8) {
    return nullptr;
  }
  auto bn = [](const std::string& bytes) {
    return Bignum(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                            static_cast<int>(bytes.size()), nullptr));
  };
  Bignum bn_n = bn(*n), bn_e = bn(*e);
  ParamBuild build(OSSL_PARAM_BLD_new());
  if (!bn_n || !bn_e || !build ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(build.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return nullptr;
  }
  return from_params("RSA", build.get());
}

std::shared_ptr<EVP_PKEY> ec_p256_key(const json::object& jwk) {
  auto x = b64(jwk, "x"), y = b64(jwk, "y");
  if (text(jwk, "crv") != "P-256" || !x || !y || x->size() != 32 || y->size() != 32) {
    return nullptr;
  }
  std::string point = "\x04" + *x + *y;  // uncompressed SEC1 point
  ParamBuild build(OSSL_PARAM_BLD_new());
  if (!build ||
      OSSL_PARAM_BLD_push_utf8_string(build.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(build.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return nullptr;
  }
  return from_params("EC", build.get());
}

// JWS ES256 signatures are r||s (32 bytes each); OpenSSL verifies DER.
std::optional<std::string> es256_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  auto bytes = reinterpret_cast<const unsigned char*>(raw.data());
  BIGNUM* r = BN_bin2bn(bytes, 32, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + 32, 32, nullptr);
  EcdsaSig sig(ECDSA_SIG_new());
  if (!r || !s || !sig || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  unsigned char* der = nullptr;
  int length = i2d_ECDSA_SIG(sig.get(), &der);
  if (length <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(length));
  OPENSSL_free(der);
  return out;
}

bool verifies(EVP_PKEY* pkey, std::string_view signed_part, std::string_view signature) {
  MdCtx ctx(EVP_MD_CTX_new());
  return ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
         EVP_DigestVerify(
             ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
             reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()) == 1;
}

std::optional<json::object> json_object(std::string_view encoded) {
  auto bytes = base64url_decode(encoded);
  if (!bytes) return std::nullopt;
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return std::nullopt;
  return std::move(v.as_object());
}

std::optional<int64_t> number(const json::object& o, const char* key, bool& bad) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= 7'000'000'000ULL) return v->as_uint64();
  if (v->is_double() && v->as_double() >= 0 && v->as_double() <= 7e9) {
    return static_cast<int64_t>(v->as_double());
  }
  bad = true;
  return std::nullopt;
}

struct SplitJwt {
  std::string_view header, payload, signature, signed_part;
};

Result<SplitJwt> split(std::string_view token) {
  if (token.size() > kMaxJwtBytes) return std::unexpected(malformed("longer than 16 KiB"));
  size_t first = token.find('.');
  size_t second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return std::unexpected(malformed("not three dot-separated parts"));
  }
  return SplitJwt{token.substr(0, first), token.substr(first + 1, second - first - 1),
                  token.substr(second + 1), token.substr(0, second)};
}

}  // namespace

Result<JsonWebKeySet> JsonWebKeySet::parse(std::string_view document) {
  if (document.size() > kMaxJwksBytes) {
    return fail(ErrorCode::kInvalidArgument, "The JWKS document is larger than 64 KiB.");
  }
  boost::system::error_code ec;
  json::value v = json::parse(document, ec);
  const json::value* keys = !ec && v.is_object() ? v.as_object().if_contains("keys") : nullptr;
  if (keys == nullptr || !keys->is_array()) {
    return fail(ErrorCode::kInvalidArgument, "The JWKS document has no \"keys\" array.");
  }
  if (keys->as_array().size() > kMaxJwksKeys) {
    return fail(ErrorCode::kInvalidArgument, "The JWKS document has more than 32 keys.");
  }
  JsonWebKeySet set;
  for (const json::value& item : keys->as_array()) {
    if (!item.is_object()) continue;
    const json::object& jwk = item.as_object();
    if (auto use = text(jwk, "use"); use && *use != "sig") continue;
    auto kty = text(jwk, "kty");
    auto key = std::make_shared<Key>();
    key->kid = text(jwk, "kid").value_or("");
    if (kty == "RSA") {
      key->alg = "RS256";
      key->pkey = rsa_key(jwk);
    } else if (kty == "EC") {
      key->alg = "ES256";
      key->pkey = ec_p256_key(jwk);
    }
    // A key that names another alg (RS384, PS256, …) is of no use for RS256/ES256.
    if (auto alg = text(jwk, "alg"); alg && *alg != key->alg) continue;
    if (key->pkey) set.keys_.push_back(std::move(key));
  }
  return set;
}

bool JsonWebKeySet::has_kid(std::string_view kid) const {
  for (const auto& key : keys_) {
    if (key->kid == kid) return true;
  }
  return false;
}

Result<UnverifiedJwt> parse_jwt(std::string_view token) {
  auto parts = split(token);
  if (!parts) return std::unexpected(parts.error());
  auto header = json_object(parts->header);
  auto payload = json_object(parts->payload);
  if (!header || !payload) return std::unexpected(malformed("a part is not base64url JSON"));
  UnverifiedJwt out;
  out.alg = text(*header, "alg").value_or("");
  out.kid = text(*header, "kid").value_or("");
  if (header->contains("crit")) return std::unexpected(malformed("\"crit\" is not supported"));
  JwtClaims& c = out.claims;
  c.iss = text(*payload, "iss").value_or("");
  c.sub = text(*payload, "sub").value_or("");
  if (const json::value* aud = payload->if_contains("aud")) {
    if (aud->is_string()) c.aud.emplace_back(aud->as_string());
    if (aud->is_array()) {
      for (const json::value& a : aud->as_array()) {
        if (!a.is_string()) return std::unexpected(malformed("aud holds a non-string"));
        c.aud.emplace_back(a.as_string());
      }
    }
  }
  bool bad = false;
  c.exp = number(*payload, "exp", bad);
  c.nbf = number(*payload, "nbf", bad);
  c.iat = number(*payload, "iat", bad);
  if (bad) return std::unexpected(malformed("exp, nbf or iat is not a time"));
  return out;
}

// Access to JsonWebKeySet's keys for verify_jwt.
struct JwtVerification {
  static const std::vector<std::shared_ptr<const JsonWebKeySet::Key>>& keys(
      const JsonWebKeySet& set) {
    return set.keys_;
  }
};

Result<JwtClaims> verify_jwt(std::string_view token, const JsonWebKeySet& keys) {
  auto parsed = parse_jwt(token);
  if (!parsed) return std::unexpected(parsed.error());
  if (parsed->alg != "RS256" && parsed->alg != "ES256") {
    return fail(ErrorCode::kInvalidArgument, "The web identity token's alg \"" +
                                                 parsed->alg.substr(0, 16) +
                                                 "\" is not accepted (RS256 and ES256 are).");
  }
  auto parts = split(token);
  auto signature = base64url_decode(parts->signature);
  if (!signature) return std::unexpected(malformed("the signature is not base64url"));
  if (parsed->alg == "ES256") {
    signature = es256_to_der(*signature);
    if (!signature) return std::unexpected(malformed("an ES256 signature is 64 bytes"));
  }
  for (const auto& key : JwtVerification::keys(keys)) {
    if (key->alg != parsed->alg) continue;
    if (!parsed->kid.empty() && key->kid != parsed->kid) continue;
    if (verifies(key->pkey.get(), parts->signed_part, *signature)) return parsed->claims;
  }
  return fail(ErrorCode::kInvalidSignature, "The web identity token's signature is not valid.");
}

}  // namespace plinth::auth
