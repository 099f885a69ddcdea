// Root credentials: from PLINTH_ROOT_* env, else DATA_DIR/root-credentials.json (made once).
#include "plinth/auth/root_credentials.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "plinth/core/ids.h"

namespace plinth::auth {
namespace json = boost::json;

Result<RootCredentials> ensure_root_credentials(const std::filesystem::path& data_dir,
                                                Random& random) {
  const char* id = std::getenv("PLINTH_ROOT_ACCESS_KEY_ID");
  const char* secret = std::getenv("PLINTH_ROOT_SECRET_ACCESS_KEY");
  if (id != nullptr && secret != nullptr && *id != '\0' && *secret != '\0') {
    return RootCredentials{id, secret};
  }
  std::filesystem::path file = data_dir / "root-credentials.json";
  std::error_code ec;
  if (std::filesystem::exists(file, ec)) {
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    boost::system::error_code parse_error;
    json::value v = json::parse(text.str(), parse_error);
    const json::object* o = parse_error ? nullptr : v.if_object();
    const json::value* key_id = o ? o->if_contains("AccessKeyId") : nullptr;
    const json::value* key_secret = o ? o->if_contains("SecretAccessKey") : nullptr;
    if (!key_id || !key_secret || !key_id->is_string() || !key_secret->is_string()) {
      return fail(ErrorCode::kCorruptData, file.string() + " is not valid root credentials JSON");
    }
    return RootCredentials{std::string(key_id->as_string()), std::string(key_secret->as_string())};
  }
  std::filesystem::create_directories(data_dir, ec);
  RootCredentials creds{new_base32_id(random, "AKIA", 16), new_secret_key(random)};
  json::object o;
  o["AccessKeyId"] = creds.access_key_id;
  o["SecretAccessKey"] = creds.secret_access_key;
  std::string body = json::serialize(o) + "\n";
  // O_EXCL and mode 0600 from creation: the secret is never readable by others.
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot create " + file.string());
  bool written = ::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size());
  written = ::fsync(fd) == 0 && written;
  ::close(fd);
  if (!written) return fail(ErrorCode::kIo, "cannot write " + file.string());
  return creds;
}

}  // namespace plinth::auth
