// IAM JSON policy evaluation: explicit deny wins, then allow, else implicit deny.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plinth/auth/principal.h"
#include "plinth/core/result.h"

namespace plinth::auth {

enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

// Checks a policy document's shape (Version optional, Statement object or array, Effect,
// Action/NotAction, Resource/NotResource, known condition operators). kInvalidArgument with a
// reason (the api maps it to MalformedPolicyDocument).
Status validate_policy_document(std::string_view json);

// One document: Allow/Deny, Action/NotAction, Resource/NotResource with wildcards (* and ?,
// actions case-insensitive), conditions StringEquals/StringNotEquals/StringLike/StringNotLike/
// DateLessThan/DateGreaterThan/Bool on aws:RequestedRegion, aws:CurrentTime,
// aws:SecureTransport, aws:PrincipalArn. An unparsable document allows nothing.
Decision evaluate_policy(std::string_view json, const Principal& p, std::string_view action,
                         std::string_view resource, const RequestContext& ctx);
// Several documents combined: any explicit deny wins, else any allow.
Decision evaluate_policies(const std::vector<std::string>& documents, const Principal& p,
                           std::string_view action, std::string_view resource,
                           const RequestContext& ctx);

// The principal's identity policies, narrowed by its session policy when present (both must
// allow). Root (and GetSessionToken sessions of root) is always allowed.
Decision authorize(const Principal& p, std::string_view action, std::string_view resource,
                   const RequestContext& ctx);

// Trust policy check for AssumeRole: an Allow statement for sts:AssumeRole whose Principal
// {"AWS": …} names the caller's ARN, its account id, arn:aws:iam::ACCOUNT:root or "*", and no
// matching Deny.
bool trust_policy_allows(std::string_view trust_policy_json, const Principal& caller,
                         const RequestContext& ctx);

// Trust policy check for AssumeRoleWithWebIdentity: an Allow statement for
// sts:AssumeRoleWithWebIdentity whose Principal {"Federated": …} names provider_arn
// (arn:aws:iam::ACCOUNT:oidc-provider/ISSUER-HOST-AND-PATH), its conditions met by ctx.keys
// ("ISSUER:sub", "ISSUER:aud", …), and no matching Deny.
bool web_identity_trust_allows(std::string_view trust_policy_json, std::string_view provider_arn,
                               const RequestContext& ctx);

// Wildcard match: '*' any run, '?' one character.
bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive = false);

}  // namespace plinth::auth
