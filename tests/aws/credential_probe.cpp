// A test tool: resolves credentials with the default chain (or --profile) from this process's
// environment, calls STS GetCallerIdentity with them, and prints one JSON line (never the secret).
// The acceptance test runs it against a real `plinth serve` with each link configured.
#include <boost/json.hpp>
#include <iostream>
#include <string>

#include "plinth/aws/credentials.h"
#include "plinth/aws/sts_client.h"
#include "plinth/core/log.h"

int main(int argc, char** argv) {
  using namespace plinth;
  log::init("debug");
  aws::ChainOptions options;
  int fetches = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--profile") options.profile = argv[i + 1];
    if (flag == "--fetches") fetches = std::stoi(argv[i + 1]);
  }
  auto chain = aws::default_credential_chain(options);
  boost::json::object out;
  Result<aws::AwsCredentials> credentials = fail(ErrorCode::kInternal, "not fetched");
  for (int i = 0; i < fetches; ++i) credentials = chain->fetch();
  if (!credentials) {
    out["error"] = std::string(to_string(credentials.error().code));
    out["message"] = credentials.error().message;
    std::cout << boost::json::serialize(out) << std::endl;
    return 1;
  }
  out["source"] = credentials->source;
  out["accessKeyId"] = credentials->access_key_id;
  out["hasSessionToken"] = !credentials->session_token.empty();
  if (credentials->expiration) {
    out["expiration"] = std::chrono::duration_cast<std::chrono::seconds>(
                            credentials->expiration->time_since_epoch())
                            .count();
  }
  auto endpoint = aws::sts_endpoint(options.environment, "us-east-1");
  auto arn = aws::get_caller_identity_arn(endpoint, *credentials, *Clock::real());
  if (arn) {
    out["arn"] = *arn;
  } else {
    out["arnError"] = arn.error().message;
  }
  std::cout << boost::json::serialize(out) << std::endl;
  return 0;
}
