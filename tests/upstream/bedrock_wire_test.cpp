// The bedrock kind's wire format: Converse bodies out, Converse answers and ConverseStream events
// in (text, tool-use deltas, stop reasons, usage with cache tokens), errors, signing.
#include "bedrock_wire.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/auth/sigv4.h"
#include "plinth/core/encoding.h"

namespace plinth::upstream::bedrock {
namespace {

namespace json = boost::json;
using providers::ContentBlock;
using providers::StreamEvent;

ContentBlock text(std::string value) {
  ContentBlock block;
  block.text = std::move(value);
  return block;
}

providers::InferenceRequest tool_turn_request() {
  providers::InferenceRequest r;
  r.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
  r.system = {"be brief"};
  r.max_tokens = 64;
  r.temperature = 0.5f;
  r.top_k = 40;
  r.stop_sequences = {"END"};
  r.messages.push_back({providers::Role::kUser, {text("weather?")}});
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "t1";
  use.tool_name = "get_weather";
  use.tool_input_json = R"({"city":"Oslo"})";
  r.messages.push_back({providers::Role::kAssistant, {use}});
  ContentBlock result = text("rain");
  result.kind = ContentBlock::Kind::kToolResult;
  result.tool_use_id = "t1";
  r.messages.push_back({providers::Role::kUser, {result}});
  providers::ToolSpec tool;
  tool.name = "get_weather";
  tool.description = "Weather by city";
  tool.input_schema_json = R"({"type":"object"})";
  r.tools.push_back(tool);
  return r;
}

TEST(BedrockWire, ConverseBodyCarriesSystemToolsTurnsAndInferenceConfig) {
  auto body = converse_request_body(tool_turn_request());
  ASSERT_TRUE(body.has_value()) << body.error().message;
  json::object o = json::parse(*body).as_object();
  EXPECT_EQ(o.at("system").at(0).at("text"), "be brief");
  EXPECT_EQ(o.at("inferenceConfig").at("maxTokens"), 64);
  EXPECT_EQ(o.at("inferenceConfig").at("stopSequences").at(0), "END");
  EXPECT_EQ(o.at("additionalModelRequestFields").at("top_k"), 40);
  const auto& messages = o.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[1].at("role"), "assistant");
  EXPECT_EQ(messages[1].at("content").at(0).at("toolUse").at("input").at("city"), "Oslo");
  EXPECT_EQ(messages[2].at("content").at(0).at("toolResult").at("toolUseId"), "t1");
  EXPECT_EQ(messages[2].at("content").at(0).at("toolResult").at("content").at(0).at("text"),
            "rain");
  EXPECT_EQ(o.at("toolConfig").at("tools").at(0).at("toolSpec").at("name"), "get_weather");
  EXPECT_FALSE(o.at("toolConfig").as_object().contains("toolChoice"));
}

TEST(BedrockWire, CachePointsGoBackExactlyWhereTheCallerHadThem) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest r = tool_turn_request();
  r.system = {"a", "b"};
  r.messages[0].content.push_back(text("more"));
  r.cache_points = {{Section::kSystem, 0, 1},
                    {Section::kTools, 0, 1},
                    {Section::kMessages, 0, 1},
                    {Section::kMessages, 2, 1}};
  auto body = converse_request_body(r);
  ASSERT_TRUE(body.has_value()) << body.error().message;
  json::object o = json::parse(*body).as_object();
  const json::value point = json::parse(R"({"cachePoint":{"type":"default"}})");
  EXPECT_EQ(o.at("system"), json::parse(R"([{"text":"a"},{"cachePoint":{"type":"default"}},)"
                                        R"({"text":"b"}])"));
  EXPECT_EQ(o.at("messages").at(0).at("content"),
            json::parse(R"([{"text":"weather?"},{"cachePoint":{"type":"default"}},)"
                        R"({"text":"more"}])"));
  EXPECT_EQ(o.at("messages").at(1).at("content").as_array().size(), 1u);
  const json::array& last = o.at("messages").at(2).at("content").as_array();
  ASSERT_EQ(last.size(), 2u);
  EXPECT_TRUE(last[0].as_object().contains("toolResult"));
  EXPECT_EQ(last[1], point);
  const json::array& tools = o.at("toolConfig").at("tools").as_array();
  ASSERT_EQ(tools.size(), 2u);
  EXPECT_EQ(tools[0].at("toolSpec").at("name"), "get_weather");
  EXPECT_EQ(tools[1], point);
}

TEST(BedrockWire, ACachePointBetweenToolsStaysBetweenThem) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest r = tool_turn_request();
  r.tools.push_back({"get_time", "", R"({"type":"object"})"});
  r.tools.push_back({"get_date", "", R"({"type":"object"})"});
  r.cache_points = {{Section::kTools, 0, 1}};
  auto body = converse_request_body(r);
  ASSERT_TRUE(body.has_value()) << body.error().message;
  const json::value parsed = json::parse(*body);
  const json::array& tools = parsed.at("toolConfig").at("tools").as_array();
  ASSERT_EQ(tools.size(), 4u);
  EXPECT_EQ(tools[0].at("toolSpec").at("name"), "get_weather");
  EXPECT_EQ(tools[1], json::parse(R"({"cachePoint":{"type":"default"}})"));
  EXPECT_EQ(tools[2].at("toolSpec").at("name"), "get_time");
  EXPECT_EQ(tools[3].at("toolSpec").at("name"), "get_date");
}

TEST(BedrockWire, CachePointsAtTheStartOfASectionStayFirst) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest r;
  r.system = {"s"};
  r.messages.push_back({providers::Role::kUser, {text("x")}});
  r.cache_points = {{Section::kSystem, 0, 0}, {Section::kMessages, 0, 0}};
  json::object o = json::parse(*converse_request_body(r)).as_object();
  EXPECT_EQ(o.at("system"), json::parse(R"([{"cachePoint":{"type":"default"}},{"text":"s"}])"));
  EXPECT_EQ(o.at("messages").at(0).at("content"),
            json::parse(R"([{"cachePoint":{"type":"default"}},{"text":"x"}])"));
  EXPECT_FALSE(o.contains("toolConfig"));
  r.cache_points.clear();
  o = json::parse(*converse_request_body(r)).as_object();
  EXPECT_EQ(o.at("system"), json::parse(R"([{"text":"s"}])"));
  EXPECT_EQ(o.at("messages").at(0).at("content"), json::parse(R"([{"text":"x"}])"));
}

TEST(BedrockWire, StructuredOutputIsAForcedToolWhoseInputBecomesTheText) {
  providers::InferenceRequest r;
  r.messages.push_back({providers::Role::kUser, {text("x")}});
  r.output_schema_json = R"({"type":"object","properties":{"a":{"type":"integer"}}})";
  json::object o = json::parse(*converse_request_body(r)).as_object();
  EXPECT_EQ(o.at("toolConfig").at("toolChoice").at("tool").at("name").as_string(),
            std::string(kStructuredOutputTool));
  EXPECT_EQ(
      o.at("toolConfig").at("tools").at(0).at("toolSpec").at("inputSchema").at("json").at("type"),
      "object");
  auto answer = parse_converse_response(
      R"({"output":{"message":{"role":"assistant","content":[{"toolUse":{"toolUseId":"x",)"
      R"("name":"plinth_structured_output","input":{"a":1}}}]}},"stopReason":"tool_use",)"
      R"("usage":{"inputTokens":10,"outputTokens":3,"totalTokens":13}})",
      true);
  ASSERT_TRUE(answer.has_value());
  ASSERT_EQ(answer->content.size(), 1u);
  EXPECT_EQ(answer->content[0].kind, ContentBlock::Kind::kText);
  EXPECT_EQ(answer->content[0].text, R"({"a":1})");
  EXPECT_EQ(answer->stop_reason, providers::StopReason::kEndTurn);
}

TEST(BedrockWire, ConverseAnswerUsageCountsCacheTokensAsInput) {
  auto answer = parse_converse_response(
      R"({"output":{"message":{"role":"assistant","content":[{"text":"hi"},{"toolUse":)"
      R"({"toolUseId":"t","name":"f","input":{"k":[1]}}}]}},"stopReason":"tool_use",)"
      R"("usage":{"inputTokens":5,"outputTokens":2,"cacheReadInputTokens":100,)"
      R"("cacheWriteInputTokens":7},"metrics":{"latencyMs":42}})",
      false);
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  EXPECT_EQ(answer->content[0].text, "hi");
  EXPECT_EQ(answer->content[1].tool_input_json, R"({"k":[1]})");
  EXPECT_EQ(answer->stop_reason, providers::StopReason::kToolUse);
  EXPECT_EQ(answer->usage.input_tokens, 112);
  EXPECT_EQ(answer->usage.cache_read_input_tokens, 100);
  EXPECT_EQ(answer->usage.cache_write_input_tokens, 7);
  EXPECT_EQ(answer->latency_ms, 42);
  EXPECT_FALSE(parse_converse_response(R"({"output":{}})", false).has_value());
  EXPECT_FALSE(parse_converse_response("not json", false).has_value());
}

std::string stream_bytes() {
  std::string s;
  s += http::encode_event("messageStart", R"({"role":"assistant"})");
  s += http::encode_event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"Hel"}})");
  s += http::encode_event("contentBlockDelta", R"({"contentBlockIndex":0,"delta":{"text":"lo"}})");
  s += http::encode_event("contentBlockStop", R"({"contentBlockIndex":0})");
  s += http::encode_event(
      "contentBlockStart",
      R"({"contentBlockIndex":1,"start":{"toolUse":{"toolUseId":"tu1","name":"f"}}})");
  s += http::encode_event("contentBlockDelta",
                          R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"{\"a\":"}}})");
  s += http::encode_event("contentBlockDelta",
                          R"({"contentBlockIndex":1,"delta":{"toolUse":{"input":"2}"}}})");
  s += http::encode_event("contentBlockStop", R"({"contentBlockIndex":1})");
  s += http::encode_event("messageStop", R"({"stopReason":"tool_use"})");
  s += http::encode_event("metadata", R"({"usage":{"inputTokens":9,"outputTokens":4,)"
                                      R"("cacheReadInputTokens":3},"metrics":{"latencyMs":7}})");
  return s;
}

TEST(BedrockWire, StreamReaderEmitsTextAndToolUseEventsInOrderAndAssemblesTheAnswer) {
  std::vector<std::string> seen;
  ConverseStreamReader reader(false, [&](const StreamEvent& e) {
    switch (e.kind) {
      case StreamEvent::Kind::kText:
        seen.push_back("text:" + std::string(e.text));
        break;
      case StreamEvent::Kind::kToolUseStart:
        seen.push_back("tool:" + std::string(e.tool_use_id) + ":" + std::string(e.tool_name));
        break;
      case StreamEvent::Kind::kToolUseInput:
        seen.push_back("input:" + std::string(e.text));
        break;
    }
    return true;
  });
  std::string bytes = stream_bytes();
  for (size_t i = 0; i < bytes.size(); i += 7) {  // arbitrary chunking
    ASSERT_TRUE(reader.feed(std::string_view(bytes).substr(i, 7)));
  }
  auto answer = reader.finish();
  ASSERT_TRUE(answer.has_value()) << answer.error().message;
  std::vector<std::string> expected = {"text:Hel", "text:lo", "tool:tu1:f",
                                       "input:{\"a\":", "input:2}"};
  EXPECT_EQ(seen, expected);
  ASSERT_EQ(answer->content.size(), 2u);
  EXPECT_EQ(answer->content[0].text, "Hello");
  EXPECT_EQ(answer->content[1].tool_input_json, R"({"a":2})");
  EXPECT_EQ(answer->stop_reason, providers::StopReason::kToolUse);
  EXPECT_EQ(answer->usage.input_tokens, 12);
  EXPECT_EQ(answer->usage.cache_read_input_tokens, 3);
  EXPECT_EQ(answer->usage.output_tokens, 4);
}

TEST(BedrockWire, StreamExceptionsTruncationAndCancelAreErrors) {
  ConverseStreamReader throttled(false, [](const StreamEvent&) { return true; });
  EXPECT_FALSE(
      throttled.feed(http::encode_exception("throttlingException", R"({"message":"slow down"})")));
  auto error = throttled.finish();
  ASSERT_FALSE(error.has_value());
  EXPECT_EQ(error.error().code, ErrorCode::kThrottled);
  EXPECT_EQ(error.error().message, "slow down");

  ConverseStreamReader truncated(false, [](const StreamEvent&) { return true; });
  std::string bytes = stream_bytes();
  ASSERT_TRUE(truncated.feed(std::string_view(bytes).substr(0, bytes.size() - 3)));
  EXPECT_FALSE(truncated.finish().has_value());

  ConverseStreamReader cancelled(false, [](const StreamEvent&) { return false; });
  EXPECT_FALSE(cancelled.feed(bytes));
  EXPECT_EQ(cancelled.finish().error().code, ErrorCode::kCancelled);
}

TEST(BedrockWire, StructuredStreamsCarryTheToolInputAsText) {
  std::string text;
  ConverseStreamReader reader(true, [&](const StreamEvent& e) {
    EXPECT_EQ(e.kind, StreamEvent::Kind::kText);
    text += e.text;
    return true;
  });
  std::string s = http::encode_event(
      "contentBlockStart",
      R"({"contentBlockIndex":0,"start":{"toolUse":{"toolUseId":"x","name":"plinth_structured_output"}}})");
  s += http::encode_event("contentBlockDelta",
                          R"({"contentBlockIndex":0,"delta":{"toolUse":{"input":"{\"a\":1}"}}})");
  s += http::encode_event("messageStop", R"({"stopReason":"tool_use"})");
  ASSERT_TRUE(reader.feed(s));
  auto answer = reader.finish();
  ASSERT_TRUE(answer.has_value());
  EXPECT_EQ(text, R"({"a":1})");
  EXPECT_EQ(answer->content.at(0).text, R"({"a":1})");
  EXPECT_EQ(answer->stop_reason, providers::StopReason::kEndTurn);
}

TEST(BedrockWire, ErrorAnswersKeepTheBedrockTypeAndMessage) {
  http::Response r;
  r.status = 400;
  r.headers = {{"x-amzn-errortype", "ValidationException:http://internal.amazon.com/coral/x/"}};
  r.body = R"({"message":"maxTokens too large"})";
  Error e = error_from_response("aws", r);
  EXPECT_EQ(e.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(e.message, "maxTokens too large");
  r.status = 429;
  r.headers = {};
  r.body = R"({"__type":"com.amazon#ThrottlingException","Message":"Too many requests"})";
  e = error_from_response("aws", r);
  EXPECT_EQ(e.code, ErrorCode::kThrottled);
  EXPECT_EQ(e.message, "Too many requests");
  r.status = 408;
  r.headers = {{"x-amzn-errortype", "ModelTimeoutException"}};
  EXPECT_EQ(error_from_response("aws", r).code, ErrorCode::kTimeout);
  r.status = 503;
  r.headers = {};
  r.body = "<html>bad gateway</html>";
  EXPECT_EQ(error_from_response("aws", r).code, ErrorCode::kUnavailable);
}

TEST(BedrockWire, UsageFromInvokeModelHeadersAndBodies) {
  http::Response r;
  r.headers = {{"x-amzn-bedrock-input-token-count", "11"},
               {"x-amzn-bedrock-output-token-count", "5"},
               {"x-amzn-bedrock-cache-read-input-token-count", "4"}};
  auto u = usage_from_headers(r);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->input_tokens, 15);
  EXPECT_EQ(u->output_tokens, 5);
  r.headers[0].value = "-1";
  r.headers.erase(r.headers.begin() + 1);
  EXPECT_FALSE(usage_from_headers(r).has_value());
  auto anthropic = usage_from_json(R"({"usage":{"input_tokens":3,"output_tokens":2,)"
                                   R"("cache_creation_input_tokens":10}})");
  ASSERT_TRUE(anthropic.has_value());
  EXPECT_EQ(anthropic->input_tokens, 13);
  EXPECT_EQ(anthropic->cache_write_input_tokens, 10);
  auto llama =
      usage_from_json(R"({"generation":"x","prompt_token_count":8,"generation_token_count":2})");
  ASSERT_TRUE(llama.has_value());
  EXPECT_EQ(llama->input_tokens, 8);
  // InvokeModelWithResponseStream chunks: base64 of the model's JSON, metrics on the last one.
  http::EventMessage chunk;
  chunk.headers.push_back({":event-type", http::EventHeaderValue::string("chunk")});
  chunk.payload = R"({"bytes":")" +
                  base64_encode(R"({"type":"message_stop","amazon-bedrock-invocationMetrics":)"
                                R"({"inputTokenCount":21,"outputTokenCount":6}})") +
                  R"("})";
  auto streamed = ConverseStreamReader::usage_of(chunk);
  ASSERT_TRUE(streamed.has_value());
  EXPECT_EQ(streamed->input_tokens, 21);
  EXPECT_EQ(streamed->output_tokens, 6);
}

TEST(BedrockWire, SignsTheEncodedModelPathWithServiceBedrock) {
  http::Request request;
  request.method = "POST";
  request.target = model_target("anthropic.claude-3-haiku-20240307-v1:0", "converse");
  EXPECT_EQ(request.target, "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse");
  request.headers = {{"content-type", "application/json"}};
  request.body = "{}";
  aws::AwsCredentials creds{"ASIAKEY", "secret", "session", std::nullopt, "test"};
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'764'000'000));
  sign_request(request, "127.0.0.1:4000", "", creds, "us-west-2", now);
  const std::string* authorization = request.header("authorization");
  ASSERT_NE(authorization, nullptr);
  auto parts = auth::parse_authorization_header(*authorization);
  ASSERT_TRUE(parts.has_value());
  EXPECT_EQ(parts->service, "bedrock");
  EXPECT_EQ(parts->region, "us-west-2");
  EXPECT_EQ(parts->access_key_id, "ASIAKEY");
  EXPECT_EQ(*request.header("host"), "127.0.0.1:4000");
  EXPECT_EQ(*request.header("x-amz-security-token"), "session");
  // The signature verifies: recompute it over the same canonical request.
  auth::SignableRequest signable{
      "POST", "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse", "", {}, request.body};
  for (const auto& h : request.headers) {
    if (h.name != "authorization") signable.headers.emplace_back(h.name, h.value);
  }
  std::string canonical =
      auth::canonical_request(signable, parts->signed_headers, auth::sha256_hex(request.body), {});
  std::string to_sign = auth::string_to_sign(auth::format_amz_date(now), parts->scope(), canonical);
  EXPECT_EQ(auth::compute_signature(
                auth::signing_key("secret", parts->date, "us-west-2", "bedrock"), to_sign),
            parts->signature);
}

}  // namespace
}  // namespace plinth::upstream::bedrock
