// The links that ask another service: web identity (STS), ECS container credentials, EC2 IMDSv2.
#include <algorithm>
#include <cctype>

#include "chain_support.h"
#include "endpoint_call.h"
#include "plinth/aws/sts_client.h"

namespace plinth::aws {
namespace {

constexpr size_t kMaxAuthorizationTokenBytes = 16 << 10;
constexpr std::string_view kEcsHost = "http://169.254.170.2";
constexpr std::string_view kImdsHost = "http://169.254.169.254";
constexpr std::string_view kImdsIpv6Host = "http://[fd00:ec2::254]";

std::string trim_end(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

ErrorCode status_code(int status) {
  if (status == 401 || status == 403) return ErrorCode::kPermissionDenied;
  if (status == 429) return ErrorCode::kThrottled;
  if (status >= 500) return ErrorCode::kUnavailable;
  return ErrorCode::kIo;
}

class WebIdentityCredentials final : public CredentialProvider {
 public:
  explicit WebIdentityCredentials(ChainOptions options) : options_(std::move(options)) {}
  Result<AwsCredentials> fetch() override {
    auto token_file = env_value(options_.environment, "AWS_WEB_IDENTITY_TOKEN_FILE");
    auto role_arn = env_value(options_.environment, "AWS_ROLE_ARN");
    if (!token_file || !role_arn) {
      return fail(ErrorCode::kNotFound, "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are not set");
    }
    // Read on every refresh: the orchestrator rotates the token in place.
    auto token = read_bounded_file(*token_file, kMaxWebIdentityTokenBytes);
    if (!token)
      return fail(token.error().code == ErrorCode::kNotFound ? ErrorCode::kIo : token.error().code,
                  "web identity token: " + token.error().message);
    AssumeRoleParams params{*role_arn,
                            env_value(options_.environment, "AWS_ROLE_SESSION_NAME")
                                .value_or(default_session_name(*options_.clock)),
                            "", 0};
    StsEndpoint endpoint = sts_endpoint(options_.environment, chain_region(options_));
    endpoint.timeout = options_.sts_timeout;
    auto out = assume_role_with_web_identity(endpoint, params, trim_end(std::move(*token)));
    if (out) out->source = "web identity";
    return out;
  }

 private:
  ChainOptions options_;
};

// The SDKs send the container token over plain http only to these hosts.
bool allowed_plain_http_host(const std::string& host) {
  if (host == "localhost" || host == "::1" || host == "169.254.170.2" || host == "169.254.170.23" ||
      host == "fd00:ec2::23") {
    return true;
  }
  return host.starts_with("127.") &&
         std::all_of(host.begin(), host.end(), [](char c) { return std::isdigit(c) || c == '.'; });
}

class ContainerCredentials final : public CredentialProvider {
 public:
  explicit ContainerCredentials(ChainOptions options) : options_(std::move(options)) {}
  Result<AwsCredentials> fetch() override {
    std::string url_text;
    if (auto relative = env_value(options_.environment, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")) {
      url_text = std::string(kEcsHost) + *relative;
    } else if (auto full = env_value(options_.environment, "AWS_CONTAINER_CREDENTIALS_FULL_URI")) {
      url_text = *full;
    } else {
      return fail(ErrorCode::kNotFound,
                  "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI not set");
    }
    auto url = http::parse_http_url(url_text);
    if (!url)
      return fail(ErrorCode::kInvalidArgument, "container credentials: " + url.error().message);
    if (!url->tls && !allowed_plain_http_host(url->host)) {
      return fail(ErrorCode::kInvalidArgument,
                  "container credentials over http must go to a loopback or ECS/EKS address, not " +
                      url->host.substr(0, 128));
    }
    http::Request request;
    request.method = "GET";
    request.headers.push_back({"accept", "application/json"});
    std::optional<std::string> token;
    if (auto file = env_value(options_.environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")) {
      auto text = read_bounded_file(*file, kMaxAuthorizationTokenBytes);
      if (!text)
        return fail(ErrorCode::kIo, "container authorization token: " + text.error().message);
      token = trim_end(std::move(*text));
    } else {
      token = env_value(options_.environment, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    if (token) {
      if (token->find_first_of("\r\n") != std::string::npos) {
        return fail(ErrorCode::kInvalidArgument,
                    "the container authorization token has a line break");
      }
      request.headers.push_back({"authorization", *token});
    }
    auto response = call_endpoint(*url, std::move(request), options_.metadata_timeout);
    if (!response) return std::unexpected(response.error());
    if (response->status != 200) {
      return fail(status_code(response->status), "container credentials endpoint answered HTTP " +
                                                     std::to_string(response->status));
    }
    auto out = parse_credentials_json(response->body);
    if (out) out->source = "container";
    return out;
  }

 private:
  ChainOptions options_;
};

class InstanceMetadataCredentials final : public CredentialProvider {
 public:
  explicit InstanceMetadataCredentials(ChainOptions options) : options_(std::move(options)) {}
  Result<AwsCredentials> fetch() override {
    auto disabled = env_value(options_.environment, "AWS_EC2_METADATA_DISABLED");
    if (disabled && lower(*disabled) == "true") {
      return fail(ErrorCode::kNotFound, "AWS_EC2_METADATA_DISABLED is true");
    }
    std::string base = std::string(kImdsHost);
    if (auto mode = env_value(options_.environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
        mode && lower(*mode) == "ipv6") {
      base = std::string(kImdsIpv6Host);
    }
    if (auto endpoint = env_value(options_.environment, "AWS_EC2_METADATA_SERVICE_ENDPOINT")) {
      base = *endpoint;
    }
    while (base.ends_with('/')) base.pop_back();
    auto url = http::parse_http_url(base);
    if (!url) return fail(ErrorCode::kInvalidArgument, "IMDS endpoint: " + url.error().message);
    std::string prefix = url->target == "/" ? "" : url->target;

    // IMDSv2: a session token first. Unreachable metadata means "not on EC2": the chain ends.
    http::Request put;
    put.method = "PUT";
    put.target = prefix + "/latest/api/token";
    put.headers.push_back({"x-aws-ec2-metadata-token-ttl-seconds", "21600"});
    auto token = call_endpoint(*url, std::move(put), options_.metadata_timeout);
    if (!token)
      return fail(ErrorCode::kNotFound, "no instance metadata service: " + token.error().message);
    std::string session;
    if (token->status == 200) {
      session = trim_end(std::move(token->body));
    } else if (token->status == 403 || token->status == 404 || token->status == 405) {
      // IMDSv1 only (as the SDKs fall back), unless the operator turned that off.
      auto v1 = env_value(options_.environment, "AWS_EC2_METADATA_V1_DISABLED");
      if (v1 && lower(*v1) == "true") {
        return fail(ErrorCode::kPermissionDenied, "IMDSv2 token refused and IMDSv1 is disabled");
      }
    } else {
      return fail(status_code(token->status),
                  "IMDS token request answered HTTP " + std::to_string(token->status));
    }
    auto get = [&](const std::string& path) -> Result<std::string> {
      http::Request request;
      request.method = "GET";
      request.target = prefix + path;
      if (!session.empty()) request.headers.push_back({"x-aws-ec2-metadata-token", session});
      auto response = call_endpoint(*url, std::move(request), options_.metadata_timeout);
      if (!response) return std::unexpected(response.error());
      if (response->status != 200) {
        return fail(status_code(response->status),
                    "IMDS " + path + " answered HTTP " + std::to_string(response->status));
      }
      return std::move(response->body);
    };
    constexpr std::string_view kCredentialsPath = "/latest/meta-data/iam/security-credentials/";
    auto roles = get(std::string(kCredentialsPath));
    if (!roles) return std::unexpected(roles.error());
    std::string role = trim_end(roles->substr(0, roles->find('\n')));
    if (role.empty() || role.find_first_of("/?#% ") != std::string::npos) {
      return fail(ErrorCode::kIo, "IMDS names no usable instance role");
    }
    auto document = get(std::string(kCredentialsPath) + role);
    if (!document) return std::unexpected(document.error());
    auto out = parse_credentials_json(*document);
    if (out) out->source = "instance metadata";
    return out;
  }

 private:
  static std::string lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  ChainOptions options_;
};

}  // namespace

std::unique_ptr<CredentialProvider> web_identity_credentials(ChainOptions options) {
  return std::make_unique<WebIdentityCredentials>(std::move(options));
}

std::unique_ptr<CredentialProvider> container_credentials(ChainOptions options) {
  return std::make_unique<ContainerCredentials>(std::move(options));
}

std::unique_ptr<CredentialProvider> instance_metadata_credentials(ChainOptions options) {
  return std::make_unique<InstanceMetadataCredentials>(std::move(options));
}

}  // namespace plinth::aws
