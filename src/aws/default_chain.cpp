// The default credential chain: each link in the SDKs' order, the first that is configured wins.
#include <utility>
#include <vector>

#include "plinth/aws/credentials.h"
#include "plinth/core/log.h"

namespace plinth::aws {
namespace {

class CredentialChain final : public CredentialProvider {
 public:
  explicit CredentialChain(std::vector<std::unique_ptr<CredentialProvider>> links)
      : links_(std::move(links)) {}
  Result<AwsCredentials> fetch() override {
    std::string tried;
    for (auto& link : links_) {
      auto out = link->fetch();
      if (out) return out;
      // A link that is configured but fails stops the chain (as in the SDKs): falling through to
      // another identity would be a surprise worse than the error.
      if (out.error().code != ErrorCode::kNotFound) return out;
      tried += (tried.empty() ? "" : "; ") + out.error().message;
    }
    return fail(ErrorCode::kUnauthenticated, "no AWS credentials found: " + tried);
  }

 private:
  std::vector<std::unique_ptr<CredentialProvider>> links_;
};

}  // namespace

std::shared_ptr<CredentialProvider> default_credential_chain(ChainOptions options) {
  std::vector<std::unique_ptr<CredentialProvider>> links;
  if (!options.profile.empty()) {
    links.push_back(profile_credentials(options));
  } else {
    links.push_back(environment_credentials(options));
    links.push_back(profile_credentials(options));
    links.push_back(web_identity_credentials(options));
    links.push_back(container_credentials(options));
    links.push_back(instance_metadata_credentials(options));
  }
  auto clock = options.clock;
  return std::make_shared<CachedCredentials>(std::make_unique<CredentialChain>(std::move(links)),
                                             std::move(clock));
}

}  // namespace plinth::aws
