// HTTP request and response values shared by the server and the client.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace plinth::http {

// One header field. Names are lowercased when received; values are kept as sent.
struct Header {
  std::string name;
  std::string value;
};

struct Request {
  std::string method;  // "GET", "POST", ...
  // The raw request-target as received: path plus optional "?query", percent-encoding intact.
  std::string target;
  // Lowercased names, in received order. For HTTP/2 requests the ":authority" pseudo-header is
  // included as a header named ":authority" (AWS SDK v3 signs it instead of host); other
  // pseudo-headers are not.
  std::vector<Header> headers;
  std::string body;
  int http_version = 11;       // 11 or 20
  bool secure = false;         // arrived over TLS
  std::string remote_address;  // "ip:port" of the peer

  // The target up to '?', still percent-encoded.
  std::string_view path() const;
  // The part after '?', raw ("" if none).
  std::string_view query() const;
  // The first header with this (lowercase) name, or nullptr.
  const std::string* header(std::string_view lowercase_name) const;
};

struct Response {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  // The first header with this name (compared case-insensitively), or nullptr.
  const std::string* header(std::string_view name) const;
};

// The standard reason phrase for a status code ("OK", "Not Found"); "" when unknown.
std::string_view reason_phrase(int status);

}  // namespace plinth::http
