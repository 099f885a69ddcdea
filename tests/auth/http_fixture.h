// Test helper: reads the HTTP request files of the SigV4 suite and the SDK captures.
#pragma once

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "plinth/auth/sigv4.h"

namespace plinth::auth::testing {

struct HttpFile {
  std::string method;
  std::string path;
  std::string query;
  HeaderList headers;  // lowercase names, values without surrounding whitespace
  std::string body;

  SignableRequest signable() const { return SignableRequest{method, path, query, headers, body}; }
};

inline std::string read_file(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::string trim_ws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

// Request line (the target may hold spaces, as in the suite's get-space case), headers with
// folded continuation lines, a blank line, the body. Accepts LF and CRLF line ends.
inline HttpFile parse_http(const std::string& text) {
  HttpFile out;
  size_t pos = 0;
  auto next_line = [&](std::string& line) {
    if (pos >= text.size()) return false;
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    line = text.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    pos = end + 1;
    return true;
  };
  std::string line;
  next_line(line);
  size_t first = line.find(' '), last = line.rfind(' ');
  out.method = line.substr(0, first);
  std::string target = line.substr(first + 1, last - first - 1);
  size_t q = target.find('?');
  out.path = target.substr(0, q);
  out.query = q == std::string::npos ? "" : target.substr(q + 1);
  while (next_line(line) && !line.empty()) {
    if ((line[0] == ' ' || line[0] == '\t') && !out.headers.empty()) {
      out.headers.back().second += " " + trim_ws(line);
      continue;
    }
    size_t colon = line.find(':', line[0] == ':' ? 1 : 0);
    std::string name = line.substr(0, colon);
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers.emplace_back(name, trim_ws(line.substr(colon + 1)));
  }
  out.body = pos < text.size() ? text.substr(pos) : "";
  return out;
}

inline HttpFile load_http(const std::filesystem::path& file) { return parse_http(read_file(file)); }

}  // namespace plinth::auth::testing
