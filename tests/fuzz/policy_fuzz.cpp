// Fuzzes IAM policy documents: validation, evaluation for a few requests (identity and session
// policies together), trust policies, and the wildcard matcher on split input.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/auth/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace plinth::auth;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  (void)validate_policy_document(input);

  Principal principal;
  principal.kind = Principal::Kind::kAssumedRole;
  principal.arn = "arn:aws:sts::000000000000:assumed-role/app/session";
  principal.account_id = "000000000000";
  principal.identity_policies = {std::string(input)};
  RequestContext context{"us-east-1", true,
                         std::chrono::system_clock::time_point(std::chrono::seconds(1'764'000'000)),
                         "10.0.0.1"};
  struct Call {
    std::string_view action;
    std::string_view resource;
  };
  for (Call call : {Call{"bedrock:InvokeModel",
                         "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku"},
                    Call{"plinth:GetDocument", "arn:aws:plinth:us-east-1:000000000000:document/d"},
                    Call{"sts:AssumeRole", "*"}}) {
    Decision decision = evaluate_policy(input, principal, call.action, call.resource, context);
    // The same document as the principal's only policy decides the same way.
    if (authorize(principal, call.action, call.resource, context) != decision) __builtin_trap();
  }
  principal.session_policy = std::string(input);
  (void)authorize(principal, "bedrock:InvokeModelWithResponseStream", "*", context);
  (void)trust_policy_allows(input, principal, context);

  size_t split = input.find('\n');
  if (split != std::string_view::npos) {
    (void)wildcard_match(input.substr(0, split), input.substr(split + 1));
    (void)wildcard_match(input.substr(0, split), input.substr(split + 1), true);
  }
  return 0;
}
