// IAM CreateOpenIDConnectProvider / Get / List / Delete: validation and ARNs.
#include <algorithm>

#include "plinth/auth/iam.h"
#include "plinth/auth/web_identity.h"

namespace plinth::auth {
namespace {

bool printable(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

// Plain http would let anyone on the path swap the keys; it is allowed for loopback only (tests).
bool loopback_http(std::string_view url) {
  for (std::string_view host : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
    if (url.starts_with(host) &&
        (url.size() == host.size() || url[host.size()] == ':' || url[host.size()] == '/')) {
      return true;
    }
  }
  return false;
}

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

}  // namespace

Result<store::OidcProviderRecord> IamService::create_open_id_connect_provider(
    const std::string& url, const std::vector<std::string>& client_ids,
    const std::vector<std::string>& thumbprints) {
  auto host_path = issuer_host_path(url);
  if (!host_path || url.size() > 255 || !printable(url) ||
      (!url.starts_with("https://") && !loopback_http(url))) {
    return std::unexpected(invalid("Url must be https://HOST[/PATH], at most 255 characters."));
  }
  if (client_ids.size() > 100 || thumbprints.size() > 5) {
    return std::unexpected(invalid("At most 100 client ids and 5 thumbprints."));
  }
  for (const std::string& id : client_ids) {
    if (id.empty() || id.size() > 255 || !printable(id)) {
      return std::unexpected(invalid("Each client id is 1 to 255 printable characters."));
    }
  }
  for (const std::string& t : thumbprints) {
    if (t.size() != 40 || !std::all_of(t.begin(), t.end(), ::isxdigit)) {
      return std::unexpected(invalid("Each thumbprint is 40 hex characters."));
    }
  }
  store::OidcProviderRecord record{"arn:aws:iam::" + account_id_ + ":oidc-provider/" + *host_path,
                                   url, client_ids, thumbprints, clock_->unix_seconds()};
  if (auto s = store_.create_oidc_provider(record); !s) return std::unexpected(s.error());
  return record;
}

Result<store::OidcProviderRecord> IamService::get_open_id_connect_provider(const std::string& arn) {
  return store_.get_oidc_provider(arn);
}

Result<std::vector<store::OidcProviderRecord>> IamService::list_open_id_connect_providers() {
  return store_.list_oidc_providers();
}

Status IamService::delete_open_id_connect_provider(const std::string& arn) {
  return store_.delete_oidc_provider(arn);
}

}  // namespace plinth::auth
