// OpenAI-compatible chat completions (plain and SSE chunks) and embeddings wire formats.
#include "plinth/api/openai.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstring>

#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

using providers::ContentBlock;
using providers::Role;
using providers::StopReason;

std::string error_of(std::string_view body) {
  auto result = parse_chat_completion_request(body, RequestLimits{});
  EXPECT_FALSE(result.has_value()) << body;
  if (result) return "";
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return result.error().message;
}

TEST(ChatCompletionRequest, ParsesMessagesAndOptions) {
  auto request = parse_chat_completion_request(
      R"({"model":"small","messages":[{"role":"system","content":"Be terse."},
          {"role":"user","content":[{"type":"text","text":"Hello "},{"type":"text","text":"there"}]},
          {"role":"assistant","content":"Hi"},{"role":"user","content":"Total?"}],
          "max_completion_tokens":50,"temperature":1.5,"top_p":0.5,"stop":"END","seed":7,
          "stream":true,"stream_options":{"include_usage":true}})",
      RequestLimits{});
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->model, "small");
  EXPECT_TRUE(request->stream);
  EXPECT_TRUE(request->include_usage);
  const auto& r = request->inference;
  EXPECT_EQ(r.system, std::vector<std::string>{"Be terse."});
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].content[0].text, "Hello there");
  EXPECT_EQ(r.messages[1].role, Role::kAssistant);
  EXPECT_EQ(r.max_tokens, 50);
  EXPECT_FLOAT_EQ(*r.temperature, 1.5f);
  EXPECT_EQ(r.stop_sequences, std::vector<std::string>{"END"});
  EXPECT_EQ(r.seed, 7u);
}

TEST(ChatCompletionRequest, MaxTokensFallbackAndDefault) {
  auto legacy = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":12})", {});
  ASSERT_TRUE(legacy.has_value());
  EXPECT_EQ(legacy->inference.max_tokens, 12);
  auto none = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"x"}]})", {});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->inference.max_tokens, RequestLimits{}.default_max_tokens);
  EXPECT_FALSE(none->stream);
}

TEST(ChatCompletionRequest, MarksMaxTokensAsDefaultedOnlyWhenTheCallerGaveNone) {
  auto none = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"x"}]})", {});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->inference.max_tokens_defaulted);
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    auto given = parse_chat_completion_request(
        std::string(R"({"model":"m","messages":[{"role":"user","content":"x"}],")") + key +
            R"(":512})",
        {});
    ASSERT_TRUE(given.has_value()) << key;
    EXPECT_FALSE(given->inference.max_tokens_defaulted) << key;
    EXPECT_EQ(given->inference.max_tokens, 512) << key;
  }
}

TEST(ChatCompletionRequest, ResponseFormats) {
  auto schema = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],
          "response_format":{"type":"json_schema","json_schema":{"name":"r","schema":{"type":"object","properties":{"a":{"type":"integer"}}}}}})",
      {});
  ASSERT_TRUE(schema.has_value()) << schema.error().message;
  EXPECT_EQ(json::parse(*schema->inference.output_schema_json),
            json::parse(R"({"type":"object","properties":{"a":{"type":"integer"}}})"));
  auto object = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"}})",
      {});
  ASSERT_TRUE(object.has_value());
  EXPECT_EQ(*object->inference.output_schema_json, R"({"type":"object"})");
}

TEST(ChatCompletionRequest, ToolsAndToolMessages) {
  auto request = parse_chat_completion_request(
      R"({"model":"m","messages":[{"role":"user","content":"w?"},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"w","arguments":"{\"c\":1}"}}]},
          {"role":"tool","tool_call_id":"call_1","content":"sunny"}],
          "tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}],
          "tool_choice":{"type":"function","function":{"name":"w"}}})",
      {});
  ASSERT_TRUE(request.has_value()) << request.error().message;
  const auto& r = request->inference;
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[1].content[0].kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(r.messages[1].content[0].tool_input_json, R"({"c":1})");
  EXPECT_EQ(r.messages[2].content[0].kind, ContentBlock::Kind::kToolResult);
  EXPECT_EQ(r.messages[2].content[0].tool_use_id, "call_1");
  EXPECT_EQ(r.forced_tool, "w");
}

TEST(ChatCompletionRequest, Rejections) {
  EXPECT_NE(error_of(R"({"messages":[{"role":"user","content":"x"}]})").find("model"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","messages":[]})").find("messages"), std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]})")
          .find("image_url"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","messages":[{"role":"robot","content":"x"}]})").find("role"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"temperature":3})")
                .find("between 0 and 2"),
            std::string::npos);
  EXPECT_NE(
      error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"n":2})").find("n=1"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"model":"m","messages":[{"role":"user","content":"x"}],"stream":"yes"})")
                .find("stream"),
            std::string::npos);
}

providers::InferenceResponse sample_response() {
  providers::InferenceResponse response;
  response.content.push_back(ContentBlock{.text = "Hello!"});
  response.stop_reason = StopReason::kMaxTokens;
  response.usage = {5, 2, 3};
  return response;
}

TEST(ChatCompletionResponse, ExactShape) {
  std::string body =
      chat_completion_response_json(sample_response(), "chatcmpl-1", "small", 1700000000);
  EXPECT_EQ(json::parse(body), json::parse(R"({"id":"chatcmpl-1","object":"chat.completion",
      "created":1700000000,"model":"small","choices":[{"index":0,
      "message":{"role":"assistant","content":"Hello!"},"logprobs":null,"finish_reason":"length"}],
      "usage":{"prompt_tokens":5,"completion_tokens":2,"total_tokens":7,
               "prompt_tokens_details":{"cached_tokens":3}}})"));
}

TEST(ChatCompletionResponse, ToolCalls) {
  providers::InferenceResponse response;
  ContentBlock use;
  use.kind = ContentBlock::Kind::kToolUse;
  use.tool_use_id = "call_9";
  use.tool_name = "w";
  use.tool_input_json = R"({"c":1})";
  response.content.push_back(use);
  response.stop_reason = StopReason::kToolUse;
  json::value v = json::parse(chat_completion_response_json(response, "id", "m", 1));
  EXPECT_EQ(v.at("choices").at(0).at("finish_reason"), "tool_calls");
  EXPECT_TRUE(v.at("choices").at(0).at("message").at("content").is_null());
  EXPECT_EQ(
      v.at("choices").at(0).at("message").at("tool_calls").at(0),
      json::parse(
          R"({"id":"call_9","type":"function","function":{"name":"w","arguments":"{\"c\":1}"}})"));
}

TEST(ChatCompletionStream, ChunksThenDone) {
  ChatCompletionStreamWriter writer("chatcmpl-1", "small", 42);
  std::vector<std::string> lines{writer.start()};
  lines.push_back(*writer.delta(providers::StreamEvent::text_delta("Hel")));
  lines.push_back(*writer.delta(providers::StreamEvent::text_delta("lo!")));
  for (auto& l : writer.finish(sample_response(), true)) lines.push_back(l);
  ASSERT_EQ(lines.size(), 6u);
  for (size_t i = 0; i < 5; ++i) {
    json::value v = json::parse(lines[i]);
    EXPECT_EQ(v.at("object"), "chat.completion.chunk");
    EXPECT_EQ(v.at("id"), "chatcmpl-1");
    EXPECT_EQ(v.at("created"), 42);
  }
  EXPECT_EQ(json::parse(lines[0]).at("choices").at(0).at("delta"),
            json::parse(R"({"role":"assistant","content":""})"));
  EXPECT_EQ(json::parse(lines[1]).at("choices").at(0).at("delta"),
            json::parse(R"({"content":"Hel"})"));
  EXPECT_EQ(json::parse(lines[3]).at("choices").at(0).at("finish_reason"), "length");
  EXPECT_TRUE(json::parse(lines[4]).at("choices").as_array().empty());
  EXPECT_EQ(json::parse(lines[4]).at("usage").at("total_tokens"), 7);
  EXPECT_EQ(lines[5], "[DONE]");
}

TEST(ChatCompletionStream, ToolCallArgumentsStreamAsFragments) {
  using providers::StreamEvent;
  ChatCompletionStreamWriter writer("chatcmpl-1", "small", 42);
  EXPECT_FALSE(writer.delta(StreamEvent::tool_use_input("{}")).has_value());  // no call open
  std::vector<json::value> deltas;
  for (const StreamEvent& piece :
       {StreamEvent::tool_use_start("call_1", "get_weather"), StreamEvent::tool_use_input("{\"ci"),
        StreamEvent::tool_use_input("ty\":\"Oslo\"}")}) {
    deltas.push_back(json::parse(*writer.delta(piece)).at("choices").at(0).at("delta"));
  }
  EXPECT_EQ(deltas[0], json::parse(R"({"tool_calls":[{"index":0,"id":"call_1","type":"function",
                                         "function":{"name":"get_weather","arguments":""}}]})"));
  EXPECT_EQ(deltas[1],
            json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"ci"}}]})"));
  std::string arguments;
  for (size_t i = 1; i < deltas.size(); ++i) {
    arguments += deltas[i].at("tool_calls").at(0).at("function").at("arguments").as_string();
  }
  EXPECT_EQ(json::parse(arguments), json::parse(R"({"city":"Oslo"})"));
  // Streamed content is not repeated at the end.
  providers::InferenceResponse response = sample_response();
  response.stop_reason = StopReason::kToolUse;
  std::vector<std::string> tail = writer.finish(response, false);
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(json::parse(tail[0]).at("choices").at(0).at("finish_reason"), "tool_calls");
}

TEST(ChatCompletionUsage, CachedTokensArePartOfPromptTokens) {
  providers::InferenceResponse response = sample_response();
  response.usage = {.input_tokens = 100, .output_tokens = 5, .cache_read_input_tokens = 60};
  json::value v = json::parse(chat_completion_response_json(response, "id", "m", 1));
  EXPECT_EQ(v.at("usage").at("prompt_tokens"), 100);
  EXPECT_EQ(v.at("usage").at("prompt_tokens_details").at("cached_tokens"), 60);
  // The local engine's automatic prefix reuse is what OpenAI calls cached tokens too.
  response.usage = {.input_tokens = 100, .output_tokens = 5, .prefix_reused_tokens = 80};
  v = json::parse(chat_completion_response_json(response, "id", "m", 1));
  EXPECT_EQ(v.at("usage").at("prompt_tokens_details").at("cached_tokens"), 80);
}

TEST(EmbeddingsRequest, StringOrArray) {
  auto one = parse_embeddings_request(R"({"model":"e","input":"hello"})", {});
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(one->inputs, std::vector<std::string>{"hello"});
  auto many = parse_embeddings_request(
      R"({"model":"e","input":["a","b"],"dimensions":32,"encoding_format":"float"})", {});
  ASSERT_TRUE(many.has_value());
  EXPECT_EQ(many->inputs.size(), 2u);
  EXPECT_EQ(many->dimensions, 32);
  EXPECT_FALSE(many->base64);
  EXPECT_FALSE(parse_embeddings_request(R"({"model":"e","input":[1,2]})", {}).has_value());
  EXPECT_FALSE(parse_embeddings_request(R"({"model":"e","input":[]})", {}).has_value());
  EXPECT_FALSE(parse_embeddings_request(R"({"input":"x"})", {}).has_value());
  EXPECT_FALSE(parse_embeddings_request(R"({"model":"e","input":"x","encoding_format":"int8"})", {})
                   .has_value());
}

TEST(EmbeddingsResponse, ListShape) {
  providers::EmbeddingResponse a{"e", {1.0f, -0.5f}, 3};
  providers::EmbeddingResponse b{"e", {0.25f}, 2};
  std::string body = embeddings_response_json({a, b}, "e", false);
  EXPECT_EQ(json::parse(body), json::parse(R"({"object":"list","data":[
      {"object":"embedding","index":0,"embedding":[1,-0.5]},
      {"object":"embedding","index":1,"embedding":[0.25]}],
      "model":"e","usage":{"prompt_tokens":5,"total_tokens":5}})"));
}

TEST(EmbeddingsResponse, Base64IsLittleEndianFloat32) {
  providers::EmbeddingResponse a{"e", {1.0f, -2.0f}, 1};
  json::value v = json::parse(embeddings_response_json({a}, "e", true));
  auto raw = base64_decode(v.at("data").at(0).at("embedding").as_string());
  ASSERT_TRUE(raw.has_value());
  ASSERT_EQ(raw->size(), 8u);
  float values[2];
  std::memcpy(values, raw->data(), 8);
  EXPECT_EQ(values[0], 1.0f);
  EXPECT_EQ(values[1], -2.0f);
}

}  // namespace
}  // namespace plinth::api
