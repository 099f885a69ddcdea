// The container-credentials token file and the environment an application sets to use it.
#include "container_credentials.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"

namespace plinth::cli {

Result<ContainerCredentialsToken> write_container_credentials_token(
    const std::filesystem::path& data_dir, Random& random) {
  ContainerCredentialsToken out{
      hex_encode(random.bytes(32)),
      std::filesystem::absolute(data_dir / "container-credentials-token")};
  // 0600 from creation and O_NOFOLLOW: the token is never readable by others, even briefly.
  int fd = ::open(out.file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return fail(ErrorCode::kIo, "cannot write " + out.file.string());
  bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, out.token.data(), out.token.size()) ==
                                                static_cast<ssize_t>(out.token.size());
  ::close(fd);
  if (!written) return fail(ErrorCode::kIo, "cannot write " + out.file.string());
  return out;
}

std::string container_credentials_instructions(const std::string& role, const std::string& scheme,
                                               const std::string& host, uint16_t port,
                                               const std::filesystem::path& token_file) {
  // The SDKs accept plain http only for loopback (and the ECS/EKS link-local hosts).
  std::string reachable = host == "0.0.0.0" || host == "::" || host.empty() ? "127.0.0.1" : host;
  if (reachable.find(':') != std::string::npos) reachable = "[" + reachable + "]";
  return "Task role " + role +
         ": an application whose environment has these two gets its credentials "
         "(no key needed):\n"
         "  export AWS_CONTAINER_CREDENTIALS_FULL_URI=" +
         scheme + "://" + reachable + ":" + std::to_string(port) +
         std::string(api::kContainerCredentialsPath) +
         "\n"
         "  export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" +
         token_file.string() + "\n";
}

}  // namespace plinth::cli
