// plinth iam …: the IAM operations offline, directly on a data dir (no server needed).
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "commands.h"
#include "plinth/auth/iam.h"
#include "plinth/core/clock.h"
#include "plinth/store/store.h"

namespace plinth::cli {
namespace {

namespace json = boost::json;

struct IamOptions {
  std::string data_dir = "plinth-data";
  std::string account_id = "000000000000";
  std::string user_name, role_name, policy_name, policy_document, trust_policy, access_key_id;
  std::string description;
};

int report(const Error& e) {
  std::fprintf(stderr, "plinth iam: %s (%s)\n", e.message.c_str(),
               std::string(to_string(e.code)).c_str());
  return 1;
}

// AWS CLI convention: a policy argument of the form file://PATH is read from that file.
Result<std::string> document_argument(const std::string& value) {
  if (value.rfind("file://", 0) != 0) return value;
  std::ifstream in(value.substr(7));
  if (!in) return fail(ErrorCode::kIo, "cannot read " + value.substr(7));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

json::object user_json(const store::UserRecord& u) {
  return {
      {"UserName", u.name}, {"UserId", u.user_id}, {"Arn", u.arn}, {"CreateDate", u.created_at}};
}
json::object role_json(const store::RoleRecord& r) {
  return {{"RoleName", r.name},
          {"RoleId", r.role_id},
          {"Arn", r.arn},
          {"AssumeRolePolicyDocument", r.assume_role_policy},
          {"MaxSessionDuration", r.max_session_duration},
          {"CreateDate", r.created_at}};
}
json::object key_json(const store::AccessKeyRecord& k) {
  json::object o{{"UserName", k.user_name},
                 {"AccessKeyId", k.access_key_id},
                 {"Status", k.status},
                 {"CreateDate", k.created_at}};
  if (!k.secret_access_key.empty()) o["SecretAccessKey"] = k.secret_access_key;
  return o;
}

template <typename T, typename F>
int print(Result<T> r, F to_json) {
  if (!r) return report(r.error());
  std::cout << json::serialize(to_json(*r)) << "\n";
  return 0;
}

int print_status(Status s) {
  if (!s) return report(s.error());
  return 0;
}

int run(const std::string& op, IamOptions o) {
  auto store = store::open_default_store(o.data_dir, Random::secure());
  if (!store) return report(store.error());
  auth::IamService iam((*store)->iam(), o.account_id, Random::secure(), Clock::real());
  for (auto* doc : {&o.policy_document, &o.trust_policy}) {
    auto d = document_argument(*doc);
    if (!d) return report(d.error());
    *doc = *d;
  }
  auto users = [](const std::vector<store::UserRecord>& v) {
    json::array a;
    for (const auto& u : v) a.push_back(user_json(u));
    return json::object{{"Users", a}};
  };
  auto roles = [](const std::vector<store::RoleRecord>& v) {
    json::array a;
    for (const auto& r : v) a.push_back(role_json(r));
    return json::object{{"Roles", a}};
  };
  auto keys = [](const std::vector<store::AccessKeyRecord>& v) {
    json::array a;
    for (const auto& k : v) a.push_back(key_json(k));
    return json::object{{"AccessKeyMetadata", a}};
  };
  auto policy = [](const store::InlinePolicy& p) {
    return json::object{{"PolicyName", p.name}, {"PolicyDocument", p.document}};
  };
  if (op == "create-user")
    return print(iam.create_user(o.user_name), [](auto& u) {
      return json::object{{"User", user_json(u)}};
    });
  if (op == "get-user")
    return print(iam.get_user(o.user_name), [](auto& u) {
      return json::object{{"User", user_json(u)}};
    });
  if (op == "list-users") return print(iam.list_users(), users);
  if (op == "delete-user") return print_status(iam.delete_user(o.user_name));
  if (op == "create-access-key")
    return print(iam.create_access_key(o.user_name), [](auto& k) {
      return json::object{{"AccessKey", key_json(k)}};
    });
  if (op == "list-access-keys") return print(iam.list_access_keys(o.user_name), keys);
  if (op == "delete-access-key")
    return print_status(iam.delete_access_key(o.user_name, o.access_key_id));
  if (op == "create-role")
    return print(iam.create_role(o.role_name, o.trust_policy, o.description), [](auto& r) {
      return json::object{{"Role", role_json(r)}};
    });
  if (op == "get-role")
    return print(iam.get_role(o.role_name), [](auto& r) {
      return json::object{{"Role", role_json(r)}};
    });
  if (op == "list-roles") return print(iam.list_roles(), roles);
  if (op == "delete-role") return print_status(iam.delete_role(o.role_name));
  if (op == "put-role-policy")
    return print_status(iam.put_role_policy(o.role_name, o.policy_name, o.policy_document));
  if (op == "get-role-policy")
    return print(iam.get_role_policy(o.role_name, o.policy_name), policy);
  if (op == "delete-role-policy")
    return print_status(iam.delete_role_policy(o.role_name, o.policy_name));
  if (op == "put-user-policy")
    return print_status(iam.put_user_policy(o.user_name, o.policy_name, o.policy_document));
  if (op == "get-user-policy")
    return print(iam.get_user_policy(o.user_name, o.policy_name), policy);
  if (op == "delete-user-policy")
    return print_status(iam.delete_user_policy(o.user_name, o.policy_name));
  return report(Error(ErrorCode::kInvalidArgument, "unknown operation " + op));
}

}  // namespace

void add_iam_commands(CLI::App& app, Action* action) {
  auto* iam = app.add_subcommand("iam", "Manage users, access keys, roles and policies offline");
  iam->require_subcommand(1);
  struct Op {
    const char* name;
    const char* help;
    std::vector<const char*> required;
  };
  const std::vector<Op> ops = {
      {"create-user", "Create a user", {"--user-name"}},
      {"get-user", "Show a user", {"--user-name"}},
      {"list-users", "List users", {}},
      {"delete-user", "Delete a user (after its keys and policies)", {"--user-name"}},
      {"create-access-key", "Create an access key for a user", {"--user-name"}},
      {"list-access-keys", "List a user's access keys", {"--user-name"}},
      {"delete-access-key", "Delete an access key", {"--user-name", "--access-key-id"}},
      {"create-role", "Create a role", {"--role-name", "--assume-role-policy-document"}},
      {"get-role", "Show a role", {"--role-name"}},
      {"list-roles", "List roles", {}},
      {"delete-role", "Delete a role (after its policies)", {"--role-name"}},
      {"put-role-policy",
       "Attach an inline policy to a role",
       {"--role-name", "--policy-name", "--policy-document"}},
      {"get-role-policy", "Show a role's inline policy", {"--role-name", "--policy-name"}},
      {"delete-role-policy", "Remove a role's inline policy", {"--role-name", "--policy-name"}},
      {"put-user-policy",
       "Attach an inline policy to a user",
       {"--user-name", "--policy-name", "--policy-document"}},
      {"get-user-policy", "Show a user's inline policy", {"--user-name", "--policy-name"}},
      {"delete-user-policy", "Remove a user's inline policy", {"--user-name", "--policy-name"}},
  };
  for (const auto& op : ops) {
    auto o = std::make_shared<IamOptions>();
    auto* sub = iam->add_subcommand(op.name, op.help);
    sub->add_option("--data-dir", o->data_dir, "Plinth data directory")->capture_default_str();
    sub->add_option("--account-id", o->account_id, "Account id")->capture_default_str();
    std::map<std::string, std::string*> fields = {
        {"--user-name", &o->user_name},
        {"--role-name", &o->role_name},
        {"--policy-name", &o->policy_name},
        {"--policy-document", &o->policy_document},
        {"--assume-role-policy-document", &o->trust_policy},
        {"--access-key-id", &o->access_key_id},
        {"--description", &o->description}};
    for (auto& [flag, field] : fields) {
      auto* opt = sub->add_option(flag, *field);
      for (const char* r : op.required) {
        if (flag == r) opt->required();
      }
    }
    std::string name = op.name;
    sub->callback([o, name, action] { *action = [o, name] { return run(name, *o); }; });
  }
}

}  // namespace plinth::cli
