// The openai kind's wire format: request bodies, answers, and the SSE stream with tool calls.
#include "../../src/upstream/openai_wire.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace plinth::upstream::openai {
namespace {

namespace json = boost::json;
using providers::ContentBlock;

providers::InferenceRequest tool_conversation() {
  providers::InferenceRequest request;
  request.model_id = "gpt-4o-mini";
  request.system = {"Be brief.", "Use tools."};
  request.max_tokens = 100;
  request.temperature = 0.5f;
  request.top_p = 0.9f;
  request.seed = 42;
  request.stop_sequences = {"END"};
  request.tools = {{"weather", "Weather by city", R"({"type":"object"})"}};
  providers::Message user{providers::Role::kUser, {}};
  user.content.push_back(ContentBlock{.text = "Weather in Oslo?"});
  providers::Message assistant{providers::Role::kAssistant, {}};
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "call_1";
  use.tool_name = "weather";
  use.tool_input_json = R"({"city":"Oslo"})";
  assistant.content.push_back(use);
  providers::Message result{providers::Role::kUser, {}};
  ContentBlock answer;
  answer.kind = ContentBlock::Kind::kToolResult;
  answer.tool_use_id = "call_1";
  answer.text = "rain";
  result.content.push_back(answer);
  request.messages = {user, assistant, result};
  return request;
}

TEST(OpenAiWire, ChatRequestCarriesSystemTurnsToolsResultsAndSampling) {
  json::value body = json::parse(chat_request_body(tool_conversation(), true));
  EXPECT_EQ(body.at("model"), "gpt-4o-mini");
  const json::array& m = body.at("messages").as_array();
  ASSERT_EQ(m.size(), 4u);
  EXPECT_EQ(m[0].at("role"), "system");
  EXPECT_EQ(m[0].at("content"), "Be brief.\nUse tools.");
  EXPECT_EQ(m[1].at("content"), "Weather in Oslo?");
  EXPECT_EQ(m[2].at("role"), "assistant");
  EXPECT_EQ(m[2].at("tool_calls").at(0).at("function").at("arguments"), R"({"city":"Oslo"})");
  EXPECT_EQ(m[3].at("role"), "tool");
  EXPECT_EQ(m[3].at("tool_call_id"), "call_1");
  EXPECT_EQ(m[3].at("content"), "rain");
  EXPECT_EQ(body.at("tools").at(0).at("function").at("parameters").at("type"), "object");
  EXPECT_EQ(body.at("max_tokens"), 100);
  EXPECT_EQ(body.at("seed"), 42u);
  EXPECT_EQ(body.at("stop").at(0), "END");
  EXPECT_NEAR(body.at("top_p").as_double(), 0.9, 1e-6);
  EXPECT_EQ(body.at("stream"), true);
  EXPECT_EQ(body.at("stream_options").at("include_usage"), true);
  EXPECT_EQ(body.as_object().if_contains("tool_choice"), nullptr);
}

TEST(OpenAiWire, StructuredOutputIsAJsonSchemaOrAForcedTool) {
  providers::InferenceRequest request;
  request.model_id = "m";
  request.output_schema_json = R"({"type":"object","required":["total"]})";
  json::value schema = json::parse(chat_request_body(request, false));
  EXPECT_EQ(schema.at("response_format").at("type"), "json_schema");
  EXPECT_EQ(schema.at("response_format").at("json_schema").at("schema").at("required").at(0),
            "total");
  EXPECT_EQ(schema.as_object().if_contains("stream"), nullptr);
  request = tool_conversation();
  request.forced_tool = "weather";
  json::value forced = json::parse(chat_request_body(request, false));
  EXPECT_EQ(forced.at("tool_choice").at("function").at("name"), "weather");
}

TEST(OpenAiWire, ParsesAnswersWithToolCallsAndUsage) {
  auto response = parse_chat_response(R"({"choices":[{"message":{"role":"assistant",
    "content":null,"tool_calls":[{"id":"c9","type":"function","function":{"name":"weather",
    "arguments":"{\"city\":\"Oslo\"}"}}]},"finish_reason":"tool_calls"}],
    "usage":{"prompt_tokens":12,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":4}}})");
  ASSERT_TRUE(response) << response.error().message;
  ASSERT_EQ(response->content.size(), 1u);
  EXPECT_EQ(response->content[0].kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(response->content[0].tool_use_id, "c9");
  EXPECT_EQ(response->content[0].tool_input_json, R"({"city":"Oslo"})");
  EXPECT_EQ(response->stop_reason, providers::StopReason::kToolUse);
  EXPECT_EQ(response->usage.input_tokens, 12);
  EXPECT_EQ(response->usage.cache_read_input_tokens, 4);  // OpenAI's cached part of the prompt
  EXPECT_EQ(response->usage.output_tokens, 5);
  EXPECT_FALSE(parse_chat_response("<html>"));
  EXPECT_EQ(parse_chat_response(R"({"choices":[]})").error().code, ErrorCode::kUnavailable);
  EXPECT_EQ(error_message(R"({"error":{"message":"bad max_tokens","type":"x"}})"),
            "bad max_tokens");
}

constexpr std::string_view kToolStream =
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Let "
    "me\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" check.\"}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
    "\"type\":\"function\",\"function\":{\"name\":\"weather\",\"arguments\":\"\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"{\\\"city\\\":\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"\\\"Oslo\\\"}\"}}]}}]}\n\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":9}}\n\n"
    "data: [DONE]\n\n";

TEST(OpenAiWire, StreamsTextAndToolCallDeltasWhateverTheByteBoundaries) {
  for (size_t step : {size_t{1}, size_t{7}, kToolStream.size()}) {
    std::vector<std::string> events;
    ChatStreamParser parser([&](const providers::StreamEvent& d) {
      switch (d.kind) {
        case providers::StreamEvent::Kind::kText:
          events.push_back("text:" + std::string(d.text));
          break;
        case providers::StreamEvent::Kind::kToolUseStart:
          events.push_back("tool:" + std::string(d.tool_use_id) + "/" + std::string(d.tool_name));
          break;
        case providers::StreamEvent::Kind::kToolUseInput:
          events.push_back("input:" + std::string(d.text));
          break;
      }
      return true;
    });
    for (size_t i = 0; i < kToolStream.size(); i += step) {
      ASSERT_TRUE(parser.feed(kToolStream.substr(i, step)));
    }
    auto response = parser.finish();
    ASSERT_TRUE(response) << response.error().message;
    EXPECT_EQ(events, (std::vector<std::string>{"text:Let me", "text: check.", "tool:c1/weather",
                                                "input:{\"city\":", "input:\"Oslo\"}"}))
        << "step " << step;
    ASSERT_EQ(response->content.size(), 2u);
    EXPECT_EQ(response->content[0].text, "Let me check.");
    EXPECT_EQ(response->content[1].tool_input_json, R"({"city":"Oslo"})");
    EXPECT_EQ(response->stop_reason, providers::StopReason::kToolUse);
    EXPECT_EQ(response->usage.input_tokens, 30);
    EXPECT_EQ(response->usage.output_tokens, 9);
  }
}

TEST(OpenAiWire, TextAfterAToolCallStillStreamsAndClosesTheCallsBlock) {
  std::vector<std::string> events;
  ChatStreamParser parser([&](const providers::StreamEvent& e) {
    events.push_back(std::to_string(static_cast<int>(e.kind)) + ":" + std::string(e.text));
    return true;
  });
  ASSERT_TRUE(parser.feed(
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"c1\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\"\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"content\":\"Done.\"}}]}\n\n"
      "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"arguments\":\":1}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"));
  auto response = parser.finish();
  ASSERT_TRUE(response) << response.error().message;
  // Start, first fragment, the text; the late fragment is in the final answer only.
  EXPECT_EQ(events, (std::vector<std::string>{"1:", "2:{\"a\"", "0:Done."}));
  ASSERT_EQ(response->content.size(), 2u);
  EXPECT_EQ(response->content[0].text, "Done.");
  EXPECT_EQ(response->content[1].tool_input_json, R"({"a":1})");
}

TEST(OpenAiWire, AServerIgnoringStreamAnswersOneCompletionHandedOnAsDeltas) {
  std::vector<std::string> texts;
  ChatStreamParser parser([&](const providers::StreamEvent& d) {
    texts.emplace_back(d.text);
    return true;
  });
  std::string_view body =
      R"( {"choices":[{"message":{"content":"The total is 42."},"finish_reason":"stop"}],)"
      R"("usage":{"prompt_tokens":12,"completion_tokens":6}})";
  ASSERT_TRUE(parser.feed(body.substr(0, 10)));
  ASSERT_TRUE(parser.feed(body.substr(10)));
  auto response = parser.finish();
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(texts, std::vector<std::string>{"The total is 42."});
  EXPECT_EQ(response->usage.output_tokens, 6);
}

TEST(OpenAiWire, AStreamCutShortOrOversizedIsAnUpstreamFault) {
  ChatStreamParser cut({});
  ASSERT_TRUE(cut.feed("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"));
  EXPECT_EQ(cut.finish().error().code, ErrorCode::kUnavailable);

  ChatStreamParser endless({});
  std::string line = "data: " + std::string(ChatStreamParser::kMaxLineBytes, 'x');
  EXPECT_EQ(endless.feed(line).error().code, ErrorCode::kUnavailable);

  ChatStreamParser many({});
  std::string index = "data: {\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":128}]}}]}\n";
  EXPECT_EQ(many.feed(index).error().code, ErrorCode::kUnavailable);

  ChatStreamParser stopped([](const providers::StreamEvent&) { return false; });
  EXPECT_EQ(stopped.feed("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n").error().code,
            ErrorCode::kCancelled);
}

}  // namespace
}  // namespace plinth::upstream::openai
