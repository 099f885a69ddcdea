// The root account's long-lived access key: from the environment or DATA_DIR.
#pragma once

#include <filesystem>
#include <string>

#include "plinth/core/random.h"
#include "plinth/core/result.h"

namespace plinth::auth {

struct RootCredentials {
  std::string access_key_id;
  std::string secret_access_key;
};

// PLINTH_ROOT_ACCESS_KEY_ID / PLINTH_ROOT_SECRET_ACCESS_KEY when both are set; else reads
// DATA_DIR/root-credentials.json ({"AccessKeyId":…,"SecretAccessKey":…}), generating it (mode
// 0600, AKIA… id) on first start.
Result<RootCredentials> ensure_root_credentials(const std::filesystem::path& data_dir,
                                                Random& random);

}  // namespace plinth::auth
