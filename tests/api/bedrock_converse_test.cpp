// Converse request validation, response JSON and the ConverseStream event sequence.
#include "plinth/api/bedrock_converse.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/http/event_stream.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

using providers::ContentBlock;
using providers::Role;
using providers::StopReason;

Result<providers::InferenceRequest> parse(std::string_view body, int32_t max_tokens = 4096) {
  RequestLimits limits;
  limits.max_tokens = max_tokens;
  return parse_converse_request(body, limits);
}

std::string error_of(std::string_view body) {
  auto result = parse(body);
  EXPECT_FALSE(result.has_value()) << body;
  if (result) return "";
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return result.error().message;
}

TEST(ConverseRequest, ParsesTheSdkCapture) {
  auto request = parse(
      R"({"messages":[{"role":"user","content":[{"text":"Extract the invoice total: 120,50 €"}]}],)"
      R"("system":[{"text":"Answer in JSON."}],"inferenceConfig":{"maxTokens":64,"temperature":0}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_EQ(request->messages.size(), 1u);
  EXPECT_EQ(request->messages[0].role, Role::kUser);
  EXPECT_EQ(request->messages[0].content[0].text, "Extract the invoice total: 120,50 €");
  EXPECT_EQ(request->system, std::vector<std::string>{"Answer in JSON."});
  EXPECT_EQ(request->max_tokens, 64);
  ASSERT_TRUE(request->temperature.has_value());
  EXPECT_EQ(*request->temperature, 0.0f);
  EXPECT_FALSE(request->top_p.has_value());
  EXPECT_TRUE(request->model_id.empty());
}

TEST(ConverseRequest, DefaultsMaxTokensFromLimits) {
  auto request = parse(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})");
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->max_tokens, RequestLimits{}.default_max_tokens);
}

// The provider fits a defaulted max tokens to the context; a value the caller gave stays exact.
TEST(ConverseRequest, MarksMaxTokensAsDefaultedOnlyWhenTheCallerGaveNone) {
  auto none = parse(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->max_tokens_defaulted);
  auto config_without = parse(
      R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"temperature":1}})");
  ASSERT_TRUE(config_without.has_value());
  EXPECT_TRUE(config_without->max_tokens_defaulted);
  auto given = parse(
      R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],"inferenceConfig":{"maxTokens":512}})");
  ASSERT_TRUE(given.has_value());
  EXPECT_FALSE(given->max_tokens_defaulted);
  EXPECT_EQ(given->max_tokens, 512);
}

TEST(ConverseRequest, ReadsSamplingStopsAndTopK) {
  auto request = parse(
      R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],
          "inferenceConfig":{"topP":0.9,"stopSequences":["END","\n\n"]},
          "additionalModelRequestFields":{"top_k":40,"seed":7}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_FLOAT_EQ(*request->top_p, 0.9f);
  EXPECT_EQ(request->stop_sequences, (std::vector<std::string>{"END", "\n\n"}));
  EXPECT_EQ(request->top_k, 40);
  EXPECT_EQ(request->seed, 7u);
  auto unseeded = parse(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})");
  ASSERT_TRUE(unseeded.has_value());
  EXPECT_FALSE(unseeded->seed.has_value());
  EXPECT_FALSE(parse(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}],
                         "additionalModelRequestFields":{"seed":"x"}})")
                   .has_value());
}

TEST(ConverseRequest, ToolConfigAndForcedTool) {
  auto request = parse(
      R"({"messages":[{"role":"user","content":[{"text":"weather?"}]},
                      {"role":"assistant","content":[{"toolUse":{"toolUseId":"t1","name":"get_weather","input":{"city":"Oslo"}}}]},
                      {"role":"user","content":[{"toolResult":{"toolUseId":"t1","content":[{"json":{"temp":3}},{"text":"cold"}]}}]}],
          "toolConfig":{"tools":[{"toolSpec":{"name":"get_weather","description":"Weather",
                                              "inputSchema":{"json":{"type":"object","properties":{"city":{"type":"string"}}}}}}],
                        "toolChoice":{"tool":{"name":"get_weather"}}}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_EQ(request->tools.size(), 1u);
  EXPECT_EQ(request->tools[0].name, "get_weather");
  EXPECT_EQ(request->tools[0].description, "Weather");
  EXPECT_EQ(json::parse(request->tools[0].input_schema_json),
            json::parse(R"({"type":"object","properties":{"city":{"type":"string"}}})"));
  EXPECT_EQ(request->forced_tool, "get_weather");
  const ContentBlock& use = request->messages[1].content[0];
  EXPECT_EQ(use.kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(use.tool_use_id, "t1");
  EXPECT_EQ(json::parse(use.tool_input_json), json::parse(R"({"city":"Oslo"})"));
  const ContentBlock& result = request->messages[2].content[0];
  EXPECT_EQ(result.kind, ContentBlock::Kind::kToolResult);
  EXPECT_EQ(result.text, "{\"temp\":3}\ncold");
}

TEST(ConverseRequest, ToolChoiceAutoAndAny) {
  const std::string tools =
      R"("tools":[{"toolSpec":{"name":"a","inputSchema":{"json":{"type":"object"}}}}])";
  auto with_auto =
      parse(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{)" + tools +
            R"(,"toolChoice":{"auto":{}}}})");
  ASSERT_TRUE(with_auto.has_value());
  EXPECT_FALSE(with_auto->forced_tool.has_value());
  auto with_any = parse(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{)" +
                        tools + R"(,"toolChoice":{"any":{}}}})");
  ASSERT_TRUE(with_any.has_value());
  EXPECT_EQ(with_any->forced_tool, "a");
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],"toolConfig":{)" +
                     tools + R"(,"toolChoice":{"tool":{"name":"b"}}}})")
                .find("'b'"),
            std::string::npos);
}

TEST(ConverseRequest, OutputConfigJsonSchema) {
  auto request = parse(
      R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
          "outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":
            {"name":"invoice","schema":"{\"type\":\"object\",\"required\":[\"total\"]}"}}}}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_TRUE(request->output_schema_json.has_value());
  EXPECT_EQ(json::parse(*request->output_schema_json),
            json::parse(R"({"type":"object","required":["total"]})"));
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
          "outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":
            {"schema":"{not json"}}}}})")
                .find("schema"),
            std::string::npos);
}

TEST(ConverseRequest, AnthropicOutputFormatInAdditionalFields) {
  const std::string messages = R"("messages":[{"role":"user","content":[{"text":"x"}]}])";
  auto request = parse("{" + messages + R"(,"additionalModelRequestFields":{"output_config":
      {"format":{"type":"json_schema","schema":{"type":"object","required":["total"]}}}}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  ASSERT_TRUE(request->output_schema_json.has_value());
  EXPECT_EQ(json::parse(*request->output_schema_json),
            json::parse(R"({"type":"object","required":["total"]})"));
  EXPECT_NE(
      error_of("{" + messages +
               R"(,"additionalModelRequestFields":{"output_config":{"format":{"type":"text"}}}})")
          .find("output_config.format.type"),
      std::string::npos);
  EXPECT_NE(error_of("{" + messages + R"(,"additionalModelRequestFields":{"output_config":
      {"format":{"type":"json_schema","schema":{"type":"object"}}}},
      "outputConfig":{"textFormat":{"type":"json_schema","structure":{"jsonSchema":
        {"schema":"{\"type\":\"object\"}"}}}}})")
                .find("not both"),
            std::string::npos);
}

TEST(ConverseRequest, RejectsMalformedBodies) {
  EXPECT_NE(error_of("{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of("[1]").find("JSON object"), std::string::npos);
  EXPECT_NE(error_of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":\"\xff\"}]}]}")
                .find("UTF-8"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":"hi"})").find("messages"), std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":5}]}]})")
                .find("messages.0.content.0.text"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"a","image":{}}]}]})")
                .find("exactly one"),
            std::string::npos);
}

TEST(ConverseRequest, RejectsBadConversations) {
  EXPECT_NE(error_of(R"({"messages":[]})").find("must start with a user message"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"assistant","content":[{"text":"x"}]}]})")
                .find("must start with a user message"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"a"}]},
                                     {"role":"user","content":[{"text":"b"}]}]})")
                .find("alternate"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"system","content":[{"text":"a"}]}]})")
                .find("enum value set: [user, assistant]"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[]}]})").find("messages.0 is empty"),
            std::string::npos);
}

TEST(ConverseRequest, RejectsImageAndUnreadableDocument) {
  std::string image = error_of(
      R"({"messages":[{"role":"user","content":[{"image":{"format":"png","source":{"bytes":"AA=="}}}]}]})");
  EXPECT_NE(image.find("doesn't support the image content block"), std::string::npos);
  std::string document = error_of(
      R"({"messages":[{"role":"user","content":[{"document":{"format":"pdf","name":"d","source":{"bytes":"AA=="}}}]}]})");
  EXPECT_NE(document.find("The document 'd' (format pdf) could not be read: the document is not a "
                          "PDF"),
            std::string::npos)
      << document;
}

TEST(ConverseRequest, MaxTokensRange) {
  EXPECT_EQ(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
                         "inferenceConfig":{"maxTokens":0}})"),
            "1 validation error detected: Value '0' at 'inferenceConfig.maxTokens' failed to "
            "satisfy constraint: Member must have value greater than or equal to 1");
  EXPECT_EQ(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
                         "inferenceConfig":{"maxTokens":5000}})"),
            "The maximum tokens you requested exceeds the model limit of 4096. Try again with a "
            "maximum tokens value that is lower than 4096.");
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
                         "inferenceConfig":{"maxTokens":"64"}})")
                .find("inferenceConfig.maxTokens"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"x"}]}],
                         "inferenceConfig":{"temperature":1.5}})")
                .find("between 0 and 1"),
            std::string::npos);
}

providers::InferenceResponse sample_response() {
  providers::InferenceResponse response;
  response.model_id = "m";
  response.content.push_back(ContentBlock{.text = "The total is 120.50"});
  response.stop_reason = StopReason::kEndTurn;
  response.usage = {12, 7};
  response.latency_ms = 345;
  return response;
}

TEST(ConverseResponse, ExactShapeWithIntegers) {
  std::string body = converse_response_json(sample_response());
  EXPECT_EQ(json::parse(body), json::parse(R"({
      "output":{"message":{"role":"assistant","content":[{"text":"The total is 120.50"}]}},
      "stopReason":"end_turn",
      "usage":{"inputTokens":12,"outputTokens":7,"totalTokens":19},
      "metrics":{"latencyMs":345}})"));
  // Integers, not floats: no decimal point or exponent after the counts.
  EXPECT_NE(body.find("\"totalTokens\":19}"), std::string::npos);
  EXPECT_NE(body.find("\"latencyMs\":345}"), std::string::npos);
}

TEST(ConverseResponse, ToolUseAndTrace) {
  providers::InferenceResponse response = sample_response();
  response.content.clear();
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "tooluse_1";
  use.tool_name = "get_weather";
  use.tool_input_json = R"({"city":"Oslo"})";
  response.content.push_back(use);
  response.stop_reason = StopReason::kToolUse;
  ResponseTrace trace;
  trace.prompt_router_invoked_model_id = "arn:aws:bedrock:us-east-1::foundation-model/m";
  json::value body = json::parse(converse_response_json(response, trace));
  EXPECT_EQ(body.at("output").at("message").at("content").at(0),
            json::parse(R"({"toolUse":{"toolUseId":"tooluse_1","name":"get_weather",
                              "input":{"city":"Oslo"}}})"));
  EXPECT_EQ(body.at("stopReason"), "tool_use");
  EXPECT_EQ(body.at("trace").at("promptRouter").at("invokedModelId"),
            "arn:aws:bedrock:us-east-1::foundation-model/m");
}

TEST(ConverseRequest, CachePointsInSystemMessagesAndTools) {
  auto request = parse(
      R"({"system":[{"text":"a"},{"cachePoint":{"type":"default"}},{"text":"b"}],)"
      R"("messages":[{"role":"user","content":[{"text":"doc"},{"cachePoint":{"type":"default"}},)"
      R"({"text":"question"}]}],)"
      R"("toolConfig":{"tools":[{"toolSpec":{"name":"t","inputSchema":{"json":{"type":"object"}}}},)"
      R"({"cachePoint":{"type":"default"}}]}})");
  ASSERT_TRUE(request.has_value()) << request.error().message;
  using Section = providers::CachePoint::Section;
  ASSERT_EQ(request->cache_points.size(), 3u);
  // Messages are parsed first; each point records what precedes it in its section.
  EXPECT_EQ(request->cache_points[0].section, Section::kMessages);
  EXPECT_EQ(request->cache_points[0].message, 0u);
  EXPECT_EQ(request->cache_points[0].count, 1u);
  EXPECT_EQ(request->cache_points[1].section, Section::kSystem);
  EXPECT_EQ(request->cache_points[1].count, 1u);
  EXPECT_EQ(request->cache_points[2].section, Section::kTools);
  EXPECT_EQ(request->cache_points[2].count, 1u);  // after the one tool
  // The cache points are not content: the message keeps its two text blocks.
  ASSERT_EQ(request->messages[0].content.size(), 2u);
  EXPECT_EQ(request->system, (std::vector<std::string>{"a", "b"}));
}

TEST(ConverseRequest, CachePointsAreBoundedAndTyped) {
  std::string body = R"({"system":[)";
  for (int i = 0; i < 5; ++i) body += R"({"text":"s"},{"cachePoint":{"type":"default"}},)";
  body += R"({"text":"s"}],"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  EXPECT_NE(error_of(body).find("maximum of 4"), std::string::npos);
  body = R"({"system":[)";
  for (int i = 0; i < 4; ++i) body += R"({"text":"s"},{"cachePoint":{"type":"default"}},)";
  body += R"({"text":"s"}],"messages":[{"role":"user","content":[{"text":"hi"}]}]})";
  EXPECT_TRUE(parse(body).has_value());  // exactly 4
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":[{"text":"hi"},)"
                     R"({"cachePoint":{"type":"ephemeral"}}]}]})")
                .find("messages.0.content.1.cachePoint"),
            std::string::npos);
}

TEST(ConverseResponse, CacheTokensLeaveInputTokens) {
  providers::InferenceResponse response = sample_response();  // 12 input, 7 output
  response.usage.cache_read_input_tokens = 8;
  response.usage.cache_write_input_tokens = 3;
  json::value body = json::parse(converse_response_json(response));
  EXPECT_EQ(body.at("usage"), json::parse(R"({"inputTokens":1,"outputTokens":7,"totalTokens":19,
                                             "cacheReadInputTokens":8,
                                             "cacheWriteInputTokens":3})"));
  ConverseStreamWriter writer;
  writer.message_start();
  auto events = writer.finish(response);
  json::value metadata = json::parse(events.back().payload_json);
  EXPECT_EQ(metadata.at("usage"), body.at("usage"));
}

TEST(ConverseResponse, StopReasons) {
  EXPECT_EQ(converse_stop_reason(StopReason::kMaxTokens), "max_tokens");
  EXPECT_EQ(converse_stop_reason(StopReason::kStopSequence), "stop_sequence");
  EXPECT_EQ(converse_stop_reason(StopReason::kEndTurn), "end_turn");
}

// Encodes events the way the gateway does and decodes the frames back.
std::vector<http::EventMessage> round_trip(const std::vector<StreamEvent>& events) {
  std::string bytes;
  for (const StreamEvent& e : events) {
    bytes += e.kind == StreamEvent::Kind::kEvent ? http::encode_event(e.type, e.payload_json)
                                                 : http::encode_exception(e.type, e.payload_json);
  }
  auto decoded = http::decode_event_messages(bytes);
  EXPECT_TRUE(decoded.has_value());
  return decoded.value_or(std::vector<http::EventMessage>{});
}

TEST(ConverseStream, EventSequenceDecodesBack) {
  ConverseStreamWriter writer;
  std::vector<StreamEvent> events;
  events.push_back(writer.message_start());
  EXPECT_TRUE(writer.delta(providers::StreamEvent::text_delta("")).empty());
  for (auto& e : writer.delta(providers::StreamEvent::text_delta("The total ")))
    events.push_back(e);
  for (auto& e : writer.delta(providers::StreamEvent::text_delta("is 120.50"))) events.push_back(e);
  for (auto& e : writer.finish(sample_response())) events.push_back(e);
  auto messages = round_trip(events);
  ASSERT_EQ(messages.size(), 6u);
  const char* types[] = {"messageStart",     "contentBlockDelta", "contentBlockDelta",
                         "contentBlockStop", "messageStop",       "metadata"};
  for (size_t i = 0; i < messages.size(); ++i) {
    ASSERT_NE(messages[i].header(":event-type"), nullptr);
    EXPECT_EQ(*messages[i].header(":event-type"), types[i]);
    EXPECT_EQ(*messages[i].header(":message-type"), "event");
    EXPECT_EQ(*messages[i].header(":content-type"), "application/json");
  }
  EXPECT_EQ(json::parse(messages[0].payload), json::parse(R"({"role":"assistant"})"));
  EXPECT_EQ(json::parse(messages[1].payload),
            json::parse(R"({"delta":{"text":"The total "},"contentBlockIndex":0})"));
  EXPECT_EQ(json::parse(messages[3].payload), json::parse(R"({"contentBlockIndex":0})"));
  EXPECT_EQ(json::parse(messages[4].payload), json::parse(R"({"stopReason":"end_turn"})"));
  EXPECT_EQ(json::parse(messages[5].payload),
            json::parse(R"({"usage":{"inputTokens":12,"outputTokens":7,"totalTokens":19},
                              "metrics":{"latencyMs":345}})"));
}

TEST(ConverseStream, UnstreamedTextAndToolUseComeAtFinish) {
  providers::InferenceResponse response = sample_response();
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "t";
  use.tool_name = "f";
  use.tool_input_json = R"({"a":1})";
  response.content.push_back(use);
  ConverseStreamWriter writer;
  auto messages = round_trip(writer.finish(response));
  ASSERT_EQ(messages.size(), 7u);
  EXPECT_EQ(json::parse(messages[0].payload),
            json::parse(R"({"delta":{"text":"The total is 120.50"},"contentBlockIndex":0})"));
  EXPECT_EQ(*messages[2].header(":event-type"), "contentBlockStart");
  EXPECT_EQ(
      json::parse(messages[2].payload),
      json::parse(R"({"start":{"toolUse":{"toolUseId":"t","name":"f"}},"contentBlockIndex":1})"));
  EXPECT_EQ(json::parse(messages[3].payload),
            json::parse(R"({"delta":{"toolUse":{"input":"{\"a\":1}"}},"contentBlockIndex":1})"));
}

TEST(ConverseStream, ToolUseInputStreamsInBlocksAfterText) {
  using providers::StreamEvent;
  ConverseStreamWriter writer;
  std::vector<StreamEvent> pieces = {
      StreamEvent::text_delta("Let me look."), StreamEvent::tool_use_start("tooluse_1", "lookup"),
      StreamEvent::tool_use_input("{\"q\":"), StreamEvent::tool_use_input("\"x\"}")};
  std::vector<api::StreamEvent> events;
  for (const StreamEvent& piece : pieces) {
    for (auto& e : writer.delta(piece)) events.push_back(e);
  }
  providers::InferenceResponse response = sample_response();
  response.stop_reason = providers::StopReason::kToolUse;
  for (auto& e : writer.finish(response)) events.push_back(e);
  auto messages = round_trip(events);
  std::vector<std::string> types;
  for (const auto& m : messages) types.push_back(*m.header(":event-type"));
  EXPECT_EQ(types,
            (std::vector<std::string>{"contentBlockDelta", "contentBlockStop", "contentBlockStart",
                                      "contentBlockDelta", "contentBlockDelta", "contentBlockStop",
                                      "messageStop", "metadata"}));
  EXPECT_EQ(
      json::parse(messages[2].payload),
      json::parse(
          R"({"start":{"toolUse":{"toolUseId":"tooluse_1","name":"lookup"}},"contentBlockIndex":1})"));
  EXPECT_EQ(json::parse(messages[4].payload),
            json::parse(R"({"delta":{"toolUse":{"input":"\"x\"}"}},"contentBlockIndex":1})"));
  EXPECT_EQ(json::parse(messages[5].payload), json::parse(R"({"contentBlockIndex":1})"));
}

TEST(ConverseUsage, CacheTokensAreReportedApartFromInputTokens) {
  providers::InferenceResponse response = sample_response();
  response.usage = {.input_tokens = 1000,
                    .output_tokens = 7,
                    .cache_read_input_tokens = 600,
                    .cache_write_input_tokens = 300};
  json::value v = json::parse(converse_response_json(response));
  EXPECT_EQ(v.at("usage"), json::parse(R"({"inputTokens":100,"outputTokens":7,"totalTokens":1007,
                                           "cacheReadInputTokens":600,
                                           "cacheWriteInputTokens":300})"));
}

TEST(ConverseStream, ExceptionMessage) {
  auto messages = round_trip(
      {ConverseStreamWriter::exception(Error(ErrorCode::kCorruptData, "decode failed"))});
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(*messages[0].header(":message-type"), "exception");
  EXPECT_EQ(*messages[0].header(":exception-type"), "modelStreamErrorException");
  EXPECT_TRUE(json::parse(messages[0].payload).as_object().contains("message"));
}

}  // namespace
}  // namespace plinth::api
