// Byte encodings shared by several modules: hex, base64, base32-ish ids, percent-encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace plinth {

std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view hex);
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);
// base64url without padding (tokens that travel in headers and query strings).
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// RFC 3986 percent-encoding of everything but unreserved characters (A-Z a-z 0-9 - _ . ~).
// With keep_slash, '/' stays as is (SigV4 canonical URIs).
std::string uri_encode(std::string_view s, bool keep_slash = false);
// Percent-decoding; '+' stays '+' unless plus_as_space. nullopt on a malformed escape.
std::optional<std::string> uri_decode(std::string_view s, bool plus_as_space = false);

// An application/x-www-form-urlencoded string (a query string or a form body) as its (name, value)
// pairs in order, both percent-decoded with '+' as a space; empty pieces are skipped. nullopt on
// a malformed escape.
using FormPairs = std::vector<std::pair<std::string, std::string>>;
std::optional<FormPairs> parse_form_urlencoded(std::string_view text);

// True when s is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// Constant-time comparison of two byte strings (length leaks, content does not).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace plinth
