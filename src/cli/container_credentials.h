// `plinth serve --task-role`: the token that guards GET /v1/container-credentials.
#pragma once

#include <filesystem>
#include <string>

#include "plinth/core/random.h"
#include "plinth/core/result.h"

namespace plinth::cli {

// A fresh token (64 hex characters) written to DATA_DIR/container-credentials-token, mode 0600,
// replacing the previous start's. Returns the token and the file.
struct ContainerCredentialsToken {
  std::string token;
  std::filesystem::path file;
};
Result<ContainerCredentialsToken> write_container_credentials_token(
    const std::filesystem::path& data_dir, Random& random);

// The lines that tell an application how to reach the endpoint (the token's file, never the
// token). host: where plinth listens; a wildcard address becomes 127.0.0.1.
std::string container_credentials_instructions(const std::string& role, const std::string& scheme,
                                               const std::string& host, uint16_t port,
                                               const std::filesystem::path& token_file);

}  // namespace plinth::cli
