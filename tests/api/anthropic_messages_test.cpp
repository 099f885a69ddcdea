// The Anthropic Messages API wire format: request parsing, the message object, the SSE event
// sequence and the error shape.
#include "plinth/api/anthropic_messages.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/api/errors.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

RequestLimits limits() { return RequestLimits{}; }

std::string error_of(std::string_view body) {
  auto parsed = parse_anthropic_messages_request(body, limits());
  EXPECT_FALSE(parsed.has_value()) << body;
  return parsed ? "" : parsed.error().message;
}

TEST(AnthropicMessagesRequest, ParsesEveryField) {
  auto request = parse_anthropic_messages_request(R"({
    "model": "claude-haiku", "max_tokens": 64, "stream": true,
    "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
      {"role": "user", "content": "What is 2+2?"},
      {"role": "assistant", "content": [
        {"type": "text", "text": "Let me compute."},
        {"type": "tool_use", "id": "toolu_1", "name": "add", "input": {"a": 2, "b": 2}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "4"},
        {"type": "text", "text": "And now?"}]}],
    "tools": [{"name": "add", "description": "Adds", "input_schema": {"type": "object"}}],
    "tool_choice": {"type": "auto"},
    "stop_sequences": ["END"], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
    "metadata": {"user_id": "user-42"}})",
                                                  limits());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->model, "claude-haiku");
  EXPECT_TRUE(request->stream);
  EXPECT_EQ(request->metadata_user_id, "user-42");
  const providers::InferenceRequest& inference = request->inference;
  EXPECT_TRUE(inference.model_id.empty());
  EXPECT_EQ(inference.max_tokens, 64);
  EXPECT_EQ(inference.system, std::vector<std::string>{"Be brief."});
  ASSERT_EQ(inference.messages.size(), 3u);
  EXPECT_EQ(inference.messages[1].content[1].kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(json::parse(inference.messages[1].content[1].tool_input_json),
            json::parse(R"({"a":2,"b":2})"));
  EXPECT_EQ(inference.messages[2].content[0].kind, ContentBlock::Kind::kToolResult);
  EXPECT_EQ(inference.messages[2].content[0].text, "4");
  ASSERT_EQ(inference.tools.size(), 1u);
  EXPECT_FALSE(inference.forced_tool.has_value());
  EXPECT_EQ(inference.stop_sequences, std::vector<std::string>{"END"});
  EXPECT_FLOAT_EQ(*inference.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*inference.top_p, 0.9f);
  EXPECT_EQ(inference.top_k, 40);
}

TEST(AnthropicMessagesRequest, ToolChoiceForcesOrWithdrawsTools) {
  std::string base =
      R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"x"}],
          "tools":[{"name":"pick","input_schema":{"type":"object"}}],"tool_choice":)";
  auto forced =
      parse_anthropic_messages_request(base + R"({"type":"tool","name":"pick"}})", limits());
  ASSERT_TRUE(forced.has_value());
  EXPECT_EQ(forced->inference.forced_tool, "pick");
  auto any = parse_anthropic_messages_request(base + R"({"type":"any"}})", limits());
  ASSERT_TRUE(any.has_value());
  EXPECT_EQ(any->inference.forced_tool, "pick");
  auto none = parse_anthropic_messages_request(base + R"({"type":"none"}})", limits());
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->inference.tools.empty());
  EXPECT_FALSE(none->inference.forced_tool.has_value());
  EXPECT_NE(error_of(base + R"({"type":"tool","name":"other"}})").find("not in tools"),
            std::string::npos);
}

TEST(AnthropicMessagesRequest, ImagesBecomeImageBlocks) {
  auto request = parse_anthropic_messages_request(
      R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[
          {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw=="}},
          {"type":"text","text":"What is this?"}]}]})",
      limits());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  const ContentBlock& image = request->inference.messages[0].content[0];
  EXPECT_EQ(image.kind, ContentBlock::Kind::kImage);
  EXPECT_EQ(image.document_format, "png");
  EXPECT_EQ(image.document_bytes, "\x89PNG");
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[
          {"type":"image","source":{"type":"url","url":"http://169.254.169.254/"}}]}]})")
                .find("url sources are not supported"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[
          {"type":"image","source":{"type":"base64","media_type":"image/bmp","data":"AA=="}}]}]})")
                .find("image/jpeg"),
            std::string::npos);
}

TEST(AnthropicMessagesRequest, ImageSizeIsBoundedBeforeDecoding) {
  std::string data((5 * 1024 * 1024 / 3 + 8) * 4, 'A');
  std::string body =
      R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":[{"type":"image",)"
      R"("source":{"type":"base64","media_type":"image/png","data":")" +
      data + R"("}}]}]})";
  EXPECT_NE(error_of(body).find("5 MB limit"), std::string::npos);
}

TEST(AnthropicMessagesRequest, Rejections) {
  EXPECT_NE(
      error_of(R"({"max_tokens":8,"messages":[{"role":"user","content":"x"}]})").find("model"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}]})").find("max_tokens"),
      std::string::npos);
  EXPECT_NE(
      error_of(R"({"model":"m","max_tokens":99999,"messages":[{"role":"user","content":"x"}]})")
          .find("exceeds the model limit of 4096"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"messages":[]})").find("at least one"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"stream":"yes",
                         "messages":[{"role":"user","content":"x"}]})")
                .find("stream"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"metadata":{"user_id":7},
                         "messages":[{"role":"user","content":"x"}]})")
                .find("metadata.user_id"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"temperature":1.5,
                         "messages":[{"role":"user","content":"x"}]})")
                .find("temperature"),
            std::string::npos);
  std::string stops = R"({"model":"m","max_tokens":8,"messages":[{"role":"user","content":"x"}],
                          "stop_sequences":[)";
  for (int i = 0; i <= limits().max_stop_sequences; ++i)
    stops += (i ? ",\"s" : "\"s") + std::to_string(i) + "\"";
  EXPECT_NE(error_of(stops + "]}").find("stop"), std::string::npos);
  std::string user(257, 'u');
  EXPECT_NE(error_of(R"({"model":"m","max_tokens":8,"metadata":{"user_id":")" + user +
                     R"("},"messages":[{"role":"user","content":"x"}]})")
                .find("at most 256"),
            std::string::npos);
  EXPECT_NE(error_of("[1,2]").find("object"), std::string::npos);
}

providers::InferenceResponse tool_response() {
  providers::InferenceResponse response;
  response.model_id = "m";
  ContentBlock text;
  text.text = "Calling.";
  ContentBlock tool;
  tool.kind = ContentBlock::Kind::kToolUse;
  tool.tool_use_id = "toolu_9";
  tool.tool_name = "add";
  tool.tool_input_json = R"({"a":1})";
  response.content = {text, tool};
  response.stop_reason = providers::StopReason::kToolUse;
  response.usage.input_tokens = 30;
  response.usage.output_tokens = 5;
  response.usage.cache_read_input_tokens = 12;
  response.usage.cache_write_input_tokens = 3;
  return response;
}

TEST(AnthropicMessageResponse, ExactShape) {
  json::value v = json::parse(anthropic_message_json(tool_response(), "msg_1", "claude"));
  EXPECT_EQ(v, json::parse(R"({"id":"msg_1","type":"message","role":"assistant","model":"claude",
      "content":[{"type":"text","text":"Calling."},
                 {"type":"tool_use","id":"toolu_9","name":"add","input":{"a":1}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":15,"output_tokens":5,"cache_creation_input_tokens":3,
               "cache_read_input_tokens":12}})"));
  providers::InferenceResponse stopped;
  stopped.stop_reason = providers::StopReason::kStopSequence;
  stopped.stop_sequence = "END";
  json::value s = json::parse(anthropic_message_json(stopped, "msg_2", "claude"));
  EXPECT_EQ(s.at("stop_reason"), "stop_sequence");
  EXPECT_EQ(s.at("stop_sequence"), "END");
}

std::vector<std::string> types_of(const std::vector<http::SseEvent>& events) {
  std::vector<std::string> types;
  for (const http::SseEvent& e : events) {
    EXPECT_EQ(json::parse(e.data).at("type").as_string(),
              e.event);  // the data's type names the event
    types.push_back(e.event);
  }
  return types;
}

TEST(AnthropicStream, LiveTextAndToolInputInAnthropicOrder) {
  AnthropicStreamWriter writer("msg_1", "claude");
  std::vector<http::SseEvent> all = writer.start();
  auto add = [&all](std::vector<http::SseEvent> more) {
    all.insert(all.end(), more.begin(), more.end());
  };
  add(writer.delta(providers::StreamEvent::text_delta("Calling")));
  add(writer.delta(providers::StreamEvent::text_delta(".")));
  add(writer.delta(providers::StreamEvent::tool_use_start("toolu_9", "add")));
  add(writer.delta(providers::StreamEvent::tool_use_input(R"({"a")")));
  add(writer.delta(providers::StreamEvent::tool_use_input(R"(:1})")));
  add(writer.finish(tool_response()));
  EXPECT_EQ(types_of(all), (std::vector<std::string>{
                               "message_start", "content_block_start", "ping",
                               "content_block_delta", "content_block_delta", "content_block_stop",
                               "content_block_start", "content_block_delta", "content_block_delta",
                               "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(json::parse(all[0].data).at("message").at("id"), "msg_1");
  EXPECT_EQ(json::parse(all[4].data).at("delta").at("text"), ".");
  json::value tool_start = json::parse(all[6].data);
  EXPECT_EQ(tool_start.at("index"), 1);
  EXPECT_EQ(tool_start.at("content_block").at("name"), "add");
  EXPECT_EQ(json::parse(all[8].data).at("delta"),
            json::parse(R"({"type":"input_json_delta","partial_json":":1}"})"));
  json::value delta = json::parse(all[10].data);
  EXPECT_EQ(delta.at("delta").at("stop_reason"), "tool_use");
  EXPECT_EQ(delta.at("usage").at("output_tokens"), 5);
  EXPECT_EQ(delta.at("usage").at("input_tokens"), 15);
}

TEST(AnthropicStream, HeldBackContentIsSentAtTheEnd) {
  AnthropicStreamWriter writer("msg_1", "claude");
  std::vector<http::SseEvent> all = writer.start();
  std::vector<http::SseEvent> rest = writer.finish(tool_response());
  all.insert(all.end(), rest.begin(), rest.end());
  EXPECT_EQ(types_of(all),
            (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                      "content_block_delta", "content_block_stop",
                                      "content_block_start", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(json::parse(all[6].data).at("delta").at("partial_json"), R"({"a":1})");
}

TEST(AnthropicStream, EmptyAnswerStillPingsAndEnds) {
  AnthropicStreamWriter writer("msg_1", "claude");
  providers::InferenceResponse empty;
  empty.stop_reason = providers::StopReason::kMaxTokens;
  EXPECT_EQ(types_of(writer.finish(empty)),
            (std::vector<std::string>{"ping", "message_delta", "message_stop"}));
}

TEST(AnthropicErrors, TypesAndStatuses) {
  auto check = [](ErrorCode code, unsigned status, std::string_view type) {
    WireError wire = anthropic_error(Error(code, "detail"));
    EXPECT_EQ(wire.status, status) << type;
    json::value body = json::parse(wire.body);
    EXPECT_EQ(body.at("type"), "error");
    EXPECT_EQ(body.at("error").at("type").as_string(), type);
  };
  check(ErrorCode::kInvalidArgument, 400, "invalid_request_error");
  check(ErrorCode::kUnknownAccessKey, 401, "authentication_error");
  check(ErrorCode::kPermissionDenied, 403, "permission_error");
  check(ErrorCode::kNotFound, 404, "not_found_error");
  check(ErrorCode::kPayloadTooLarge, 413, "request_too_large");
  check(ErrorCode::kThrottled, 429, "rate_limit_error");
  check(ErrorCode::kInternal, 500, "api_error");
  check(ErrorCode::kTimeout, 504, "timeout_error");
  check(ErrorCode::kUnavailable, 529, "overloaded_error");
  EXPECT_EQ(json::parse(anthropic_error(Error(ErrorCode::kInternal, "secret")).body)
                .at("error")
                .at("message"),
            "The server encountered an internal error.");
  http::SseEvent event = AnthropicStreamWriter::error(Error(ErrorCode::kUnavailable, "busy"));
  EXPECT_EQ(event.event, "error");
  EXPECT_EQ(json::parse(event.data).at("error").at("type"), "overloaded_error");
}

}  // namespace
}  // namespace plinth::api
