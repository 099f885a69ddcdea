// Who is calling (the authenticated principal) and the request facts policies may test.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace plinth::auth {

struct Principal {
  // kFederatedSession: credentials from GetSessionToken (acts as the user or root that asked).
  enum class Kind { kRoot, kUser, kAssumedRole, kFederatedSession };
  Kind kind = Kind::kRoot;
  // arn:aws:iam::ACCOUNT:root | arn:aws:iam::ACCOUNT:user/NAME |
  // arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION (GetSessionToken keeps the caller's ARN)
  std::string arn;
  std::string account_id;
  std::string user_id;  // AIDA… (user), ACCOUNT (root), AROA…:SESSION (assumed role)
  std::string access_key_id;
  std::string name;  // user name or role name
  std::string session_name;
  std::string role_arn;  // arn:aws:iam::ACCOUNT:role/NAME for assumed roles
  // For kFederatedSession: the kind of the identity that called GetSessionToken (kRoot or kUser).
  Kind base_kind = Kind::kRoot;
  std::vector<std::string> identity_policies;  // JSON documents attached to the user or role
  std::optional<std::string> session_policy;   // AssumeRole Policy parameter: narrows permissions
  std::chrono::system_clock::time_point expires_at{};  // sessions only

  bool is_root() const {
    return kind == Kind::kRoot || (kind == Kind::kFederatedSession && base_kind == Kind::kRoot);
  }
};

struct RequestContext {
  std::string region;
  bool secure_transport = false;
  std::chrono::system_clock::time_point now;
  std::string source_ip;
  // Further condition keys of this request, e.g. a web identity token's "ISSUER:sub" and
  // "ISSUER:aud" (names compared case-insensitively, as IAM does).
  std::vector<std::pair<std::string, std::string>> keys = {};
};

}  // namespace plinth::auth
