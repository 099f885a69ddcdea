// The environment link and the shared-files link (static keys, role_arn with source_profile or
// credential_source, web_identity_token_file), with chained role assumption.
#include <set>

#include "chain_support.h"
#include "plinth/aws/ini.h"
#include "plinth/aws/sts_client.h"

namespace plinth::aws {
namespace {

// Profiles that name each other as source_profile: a bound on the chain, and cycles refused.
constexpr int kMaxRoleChain = 8;

class EnvironmentCredentials final : public CredentialProvider {
 public:
  explicit EnvironmentCredentials(ChainOptions options) : options_(std::move(options)) {}
  Result<AwsCredentials> fetch() override {
    auto key = env_value(options_.environment, "AWS_ACCESS_KEY_ID");
    auto secret = env_value(options_.environment, "AWS_SECRET_ACCESS_KEY");
    if (!key || !secret) {
      return fail(ErrorCode::kNotFound, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set");
    }
    AwsCredentials out{*key, *secret,
                       env_value(options_.environment, "AWS_SESSION_TOKEN").value_or(""),
                       std::nullopt, "environment"};
    if (auto expiration = env_value(options_.environment, "AWS_CREDENTIAL_EXPIRATION")) {
      out.expiration = parse_iso8601(*expiration);
      if (!out.expiration) {
        return fail(ErrorCode::kInvalidArgument,
                    "AWS_CREDENTIAL_EXPIRATION is not an ISO 8601 time");
      }
    }
    return out;
  }

 private:
  ChainOptions options_;
};

class ProfileCredentials final : public CredentialProvider {
 public:
  explicit ProfileCredentials(ChainOptions options) : options_(std::move(options)) {}

  Result<AwsCredentials> fetch() override {
    std::string name = options_.profile;
    bool named = !name.empty();
    if (!named) {
      for (const char* variable : {"AWS_PROFILE", "AWS_DEFAULT_PROFILE"}) {
        if (auto value = env_value(options_.environment, variable)) {
          name = *value;
          named = true;
          break;
        }
      }
    }
    if (name.empty()) name = "default";
    auto loaded = load_files();
    if (!loaded) return std::unexpected(loaded.error());
    auto out = resolve(name, 0, {});
    // A profile someone named must exist; the default profile may be absent (the chain goes on).
    if (!out && named && out.error().code == ErrorCode::kNotFound) {
      return fail(ErrorCode::kInvalidArgument, out.error().message);
    }
    return out;
  }

 private:
  Status load_files() {
    config_.clear();
    credentials_.clear();
    std::string config_path =
        expand_home(options_.environment,
                    env_value(options_.environment, "AWS_CONFIG_FILE").value_or("~/.aws/config"));
    std::string credentials_path = expand_home(
        options_.environment, env_value(options_.environment, "AWS_SHARED_CREDENTIALS_FILE")
                                  .value_or("~/.aws/credentials"));
    for (auto [path, target] :
         {std::pair{&config_path, &config_}, {&credentials_path, &credentials_}}) {
      auto text = read_bounded_file(*path, kMaxIniBytes);
      if (!text) {
        if (text.error().code == ErrorCode::kNotFound) continue;
        return std::unexpected(text.error());
      }
      auto parsed = parse_ini(*text);
      if (!parsed) {
        return fail(ErrorCode::kInvalidArgument, *path + ": " + parsed.error().message);
      }
      *target = std::move(*parsed);
    }
    return ok();
  }

  // The profile's settings: the config file's "[profile name]" overlaid by the credentials
  // file's "[name]". nullopt when neither file has it.
  std::optional<IniSection> merged(const std::string& name) const {
    std::optional<IniSection> out;
    if (const IniSection* config = config_profile(config_, name)) out = *config;
    if (auto it = credentials_.find(name); it != credentials_.end()) {
      if (!out) out.emplace();
      for (const auto& [key, value] : it->second) (*out)[key] = value;
    }
    return out;
  }

  static std::string get(const IniSection& s, const std::string& key) {
    auto it = s.find(key);
    return it == s.end() ? std::string() : it->second;
  }

  static std::optional<AwsCredentials> static_keys(const IniSection& s, const std::string& name) {
    std::string key = get(s, "aws_access_key_id"), secret = get(s, "aws_secret_access_key");
    if (key.empty() || secret.empty()) return std::nullopt;
    return AwsCredentials{key, secret, get(s, "aws_session_token"), std::nullopt,
                          "profile " + name};
  }

  Result<AwsCredentials> resolve(const std::string& name, int depth, std::set<std::string> seen) {
    if (depth > kMaxRoleChain) {
      return fail(ErrorCode::kInvalidArgument, "profile " + name + ": more than 8 chained roles");
    }
    if (!seen.insert(name).second) {
      return fail(ErrorCode::kInvalidArgument, "profile " + name + ": source_profile cycle");
    }
    auto profile = merged(name);
    if (!profile) return fail(ErrorCode::kNotFound, "no profile " + name + " in the shared files");
    std::string role_arn = get(*profile, "role_arn");
    if (role_arn.empty()) {
      if (auto keys = static_keys(*profile, name)) return *keys;
      return fail(ErrorCode::kNotFound, "profile " + name + " has no credentials");
    }
    AssumeRoleParams params{role_arn, get(*profile, "role_session_name"),
                            get(*profile, "external_id"), 0};
    if (params.role_session_name.empty())
      params.role_session_name = default_session_name(*options_.clock);
    if (std::string duration = get(*profile, "duration_seconds"); !duration.empty()) {
      try {
        params.duration_seconds = std::stoi(duration);
      } catch (...) {
        return fail(ErrorCode::kInvalidArgument,
                    "profile " + name + ": duration_seconds is not a number");
      }
    }
    StsEndpoint endpoint =
        sts_endpoint(options_.environment, chain_region(options_, get(*profile, "region")));
    endpoint.timeout = options_.sts_timeout;

    std::string token_file = get(*profile, "web_identity_token_file");
    std::string source_profile = get(*profile, "source_profile");
    std::string credential_source = get(*profile, "credential_source");
    Result<AwsCredentials> source = fail(ErrorCode::kInvalidArgument, "");
    if (!source_profile.empty()) {
      if (source_profile == name) {  // the role's own static keys are its source
        auto keys = static_keys(*profile, name);
        if (!keys)
          return fail(ErrorCode::kInvalidArgument, "profile " + name + " has no static keys");
        source = *keys;
      } else {
        source = resolve(source_profile, depth + 1, seen);
        if (!source && source.error().code == ErrorCode::kNotFound) {
          return fail(ErrorCode::kInvalidArgument,
                      "profile " + name + ": source_profile " + source.error().message);
        }
      }
    } else if (!credential_source.empty()) {
      ChainOptions inner = options_;
      std::unique_ptr<CredentialProvider> provider;
      if (credential_source == "Environment") provider = environment_credentials(inner);
      if (credential_source == "Ec2InstanceMetadata")
        provider = instance_metadata_credentials(inner);
      if (credential_source == "EcsContainer") provider = container_credentials(inner);
      if (!provider) {
        return fail(
            ErrorCode::kInvalidArgument,
            "profile " + name + ": unknown credential_source " + credential_source.substr(0, 64));
      }
      source = provider->fetch();
    } else if (!token_file.empty()) {
      auto token = read_bounded_file(expand_home(options_.environment, token_file),
                                     kMaxWebIdentityTokenBytes);
      if (!token) return std::unexpected(token.error());
      while (!token->empty() && std::isspace(static_cast<unsigned char>(token->back())))
        token->pop_back();
      auto out = assume_role_with_web_identity(endpoint, params, *token);
      if (out) out->source = "profile " + name + " (web identity)";
      return out;
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "profile " + name +
                      ": role_arn needs source_profile, credential_source or "
                      "web_identity_token_file");
    }
    if (!source) return std::unexpected(source.error());
    auto out = assume_role(endpoint, *source, params, *options_.clock);
    if (out) out->source = "profile " + name + " (assumed role)";
    return out;
  }

  ChainOptions options_;
  IniFile config_, credentials_;
};

}  // namespace

std::unique_ptr<CredentialProvider> environment_credentials(ChainOptions options) {
  return std::make_unique<EnvironmentCredentials>(std::move(options));
}

std::unique_ptr<CredentialProvider> profile_credentials(ChainOptions options) {
  return std::make_unique<ProfileCredentials>(std::move(options));
}

}  // namespace plinth::aws
