// Escalation reasons, the caller's output checks (parsing and evaluation) against an answer.
#include <boost/json.hpp>

#include "plinth/router/router.h"

namespace plinth::router {
namespace {

namespace json = boost::json;

constexpr size_t kMaxRequiredFields = 64;

Error invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "plinth checks: " + std::move(message));
}

Result<providers::StopReason> parse_stop_reason(std::string_view name) {
  using providers::StopReason;
  if (name == "end_turn") return StopReason::kEndTurn;
  if (name == "max_tokens") return StopReason::kMaxTokens;
  if (name == "stop_sequence") return StopReason::kStopSequence;
  if (name == "tool_use") return StopReason::kToolUse;
  if (name == "content_filtered") return StopReason::kContentFiltered;
  return std::unexpected(invalid("unknown stop_reason '" + std::string(name) + "'"));
}

// The answer's text, or a tool call's input when the model called a tool.
std::string answer_text(const providers::InferenceResponse& response) {
  std::string text;
  for (const providers::ContentBlock& block : response.content) {
    if (block.kind == providers::ContentBlock::Kind::kToolUse) return block.tool_input_json;
    if (block.kind == providers::ContentBlock::Kind::kText) text += block.text;
  }
  return text;
}

int64_t code_points(std::string_view text) {
  int64_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

bool has_fields(std::string_view text, const std::vector<std::string>& fields) {
  if (fields.empty()) return true;
  boost::system::error_code ec;
  json::value value = json::parse(text, ec);
  if (ec || !value.is_object()) return false;
  for (const std::string& field : fields) {
    if (!value.as_object().contains(field)) return false;
  }
  return true;
}

bool passes(const providers::InferenceResponse& response, const OutputChecks& checks) {
  if (checks.stop_reason && response.stop_reason != *checks.stop_reason) return false;
  std::string text = answer_text(response);
  if (checks.min_length && code_points(text) < *checks.min_length) return false;
  return has_fields(text, checks.required_fields);
}

}  // namespace

std::string_view to_string(EscalationReason reason) {
  switch (reason) {
    case EscalationReason::kInvalidOutput:
      return "invalid_output";
    case EscalationReason::kMaxTokens:
      return "max_tokens";
    case EscalationReason::kChecks:
      return "checks";
  }
  return "checks";
}

Result<EscalationReason> parse_escalation_reason(std::string_view text) {
  for (EscalationReason reason : {EscalationReason::kInvalidOutput, EscalationReason::kMaxTokens,
                                  EscalationReason::kChecks}) {
    if (text == to_string(reason)) return reason;
  }
  return fail(ErrorCode::kInvalidArgument, "unknown escalation reason '" + std::string(text) +
                                               "' (expected invalid_output, max_tokens or checks)");
}

Result<OutputChecks> parse_output_checks(std::string_view json_text) {
  boost::system::error_code ec;
  json::value value = json::parse(json_text, ec);
  if (ec || !value.is_object()) return std::unexpected(invalid("must be a JSON object"));
  OutputChecks checks;
  for (const auto& [key, field] : value.as_object()) {
    if (key == "required_fields") {
      if (!field.is_array() || field.as_array().size() > kMaxRequiredFields) {
        return std::unexpected(invalid("required_fields must be an array of at most 64 strings"));
      }
      for (const json::value& name : field.as_array()) {
        if (!name.is_string()) {
          return std::unexpected(invalid("required_fields must be an array of strings"));
        }
        checks.required_fields.emplace_back(name.as_string());
      }
    } else if (key == "stop_reason") {
      if (!field.is_string()) return std::unexpected(invalid("stop_reason must be a string"));
      auto reason = parse_stop_reason(field.as_string());
      if (!reason) return std::unexpected(reason.error());
      checks.stop_reason = *reason;
    } else if (key == "min_length") {
      if (!field.is_int64() || field.as_int64() < 0) {
        return std::unexpected(invalid("min_length must be a non-negative integer"));
      }
      checks.min_length = field.as_int64();
    } else {
      return std::unexpected(invalid("unknown check '" + std::string(key) + "'"));
    }
  }
  return checks;
}

std::vector<EscalationReason> failed_reasons(const providers::InferenceRequest& request,
                                             const providers::InferenceResponse& response,
                                             const OutputChecks& checks) {
  std::vector<EscalationReason> reasons;
  bool constrained = request.output_schema_json || request.forced_tool || !request.tools.empty();
  if (constrained && response.output_valid == false) {
    reasons.push_back(EscalationReason::kInvalidOutput);
  }
  if (response.stop_reason == providers::StopReason::kMaxTokens &&
      checks.stop_reason != providers::StopReason::kMaxTokens) {
    reasons.push_back(EscalationReason::kMaxTokens);
  }
  if (!passes(response, checks)) reasons.push_back(EscalationReason::kChecks);
  return reasons;
}

}  // namespace plinth::router
