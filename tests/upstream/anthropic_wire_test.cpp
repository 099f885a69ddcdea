// The anthropic kind's wire format: request bodies from internal requests, messages and SSE
// streams back into internal answers and stream events, and upstream errors as Errors.
#include "../../src/upstream/anthropic_wire.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace plinth::upstream::anthropic {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

providers::InferenceRequest conversation() {
  providers::InferenceRequest request;
  request.model_id = "claude-3-haiku";
  request.system = {"Be brief.", "Use tools."};
  request.max_tokens = 100;
  request.temperature = 0.5f;
  request.top_k = 7;
  request.stop_sequences = {"END"};
  ContentBlock question;
  question.text = "2+2?";
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "toolu_1";
  use.tool_name = "add";
  use.tool_input_json = R"({"a":2,"b":2})";
  ContentBlock result;
  result.kind = ContentBlock::Kind::kToolResult;
  result.tool_use_id = "toolu_1";
  result.text = "4";
  ContentBlock image;
  image.kind = ContentBlock::Kind::kImage;
  image.document_format = "png";
  image.document_bytes = "\x89PNG";
  request.messages = {{providers::Role::kUser, {question, image}},
                      {providers::Role::kAssistant, {use}},
                      {providers::Role::kUser, {result}}};
  request.tools = {{"add", "Adds", R"({"type":"object"})"}};
  request.forced_tool = "add";
  return request;
}

TEST(AnthropicUpstreamRequest, CarriesEveryPartOfTheConversation) {
  OutputPlan plan;
  json::value body = json::parse(messages_request_body(conversation(), true, &plan));
  EXPECT_FALSE(plan.via_tool);
  EXPECT_EQ(body, json::parse(R"({
    "model":"claude-3-haiku","max_tokens":100,
    "system":[{"type":"text","text":"Be brief."},{"type":"text","text":"Use tools."}],
    "messages":[
      {"role":"user","content":[{"type":"text","text":"2+2?"},
        {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"toolu_1","name":"add",
                                      "input":{"a":2,"b":2}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"4"}]}],
    "temperature":0.5,"top_k":7,"stop_sequences":["END"],
    "tools":[{"name":"add","input_schema":{"type":"object"},"description":"Adds"}],
    "tool_choice":{"type":"tool","name":"add"},"stream":true})"));
}

TEST(AnthropicUpstreamRequest, CachePointsMarkTheBlockJustBeforeThem) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest request = conversation();
  request.cache_points = {{Section::kTools, 0, 1},
                          {Section::kSystem, 0, 1},
                          {Section::kMessages, 0, 2},
                          {Section::kMessages, 2, 1}};
  json::value body = json::parse(messages_request_body(request, false, nullptr));
  const json::value ephemeral = json::parse(R"({"type":"ephemeral"})");
  EXPECT_EQ(body.at("tools").at(0).at("cache_control"), ephemeral);
  EXPECT_EQ(body.at("system").at(0).at("cache_control"), ephemeral);
  EXPECT_FALSE(body.at("system").at(1).as_object().contains("cache_control"));
  const json::value& messages = body.at("messages");
  EXPECT_FALSE(messages.at(0).at("content").at(0).as_object().contains("cache_control"));
  EXPECT_EQ(messages.at(0).at("content").at(1).at("cache_control"), ephemeral);
  EXPECT_FALSE(messages.at(1).at("content").at(0).as_object().contains("cache_control"));
  EXPECT_EQ(messages.at(2).at("content").at(0),
            json::parse(R"({"type":"tool_result","tool_use_id":"toolu_1","content":"4",)"
                        R"("cache_control":{"type":"ephemeral"}})"));
  request.cache_points.clear();
  EXPECT_EQ(messages_request_body(request, false, nullptr).find("cache_control"),
            std::string::npos);
}

TEST(AnthropicUpstreamRequest, AToolsPointMarksTheToolJustBeforeIt) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest request = conversation();
  request.tools.push_back({"sub", "Subtracts", R"({"type":"object"})"});
  request.tools.push_back({"mul", "Multiplies", R"({"type":"object"})"});
  request.cache_points = {{Section::kTools, 0, 2}};
  json::value body = json::parse(messages_request_body(request, false, nullptr));
  const json::array& tools = body.at("tools").as_array();
  ASSERT_EQ(tools.size(), 3u);
  EXPECT_FALSE(tools[0].as_object().contains("cache_control"));
  EXPECT_EQ(tools[1].at("cache_control"), json::parse(R"({"type":"ephemeral"})"));
  EXPECT_FALSE(tools[2].as_object().contains("cache_control"));
}

// A Bedrock cachePoint that opens a message or the system list names the prefix that ends with
// the last block sent before it; with nothing before it there is nothing to mark.
TEST(AnthropicUpstreamRequest, APointWithNoBlockBeforeItMarksThePrecedingBlockOrNothing) {
  using Section = providers::CachePoint::Section;
  providers::InferenceRequest request = conversation();
  request.cache_points = {{Section::kMessages, 2, 0}, {Section::kMessages, 0, 0}};
  json::value body = json::parse(messages_request_body(request, false, nullptr));
  const json::value ephemeral = json::parse(R"({"type":"ephemeral"})");
  EXPECT_EQ(body.at("messages").at(1).at("content").at(0).at("cache_control"), ephemeral);
  EXPECT_EQ(body.at("system").at(1).at("cache_control"), ephemeral);
  EXPECT_FALSE(body.at("messages").at(2).at("content").at(0).as_object().contains("cache_control"));

  providers::InferenceRequest bare;
  bare.model_id = "m";
  bare.messages = {{providers::Role::kUser, {ContentBlock{}}}};
  bare.messages[0].content[0].text = "hi";
  bare.cache_points = {{Section::kSystem, 0, 0}, {Section::kMessages, 0, 0}};
  EXPECT_EQ(messages_request_body(bare, false, nullptr).find("cache_control"), std::string::npos);
}

TEST(AnthropicUpstreamRequest, StructuredOutputIsAForcedOutputTool) {
  providers::InferenceRequest request;
  request.model_id = "m";
  request.messages = {{providers::Role::kUser, {ContentBlock{}}}};
  request.messages[0].content[0].text = "Classify";
  request.output_schema_json = R"({"type":"object","properties":{"label":{"type":"string"}}})";
  OutputPlan plan;
  json::value body = json::parse(messages_request_body(request, false, &plan));
  EXPECT_TRUE(plan.via_tool);
  EXPECT_FALSE(plan.wrapped);
  EXPECT_EQ(body.at("tool_choice"), json::parse(R"({"type":"tool","name":"json_output"})"));
  EXPECT_EQ(body.at("tools").at(0).at("input_schema"), json::parse(*request.output_schema_json));
  request.output_schema_json = R"({"type":"array","items":{"type":"integer"}})";
  body = json::parse(messages_request_body(request, false, &plan));
  EXPECT_TRUE(plan.wrapped);
  EXPECT_EQ(body.at("tools").at(0).at("input_schema").at("properties").at("value"),
            json::parse(*request.output_schema_json));
}

TEST(AnthropicUpstreamResponse, MessageWithToolUseAndCacheCounts) {
  auto response = parse_message(R"({"id":"msg_1","type":"message","role":"assistant",
      "content":[{"type":"text","text":"Adding."},
                 {"type":"tool_use","id":"toolu_2","name":"add","input":{"a":1}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":10,"output_tokens":4,"cache_creation_input_tokens":3,
               "cache_read_input_tokens":20}})",
                                OutputPlan{});
  ASSERT_TRUE(response.has_value()) << response.error().message;
  ASSERT_EQ(response->content.size(), 2u);
  EXPECT_EQ(response->content[0].text, "Adding.");
  EXPECT_EQ(response->content[1].tool_name, "add");
  EXPECT_EQ(json::parse(response->content[1].tool_input_json), json::parse(R"({"a":1})"));
  EXPECT_EQ(response->stop_reason, providers::StopReason::kToolUse);
  EXPECT_EQ(response->usage.input_tokens, 33);  // the whole prompt
  EXPECT_EQ(response->usage.cache_read_input_tokens, 20);
  EXPECT_EQ(response->usage.cache_write_input_tokens, 3);
  EXPECT_EQ(response->usage.output_tokens, 4);
}

TEST(AnthropicUpstreamResponse, OutputToolBecomesTheAnswerText) {
  std::string body = R"({"content":[{"type":"tool_use","id":"t","name":"json_output",
      "input":{"value":[1,2]}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}})";
  auto response = parse_message(body, OutputPlan{true, true});
  ASSERT_TRUE(response.has_value());
  ASSERT_EQ(response->content.size(), 1u);
  EXPECT_EQ(response->content[0].kind, ContentBlock::Kind::kText);
  EXPECT_EQ(response->content[0].text, "[1,2]");
  EXPECT_EQ(response->stop_reason, providers::StopReason::kEndTurn);
  EXPECT_FALSE(parse_message("not json", OutputPlan{}).has_value());
  EXPECT_EQ(parse_message("[]", OutputPlan{}).error().code, ErrorCode::kUnavailable);
}

TEST(AnthropicUpstreamErrors, OverloadAndRateLimitAreThrottling) {
  EXPECT_EQ(
      upstream_error("a", 529,
                     R"({"type":"error","error":{"type":"overloaded_error","message":"busy"}})")
          .code,
      ErrorCode::kThrottled);
  EXPECT_EQ(upstream_error("a", 429, "{}").code, ErrorCode::kThrottled);
  Error bad = upstream_error(
      "a", 400, R"({"type":"error","error":{"type":"invalid_request_error","message":"bad x"}})");
  EXPECT_EQ(bad.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.message, "bad x");
  EXPECT_EQ(upstream_error("a", 503, "").code, ErrorCode::kUnavailable);
}

constexpr std::string_view kToolStream =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
    "\"usage\":{\"input_tokens\":12,\"output_tokens\":1,\"cache_read_input_tokens\":5}}}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
    "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
    "\"delta\":{\"type\":\"text_delta\",\"text\":\"Let me\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,"
    "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_3\",\"name\":\"add\",\"input\":{}}}"
    "\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"a\\\"\"}}\n\n"
    "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,"
    "\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\":3}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":9}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

struct Seen {
  std::vector<std::string> lines;
  providers::StreamCallback callback() {
    return [this](const providers::StreamEvent& e) {
      switch (e.kind) {
        case providers::StreamEvent::Kind::kText:
          lines.push_back("text:" + std::string(e.text));
          break;
        case providers::StreamEvent::Kind::kToolUseStart:
          lines.push_back("tool:" + std::string(e.tool_use_id) + ":" + std::string(e.tool_name));
          break;
        case providers::StreamEvent::Kind::kToolUseInput:
          lines.push_back("input:" + std::string(e.text));
          break;
      }
      return true;
    };
  }
};

TEST(AnthropicUpstreamStream, EventsInOrderWhateverTheByteSplits) {
  for (size_t piece : {size_t{1}, size_t{7}, kToolStream.size()}) {
    Seen seen;
    MessageStreamParser parser("a", OutputPlan{}, seen.callback());
    for (size_t i = 0; i < kToolStream.size(); i += piece) {
      ASSERT_TRUE(parser.feed(kToolStream.substr(i, piece)).has_value());
    }
    auto response = parser.finish();
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(seen.lines, (std::vector<std::string>{"text:Let me", "tool:toolu_3:add",
                                                    "input:{\"a\"", "input::3}"}));
    ASSERT_EQ(response->content.size(), 2u);
    EXPECT_EQ(response->content[0].text, "Let me");
    EXPECT_EQ(response->content[1].tool_input_json, R"({"a":3})");
    EXPECT_EQ(response->stop_reason, providers::StopReason::kToolUse);
    EXPECT_EQ(response->usage.input_tokens, 17);
    EXPECT_EQ(response->usage.cache_read_input_tokens, 5);
    EXPECT_EQ(response->usage.output_tokens, 9);
  }
}

TEST(AnthropicUpstreamStream, ErrorsTruncationAndCancellation) {
  MessageStreamParser overloaded("a", OutputPlan{}, {});
  auto status = overloaded.feed(
      "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
      "\"message\":\"Overloaded\"}}\n\n");
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kThrottled);

  MessageStreamParser cut("a", OutputPlan{}, {});
  ASSERT_TRUE(cut.feed(kToolStream.substr(0, 300)).has_value());
  EXPECT_EQ(cut.finish().error().code, ErrorCode::kUnavailable);

  MessageStreamParser stopped("a", OutputPlan{},
                              [](const providers::StreamEvent&) { return false; });
  EXPECT_EQ(stopped.feed(kToolStream).error().code, ErrorCode::kCancelled);

  MessageStreamParser endless("a", OutputPlan{}, {});
  std::string line = "data: " + std::string(MessageStreamParser::kMaxEventBytes, 'x');
  EXPECT_EQ(endless.feed(line).error().code, ErrorCode::kUnavailable);

  MessageStreamParser far("a", OutputPlan{}, {});
  EXPECT_FALSE(far.feed("data: {\"type\":\"content_block_start\",\"index\":256,"
                        "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n")
                   .has_value());
}

TEST(AnthropicUpstreamStream, OutputToolInputStreamsAsText) {
  std::string stream =
      "data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3}}}\n\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
      "\"tool_use\",\"id\":\"t\",\"name\":\"json_output\",\"input\":{}}}\n\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
      "\"input_json_delta\",\"partial_json\":\"{\\\"label\\\":\\\"x\\\"}\"}}\n\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
      "\"usage\":{\"output_tokens\":5}}\n\n"
      "data: {\"type\":\"message_stop\"}\n\n";
  Seen seen;
  MessageStreamParser parser("a", OutputPlan{true, false}, seen.callback());
  ASSERT_TRUE(parser.feed(stream).has_value());
  auto response = parser.finish();
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(seen.lines, std::vector<std::string>{"text:{\"label\":\"x\"}"});
  ASSERT_EQ(response->content.size(), 1u);
  EXPECT_EQ(response->content[0].text, R"({"label":"x"})");
  EXPECT_EQ(response->stop_reason, providers::StopReason::kEndTurn);
}

}  // namespace
}  // namespace plinth::upstream::anthropic
