// IAM policy documents: validation and evaluation (statements, wildcards, conditions).
#include "plinth/auth/policy.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <ctime>

namespace plinth::auth {
namespace json = boost::json;
namespace {

constexpr std::string_view kOperators[] = {"StringEquals",  "StringNotEquals", "StringLike",
                                           "StringNotLike", "DateLessThan",    "DateGreaterThan",
                                           "Bool"};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::optional<json::value> parse_json(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

// A string or an array of strings (numbers and booleans as their text, as IAM accepts them).
std::optional<std::vector<std::string>> string_list(const json::value& v) {
  auto one = [](const json::value& item) -> std::optional<std::string> {
    if (item.is_string()) return std::string(item.as_string());
    if (item.is_bool()) return item.as_bool() ? "true" : "false";
    if (item.is_int64()) return std::to_string(item.as_int64());
    if (item.is_uint64()) return std::to_string(item.as_uint64());
    return std::nullopt;
  };
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& item : v.as_array()) {
      auto s = one(item);
      if (!s) return std::nullopt;
      out.push_back(*s);
    }
    return out;
  }
  auto s = one(v);
  if (!s) return std::nullopt;
  out.push_back(*s);
  return out;
}

std::vector<const json::object*> statements(const json::value& doc) {
  std::vector<const json::object*> out;
  const json::object* root = doc.if_object();
  if (root == nullptr) return out;
  const json::value* st = root->if_contains("Statement");
  if (st == nullptr) return out;
  if (st->is_object()) out.push_back(&st->as_object());
  if (st->is_array()) {
    for (const auto& item : st->as_array()) {
      if (item.is_object()) out.push_back(&item.as_object());
    }
  }
  return out;
}

// ISO 8601 (2026-01-01, 2026-01-01T10:00:00Z, with fractions) or epoch seconds.
// system_clock counts nanoseconds in 64 bits: dates beyond about 2200 do not fit (and could not
// be compared), so a condition naming one matches nothing.
constexpr int64_t kMaxPolicySeconds = 7'000'000'000;

std::optional<std::chrono::system_clock::time_point> parse_policy_date(std::string_view s) {
  if (!s.empty() && std::all_of(s.begin(), s.end(), ::isdigit) && s.size() <= 12) {
    int64_t seconds = std::stoll(std::string(s));
    if (seconds > kMaxPolicySeconds) return std::nullopt;
    return std::chrono::system_clock::time_point(std::chrono::seconds(seconds));
  }
  std::tm tm{};
  std::string text(s);
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (end == nullptr) {
    tm = {};
    end = strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (end == nullptr || *end != '\0') return std::nullopt;
  }
  if (*end == '.') {
    ++end;
    while (std::isdigit(static_cast<unsigned char>(*end))) ++end;
  }
  if (*end != '\0' && std::string_view(end) != "Z") return std::nullopt;
  std::time_t seconds = timegm(&tm);
  if (seconds > kMaxPolicySeconds || seconds < -kMaxPolicySeconds) return std::nullopt;
  return std::chrono::system_clock::from_time_t(seconds);
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

std::optional<std::string> context_value(std::string_view key, const Principal& p,
                                         const RequestContext& ctx) {
  if (iequals(key, "aws:RequestedRegion")) return ctx.region;
  if (iequals(key, "aws:CurrentTime")) return iso8601(ctx.now);
  if (iequals(key, "aws:SecureTransport")) return ctx.secure_transport ? "true" : "false";
  if (iequals(key, "aws:PrincipalArn")) {
    // For role sessions AWS reports the role's ARN, not the session's.
    return p.kind == Principal::Kind::kAssumedRole ? p.role_arn : p.arn;
  }
  if (iequals(key, "aws:SourceIp") && !ctx.source_ip.empty()) return ctx.source_ip;
  for (const auto& [name, value] : ctx.keys) {
    if (iequals(key, name)) return value;
  }
  return std::nullopt;
}

bool operator_matches(std::string_view op, const std::string& actual,
                      const std::vector<std::string>& values) {
  auto any = [&](auto pred) { return std::any_of(values.begin(), values.end(), pred); };
  if (op == "StringEquals") return any([&](const std::string& v) { return v == actual; });
  if (op == "StringNotEquals") return !any([&](const std::string& v) { return v == actual; });
  if (op == "StringLike")
    return any([&](const std::string& v) { return wildcard_match(v, actual); });
  if (op == "StringNotLike") {
    return !any([&](const std::string& v) { return wildcard_match(v, actual); });
  }
  if (op == "Bool") return any([&](const std::string& v) { return iequals(v, actual); });
  if (op == "DateLessThan" || op == "DateGreaterThan") {
    auto now = parse_policy_date(actual);
    if (!now) return false;
    return any([&](const std::string& v) {
      auto bound = parse_policy_date(v);
      if (!bound) return false;
      return op == "DateLessThan" ? *now < *bound : *now > *bound;
    });
  }
  return false;
}

bool conditions_match(const json::object& stmt, const Principal& p, const RequestContext& ctx) {
  const json::value* cond = stmt.if_contains("Condition");
  if (cond == nullptr) return true;
  if (!cond->is_object()) return false;
  for (const auto& [raw_op, block] : cond->as_object()) {
    std::string_view op = raw_op;
    bool if_exists = op.ends_with("IfExists");
    if (if_exists) op.remove_suffix(8);
    if (!block.is_object()) return false;
    for (const auto& [key, raw_values] : block.as_object()) {
      auto values = string_list(raw_values);
      if (!values) return false;
      auto actual = context_value(key, p, ctx);
      if (!actual) {
        // A missing key satisfies only the negated operators (and any ...IfExists).
        if (if_exists || op == "StringNotEquals" || op == "StringNotLike") continue;
        return false;
      }
      if (!operator_matches(op, *actual, *values)) return false;
    }
  }
  return true;
}

// Matches an Action/NotAction or Resource/NotResource pair; absent both: matches.
bool element_matches(const json::object& stmt, const char* positive, const char* negative,
                     std::string_view value, bool case_insensitive) {
  auto test = [&](const json::value& v) {
    auto patterns = string_list(v);
    if (!patterns) return false;
    return std::any_of(patterns->begin(), patterns->end(), [&](const std::string& pattern) {
      return wildcard_match(pattern, value, case_insensitive);
    });
  };
  if (const json::value* v = stmt.if_contains(positive)) return test(*v);
  if (const json::value* v = stmt.if_contains(negative)) return !test(*v);
  return true;
}

bool principal_matches(const json::object& stmt, const Principal& caller) {
  const json::value* principal = stmt.if_contains("Principal");
  if (principal == nullptr) return false;
  if (principal->is_string()) return principal->as_string() == "*";
  if (!principal->is_object()) return false;
  const json::value* aws = principal->as_object().if_contains("AWS");
  if (aws == nullptr) return false;
  auto names = string_list(*aws);
  if (!names) return false;
  for (const std::string& name : *names) {
    if (name == "*" || name == caller.arn || name == caller.account_id ||
        name == "arn:aws:iam::" + caller.account_id + ":root" ||
        (!caller.role_arn.empty() && name == caller.role_arn)) {
      return true;
    }
  }
  return false;
}

Status check_string_list(const json::object& stmt, const char* a, const char* b, bool required) {
  const json::value* va = stmt.if_contains(a);
  const json::value* vb = stmt.if_contains(b);
  if (va && vb)
    return fail(ErrorCode::kInvalidArgument, std::string(a) + " and " + b + " both set");
  if (!va && !vb) {
    if (required) return fail(ErrorCode::kInvalidArgument, std::string("missing ") + a);
    return ok();
  }
  auto list = string_list(va ? *va : *vb);
  if (!list || list->empty()) {
    return fail(ErrorCode::kInvalidArgument, std::string(va ? a : b) + " must be strings");
  }
  return ok();
}

}  // namespace

bool wildcard_match(std::string_view pattern, std::string_view text, bool case_insensitive) {
  auto eq = [&](char a, char b) {
    return case_insensitive ? std::tolower(static_cast<unsigned char>(a)) ==
                                  std::tolower(static_cast<unsigned char>(b))
                            : a == b;
  };
  size_t p = 0, t = 0, star = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

Status validate_policy_document(std::string_view text) {
  auto doc = parse_json(text);
  if (!doc) return fail(ErrorCode::kInvalidArgument, "Syntax errors in policy.");
  if (!doc->is_object()) return fail(ErrorCode::kInvalidArgument, "Policy must be a JSON object.");
  const json::object& root = doc->as_object();
  if (const json::value* version = root.if_contains("Version")) {
    if (!version->is_string() ||
        (version->as_string() != "2012-10-17" && version->as_string() != "2008-10-17")) {
      return fail(ErrorCode::kInvalidArgument, "The policy must contain a valid version string");
    }
  }
  const json::value* st = root.if_contains("Statement");
  // An empty Statement array is accepted (it grants nothing); the SDKs' own samples send one.
  if (st == nullptr || !(st->is_object() || st->is_array())) {
    return fail(ErrorCode::kInvalidArgument, "Missing required field Statement");
  }
  if (st->is_array()) {
    for (const auto& item : st->as_array()) {
      if (!item.is_object()) return fail(ErrorCode::kInvalidArgument, "Statement must be objects");
    }
  }
  for (const json::object* stmt : statements(*doc)) {
    const json::value* effect = stmt->if_contains("Effect");
    if (effect == nullptr || !effect->is_string() ||
        (effect->as_string() != "Allow" && effect->as_string() != "Deny")) {
      return fail(ErrorCode::kInvalidArgument, "Effect must be Allow or Deny");
    }
    if (auto s = check_string_list(*stmt, "Action", "NotAction", true); !s) return s;
    if (auto s = check_string_list(*stmt, "Resource", "NotResource", false); !s) return s;
    if (const json::value* cond = stmt->if_contains("Condition")) {
      if (!cond->is_object())
        return fail(ErrorCode::kInvalidArgument, "Condition must be an object");
      for (const auto& [raw_op, block] : cond->as_object()) {
        std::string_view op = raw_op;
        if (op.ends_with("IfExists")) op.remove_suffix(8);
        if (std::find(std::begin(kOperators), std::end(kOperators), op) == std::end(kOperators)) {
          return fail(ErrorCode::kInvalidArgument,
                      "Unsupported condition operator " + std::string(raw_op));
        }
        if (!block.is_object()) {
          return fail(ErrorCode::kInvalidArgument, "Condition blocks must be objects");
        }
        for (const auto& [key, values] : block.as_object()) {
          if (!string_list(values)) {
            return fail(ErrorCode::kInvalidArgument, "Condition values must be strings");
          }
        }
      }
    }
  }
  return ok();
}

Decision evaluate_policy(std::string_view text, const Principal& p, std::string_view action,
                         std::string_view resource, const RequestContext& ctx) {
  auto doc = parse_json(text);
  if (!doc) return Decision::kImplicitDeny;
  bool allowed = false;
  for (const json::object* stmt : statements(*doc)) {
    const json::value* effect = stmt->if_contains("Effect");
    if (effect == nullptr || !effect->is_string()) continue;
    if (!stmt->contains("Action") && !stmt->contains("NotAction")) continue;
    if (!element_matches(*stmt, "Action", "NotAction", action, true)) continue;
    if (!element_matches(*stmt, "Resource", "NotResource", resource, false)) continue;
    if (!conditions_match(*stmt, p, ctx)) continue;
    if (effect->as_string() == "Deny") return Decision::kExplicitDeny;
    if (effect->as_string() == "Allow") allowed = true;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

Decision evaluate_policies(const std::vector<std::string>& documents, const Principal& p,
                           std::string_view action, std::string_view resource,
                           const RequestContext& ctx) {
  bool allowed = false;
  for (const std::string& document : documents) {
    Decision d = evaluate_policy(document, p, action, resource, ctx);
    if (d == Decision::kExplicitDeny) return d;
    allowed = allowed || d == Decision::kAllow;
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

Decision authorize(const Principal& p, std::string_view action, std::string_view resource,
                   const RequestContext& ctx) {
  if (p.is_root()) return Decision::kAllow;
  Decision identity = evaluate_policies(p.identity_policies, p, action, resource, ctx);
  if (identity == Decision::kExplicitDeny) return identity;
  if (p.session_policy) {
    Decision session = evaluate_policy(*p.session_policy, p, action, resource, ctx);
    if (session == Decision::kExplicitDeny) return session;
    if (session != Decision::kAllow) return Decision::kImplicitDeny;
  }
  return identity;
}

bool trust_policy_allows(std::string_view trust_policy_json, const Principal& caller,
                         const RequestContext& ctx) {
  auto doc = parse_json(trust_policy_json);
  if (!doc) return false;
  bool allowed = false;
  for (const json::object* stmt : statements(*doc)) {
    const json::value* effect = stmt->if_contains("Effect");
    if (effect == nullptr || !effect->is_string()) continue;
    if (!stmt->contains("Action") && !stmt->contains("NotAction")) continue;
    if (!element_matches(*stmt, "Action", "NotAction", "sts:AssumeRole", true)) continue;
    if (!principal_matches(*stmt, caller)) continue;
    if (!conditions_match(*stmt, caller, ctx)) continue;
    if (effect->as_string() == "Deny") return false;
    if (effect->as_string() == "Allow") allowed = true;
  }
  return allowed;
}

bool web_identity_trust_allows(std::string_view trust_policy_json, std::string_view provider_arn,
                               const RequestContext& ctx) {
  auto doc = parse_json(trust_policy_json);
  if (!doc) return false;
  auto federated_matches = [&](const json::object& stmt) {
    const json::value* principal = stmt.if_contains("Principal");
    if (principal == nullptr) return false;
    if (principal->is_string()) return principal->as_string() == "*";
    if (!principal->is_object()) return false;
    const json::value* federated = principal->as_object().if_contains("Federated");
    auto names = federated ? string_list(*federated) : std::nullopt;
    return names && std::find(names->begin(), names->end(), provider_arn) != names->end();
  };
  const Principal nobody;  // conditions on web identity name the token's claims, not a caller
  bool allowed = false;
  for (const json::object* stmt : statements(*doc)) {
    const json::value* effect = stmt->if_contains("Effect");
    if (effect == nullptr || !effect->is_string()) continue;
    if (!stmt->contains("Action") && !stmt->contains("NotAction")) continue;
    if (!element_matches(*stmt, "Action", "NotAction", "sts:AssumeRoleWithWebIdentity", true)) {
      continue;
    }
    if (!federated_matches(*stmt)) continue;
    if (!conditions_match(*stmt, nobody, ctx)) continue;
    if (effect->as_string() == "Deny") return false;
    if (effect->as_string() == "Allow") allowed = true;
  }
  return allowed;
}

}  // namespace plinth::auth
