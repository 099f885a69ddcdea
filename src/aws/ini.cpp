// The shared-file parser (~/.aws/credentials, ~/.aws/config).
#include "plinth/aws/ini.h"

#include <cctype>
#include <string>

namespace plinth::aws {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

Status bad_line(size_t number, std::string_view why) {
  return fail(ErrorCode::kInvalidArgument,
              "shared AWS file: line " + std::to_string(number) + ": " + std::string(why));
}

}  // namespace

Result<IniFile> parse_ini(std::string_view text) {
  if (text.size() > kMaxIniBytes) {
    return fail(ErrorCode::kInvalidArgument, "shared AWS file is larger than 1 MiB");
  }
  IniFile file;
  IniSection* section = nullptr;
  std::string parent_key;  // the key whose indented sub-properties follow (empty value)
  size_t number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view raw = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
    ++number;
    bool indented = !raw.empty() && (raw.front() == ' ' || raw.front() == '\t');
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[') {
      // Botocore allows trailing comments after "]": "[profile x] # note".
      size_t close = line.find(']');
      if (close == std::string_view::npos) {
        return std::unexpected(bad_line(number, "section header without ']'").error());
      }
      std::string name(trim(line.substr(1, close - 1)));
      if (name.empty()) return std::unexpected(bad_line(number, "empty section name").error());
      if (!file.contains(name) && file.size() >= kMaxIniSections) {
        return fail(ErrorCode::kInvalidArgument, "shared AWS file has more than 4096 sections");
      }
      section = &file[name];
      parent_key.clear();
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      return std::unexpected(bad_line(number, "expected key = value").error());
    }
    std::string key = lower(trim(line.substr(0, eq)));
    std::string_view value = trim(line.substr(eq + 1));
    if (key.empty()) return std::unexpected(bad_line(number, "empty key").error());
    if (section == nullptr) {
      return std::unexpected(bad_line(number, "key outside any section").error());
    }
    if (indented && !parent_key.empty()) {
      key = parent_key + "." + key;
    } else {
      parent_key = value.empty() ? key : std::string();
    }
    if (!section->contains(key) && section->size() >= kMaxIniKeysPerSection) {
      return fail(ErrorCode::kInvalidArgument,
                  "shared AWS file has a section with more than 512 keys");
    }
    (*section)[key] = std::string(value);
  }
  return file;
}

const IniSection* config_profile(const IniFile& config, std::string_view name) {
  // "[profile default]" wins over "[default]" when both exist, as in botocore.
  if (auto it = config.find("profile " + std::string(name)); it != config.end()) {
    return &it->second;
  }
  if (name == "default") {
    if (auto it = config.find("default"); it != config.end()) return &it->second;
  }
  return nullptr;
}

}  // namespace plinth::aws
