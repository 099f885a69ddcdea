// Fuzzes SigV4 verification: canonicalization of arbitrary requests (path, query, headers),
// Authorization header parsing and presigned query parsing, then the whole Authenticator.
// Input: "METHOD TARGET HTTP/1.1\nName:value\n...\n\nbody" (the aws-c-auth suite's format).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "plinth/auth/authenticator.h"
#include "plinth/auth/sigv4.h"
#include "plinth/core/clock.h"

namespace {

using namespace plinth;

// Knows every access key as the suite's AKIDEXAMPLE, so real signatures verify.
class AnyKey final : public auth::CredentialResolver {
 public:
  Result<auth::ResolvedCredential> resolve(std::string_view access_key_id,
                                           const std::optional<std::string>&) const override {
    auth::ResolvedCredential credential;
    credential.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    credential.principal.kind = auth::Principal::Kind::kUser;
    credential.principal.arn = "arn:aws:iam::000000000000:user/fuzz";
    credential.principal.access_key_id = std::string(access_key_id);
    return credential;
  }
};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

auth::SignableRequest parse_request(std::string_view text) {
  auth::SignableRequest request;
  size_t eol = text.find('\n');
  std::string_view line = text.substr(0, eol);
  text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
  size_t space = line.find(' ');
  request.method = std::string(line.substr(0, space));
  std::string_view target =
      space == std::string_view::npos ? std::string_view("/") : line.substr(space + 1);
  if (size_t version = target.rfind(" HTTP/"); version != std::string_view::npos) {
    target = target.substr(0, version);
  }
  size_t question = target.find('?');
  request.raw_path = std::string(target.substr(0, question));
  if (question != std::string_view::npos)
    request.raw_query = std::string(target.substr(question + 1));
  while (!text.empty()) {
    eol = text.find('\n');
    line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    if (line.empty()) break;
    size_t colon = line.find(':', 1);  // ":authority" keeps its leading colon
    if (colon == std::string_view::npos) continue;
    request.headers.emplace_back(lower(line.substr(0, colon)), std::string(line.substr(colon + 1)));
  }
  request.body = text;
  return request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auth::SignableRequest request = parse_request(input);

  for (bool normalize : {false, true}) {
    for (bool twice : {false, true}) {
      (void)auth::canonical_uri(request.raw_path, {normalize, twice});
    }
  }
  (void)auth::canonical_query(request.raw_query);
  (void)auth::canonical_query(request.raw_query, "X-Amz-Signature");
  std::vector<std::string> signed_headers;
  for (const auto& [name, value] : request.headers) {
    signed_headers.push_back(name);
    if (name == "authorization") {
      if (auto parts = auth::parse_authorization_header(value))
        signed_headers = parts->signed_headers;
    }
    if (name == "x-amz-date") (void)auth::parse_amz_date(value);
  }
  if (auto parts = auth::parse_presigned_query(request.raw_query)) {
    (void)parts->scope();
    (void)auth::canonical_headers(request.headers, parts->signed_headers);
  }
  (void)auth::canonical_headers(request.headers, signed_headers);
  (void)auth::canonical_request(request, signed_headers, auth::kUnsignedPayload, {});

  // The whole verification, at the suite's time (2015-08-30T12:36:00Z).
  static const auto resolver = std::make_shared<AnyKey>();
  static const auto clock = std::make_shared<ManualClock>(1'440'938'160);
  static const auth::Authenticator authenticator(resolver, clock);
  (void)authenticator.authenticate(request, "");
  (void)authenticator.authenticate(request, "bedrock");
  return 0;
}
