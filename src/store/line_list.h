// OIDC client ids and thumbprints are stored one item a line (IamService refuses control
// characters in them); shared by the SQLite and PostgreSQL stores.
#pragma once

#include <string>
#include <vector>

namespace plinth::store {

inline std::string join_lines(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += item + "\n";
  return out;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1) {
    out.push_back(text.substr(start, end - start));
  }
  return out;
}

}  // namespace plinth::store
