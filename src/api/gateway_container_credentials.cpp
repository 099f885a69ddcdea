// GET /v1/container-credentials: the ECS container-credentials protocol for the task role.
#include <boost/json.hpp>

#include "gateway_internal.h"
#include "plinth/core/encoding.h"
#include "query/query_xml.h"

namespace plinth::api {
namespace {

// The shape the SDKs' HTTP credential provider reads on a 4xx: {"Code","Message"}.
std::string error_body(std::string_view code, std::string_view message) {
  boost::json::object o;
  o["Code"] = code;
  o["Message"] = message;
  return boost::json::serialize(o);
}

}  // namespace

void Gateway::handle_container_credentials(Call& call) {
  if (options_.task_role.empty() || options_.container_credentials_token.empty() ||
      services_.sts == nullptr) {
    call.respond(
        404, "application/json",
        error_body("NotConfigured", "No task role is configured (plinth serve --task-role NAME)."));
    return;
  }
  if (call.request.method != "GET") {
    call.respond(405, "application/json", error_body("MethodNotAllowed", "Use GET."));
    return;
  }
  // The token never reaches a log; it is compared in constant time.
  const std::string* token = call.request.header("authorization");
  if (token == nullptr || !constant_time_equal(*token, options_.container_credentials_token)) {
    call.respond(401, "application/json",
                 error_body("AccessDenied",
                            "The container authorization token is missing or "
                            "does not match."));
    return;
  }
  auto issued = services_.sts->task_role_credentials(options_.task_role);
  if (!issued) {
    call.respond(issued.error().code == ErrorCode::kNotFound ? 404 : 500, "application/json",
                 error_body("NoSuchEntity", issued.error().message));
    return;
  }
  boost::json::object o;
  o["AccessKeyId"] = issued->credentials.access_key_id;
  o["SecretAccessKey"] = issued->credentials.secret_access_key;
  o["Token"] = issued->credentials.session_token;
  o["Expiration"] = query::iso8601(issued->credentials.expiration);
  o["RoleArn"] = "arn:aws:iam::" + options_.account_id + ":role/" + options_.task_role;
  call.respond(200, "application/json", boost::json::serialize(o));
}

}  // namespace plinth::api
