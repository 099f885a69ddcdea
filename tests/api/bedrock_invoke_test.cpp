// InvokeModel bodies (Anthropic Messages, Meta Llama, Titan Embeddings V2) and their streams.
#include "plinth/api/bedrock_invoke.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/http/event_stream.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

using providers::ContentBlock;
using providers::Role;
using providers::StopReason;

catalog::ModelEntry text_model() {
  catalog::ModelEntry model;
  model.id = "anthropic.claude-3-haiku-20240307-v1:0";
  return model;
}

catalog::ModelEntry embedding_model() {
  catalog::ModelEntry model;
  model.id = "amazon.titan-embed-text-v2:0";
  model.kind = catalog::ModelKind::kEmbedding;
  return model;
}

Result<InvokeRequest> parse(std::string_view body, const catalog::ModelEntry& model) {
  return parse_invoke_request(body, model, RequestLimits{});
}

std::string error_of(std::string_view body, const catalog::ModelEntry& model) {
  auto result = parse(body, model);
  EXPECT_FALSE(result.has_value()) << body;
  if (result) return "";
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return result.error().message;
}

TEST(AnthropicRequest, ParsesTheSdkCapture) {
  auto request = parse(
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":64,"messages":[{"role":"user","content":"hi"}]})",
      text_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->format, InvokeBodyFormat::kAnthropicMessages);
  EXPECT_EQ(request->inference.model_id, "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_EQ(request->inference.max_tokens, 64);
  ASSERT_EQ(request->inference.messages.size(), 1u);
  EXPECT_EQ(request->inference.messages[0].content[0].text, "hi");
}

TEST(AnthropicRequest, AllFields) {
  auto request = parse(
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":100,
          "system":[{"type":"text","text":"Be brief."}],
          "messages":[{"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
                      {"role":"assistant","content":[{"type":"tool_use","id":"tu1","name":"f","input":{"x":1}}]},
                      {"role":"user","content":[{"type":"tool_result","tool_use_id":"tu1","content":"42"}]}],
          "temperature":0.5,"top_p":0.8,"top_k":10,"stop_sequences":["\n\nHuman:"],
          "tools":[{"name":"f","description":"F","input_schema":{"type":"object"}}],
          "tool_choice":{"type":"tool","name":"f"}})",
      text_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  const auto& r = request->inference;
  EXPECT_EQ(r.system, std::vector<std::string>{"Be brief."});
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].content.size(), 2u);
  EXPECT_EQ(r.messages[1].content[0].kind, ContentBlock::Kind::kToolUse);
  EXPECT_EQ(r.messages[2].content[0].kind, ContentBlock::Kind::kToolResult);
  EXPECT_EQ(r.messages[2].content[0].text, "42");
  EXPECT_FLOAT_EQ(*r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(*r.top_p, 0.8f);
  EXPECT_EQ(r.top_k, 10);
  EXPECT_EQ(r.stop_sequences, std::vector<std::string>{"\n\nHuman:"});
  EXPECT_EQ(r.forced_tool, "f");
  EXPECT_EQ(r.tools.at(0).input_schema_json, R"({"type":"object"})");
}

TEST(AnthropicRequest, SystemAsStringAndMergedTurns) {
  auto request = parse(
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,"system":"S",
          "messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]})",
      text_model());
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->inference.system, std::vector<std::string>{"S"});
  ASSERT_EQ(request->inference.messages.size(), 1u);
  EXPECT_EQ(request->inference.messages[0].content.size(), 2u);
}

TEST(AnthropicRequest, CacheControlMarksCheckpoints) {
  auto request = parse(
      R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
          "system":[{"type":"text","text":"S","cache_control":{"type":"ephemeral"}}],
          "tools":[{"name":"t","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}],
          "messages":[{"role":"user","content":"a"},
                      {"role":"user","content":[{"type":"text","text":"b"},
                        {"type":"text","text":"c","cache_control":{"type":"ephemeral"}}]}]})",
      text_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  using Section = providers::CachePoint::Section;
  const auto& points = request->inference.cache_points;
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[0].section, Section::kSystem);
  EXPECT_EQ(points[0].count, 1u);  // through the first system block
  // The merged user turn: "a", "b", "c" — the point follows its third block.
  EXPECT_EQ(points[1].section, Section::kMessages);
  EXPECT_EQ(points[1].message, 0u);
  EXPECT_EQ(points[1].count, 3u);
  EXPECT_EQ(points[2].section, Section::kTools);
  EXPECT_EQ(points[2].count, 1u);  // after the one tool
  EXPECT_NE(error_of(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
                         "messages":[{"role":"user","content":[{"type":"text","text":"b",
                         "cache_control":{"type":"persistent"}}]}]})",
                     text_model())
                .find("cache_control"),
            std::string::npos);
}

TEST(AnthropicRequest, Rejections) {
  EXPECT_NE(error_of(R"({"max_tokens":5,"messages":[{"role":"user","content":"a"}]})", text_model())
                .find("anthropic_version"),
            std::string::npos);
  EXPECT_NE(
      error_of(
          R"({"anthropic_version":"bedrock-2023-05-31","messages":[{"role":"user","content":"a"}]})",
          text_model())
          .find("max_tokens"),
      std::string::npos);
  EXPECT_NE(error_of(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
                         "messages":[{"role":"user","content":[{"type":"image","source":{}}]}]})",
                     text_model())
                .find("image sources must be"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
                         "messages":[{"role":"assistant","content":"a"}]})",
                     text_model())
                .find("first message"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":99999,
                         "messages":[{"role":"user","content":"a"}]})",
                     text_model())
                .find("exceeds the model limit of 4096"),
            std::string::npos);
}

TEST(InvokeRequest, KindMismatchIsValidation) {
  EXPECT_NE(error_of(R"({"inputText":"hello"})", text_model()).find("text model"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"anthropic_version":"bedrock-2023-05-31","max_tokens":5,
                         "messages":[{"role":"user","content":"a"}]})",
                     embedding_model())
                .find("embedding model"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"foo":1})", text_model()).find("no supported model format"),
            std::string::npos);
}

TEST(LlamaRequest, PromptAndSampling) {
  auto request =
      parse(R"({"prompt":"<|begin_of_text|>hi","max_gen_len":32,"temperature":0.2,"top_p":0.9})",
            text_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->format, InvokeBodyFormat::kMetaLlama);
  EXPECT_EQ(request->inference.max_tokens, 32);
  EXPECT_FALSE(request->inference.max_tokens_defaulted);
  EXPECT_EQ(request->inference.messages.at(0).content.at(0).text, "<|begin_of_text|>hi");
  EXPECT_NE(error_of(R"({"prompt":""})", text_model()).find("prompt"), std::string::npos);
}

TEST(LlamaRequest, WithoutMaxGenLenTheDefaultIsMarkedForTheContextToBound) {
  auto request = parse(R"({"prompt":"hi"})", text_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->inference.max_tokens, RequestLimits{}.default_max_tokens);
  EXPECT_TRUE(request->inference.max_tokens_defaulted);
}

TEST(TitanRequest, ParsesTheSdkCapture) {
  auto request =
      parse(R"({"inputText":"hello","dimensions":256,"normalize":true})", embedding_model());
  ASSERT_TRUE(request.has_value()) << request.error().message;
  EXPECT_EQ(request->format, InvokeBodyFormat::kTitanEmbedding);
  ASSERT_EQ(request->embedding.texts.size(), 1u);
  EXPECT_EQ(request->embedding.texts[0], "hello");
  EXPECT_EQ(request->embedding.request.dimensions, 256);
  EXPECT_TRUE(request->embedding.request.normalize);
  EXPECT_EQ(request->embedding.request.model_id, "amazon.titan-embed-text-v2:0");
  EXPECT_TRUE(request->embedding.types.empty());
  EXPECT_NE(error_of(R"({"inputText":"x","dimensions":4096})", embedding_model()).find("4096"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputText":"x","normalize":"yes"})", embedding_model()).find("normalize"),
            std::string::npos);
}

providers::InferenceResponse sample_response() {
  providers::InferenceResponse response;
  response.model_id = "anthropic.claude-3-haiku-20240307-v1:0";
  response.content.push_back(ContentBlock{.text = "Hello!"});
  response.usage = {9, 3};
  response.latency_ms = 120;
  return response;
}

TEST(InvokeResponse, AnthropicShape) {
  std::string body =
      invoke_response_json(InvokeBodyFormat::kAnthropicMessages, sample_response(), "msg_bdrk_1");
  EXPECT_EQ(json::parse(body),
            json::parse(R"({"id":"msg_bdrk_1","type":"message","role":"assistant",
      "model":"anthropic.claude-3-haiku-20240307-v1:0","content":[{"type":"text","text":"Hello!"}],
      "stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":9,"output_tokens":3,
      "cache_creation_input_tokens":0,"cache_read_input_tokens":0}})"));
  providers::InferenceResponse stopped = sample_response();
  stopped.stop_reason = StopReason::kStopSequence;
  stopped.stop_sequence = "END";
  json::value v = json::parse(
      invoke_response_json(InvokeBodyFormat::kAnthropicMessages, stopped, "msg_bdrk_1"));
  EXPECT_EQ(v.at("stop_reason"), "stop_sequence");
  EXPECT_EQ(v.at("stop_sequence"), "END");
}

TEST(InvokeResponse, LlamaShape) {
  providers::InferenceResponse response = sample_response();
  response.stop_reason = StopReason::kMaxTokens;
  EXPECT_EQ(json::parse(invoke_response_json(InvokeBodyFormat::kMetaLlama, response, "")),
            json::parse(R"({"generation":"Hello!","prompt_token_count":9,
                              "generation_token_count":3,"stop_reason":"length"})"));
}

TEST(InvokeResponse, TitanEmbeddingShape) {
  providers::EmbeddingResponse response;
  response.embedding = {0.5f, -0.25f, 0.0f};
  response.input_tokens = 2;
  EmbeddingInvocation invocation;
  std::string body = titan_embedding_response_json(invocation, response);
  EXPECT_EQ(body, R"({"embedding":[0.5,-0.25,0],"embeddingsByType":{"float":[0.5,-0.25,0]},)"
                  R"("inputTextTokenCount":2})");
}

std::vector<json::value> decode_chunks(const std::vector<StreamEvent>& events) {
  std::string bytes;
  for (const StreamEvent& e : events) bytes += http::encode_event(e.type, e.payload_json);
  auto messages = http::decode_event_messages(bytes);
  EXPECT_TRUE(messages.has_value());
  std::vector<json::value> out;
  for (const auto& m : messages.value_or(std::vector<http::EventMessage>{})) {
    EXPECT_EQ(*m.header(":event-type"), "chunk");
    auto inner = decode_chunk_payload(m.payload);
    EXPECT_TRUE(inner.has_value());
    out.push_back(json::parse(inner.value_or("null")));
  }
  return out;
}

TEST(InvokeStream, AnthropicChunkSequence) {
  InvokeStreamWriter writer(InvokeBodyFormat::kAnthropicMessages, "msg_bdrk_1", "m");
  std::vector<StreamEvent> events = writer.start();
  for (auto& e : writer.delta(providers::StreamEvent::text_delta("Hel"))) events.push_back(e);
  for (auto& e : writer.delta(providers::StreamEvent::text_delta("lo!"))) events.push_back(e);
  for (auto& e : writer.finish(sample_response(), 15)) events.push_back(e);
  auto chunks = decode_chunks(events);
  ASSERT_EQ(chunks.size(), 7u);
  std::vector<std::string> types;
  for (const auto& c : chunks) types.emplace_back(c.at("type").as_string());
  EXPECT_EQ(types,
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_delta", "content_block_stop", "message_delta",
                                      "message_stop"}));
  EXPECT_EQ(chunks[0].at("message").at("id"), "msg_bdrk_1");
  EXPECT_EQ(chunks[2], json::parse(R"({"type":"content_block_delta","index":0,
                                        "delta":{"type":"text_delta","text":"Hel"}})"));
  EXPECT_EQ(chunks[5], json::parse(R"({"type":"message_delta",
      "delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":3,
      "cache_creation_input_tokens":0,"cache_read_input_tokens":0}})"));
  EXPECT_EQ(chunks[6], json::parse(R"({"type":"message_stop","amazon-bedrock-invocationMetrics":
      {"inputTokenCount":9,"outputTokenCount":3,"invocationLatency":120,"firstByteLatency":15}})"));
}

TEST(InvokeStream, LlamaChunks) {
  InvokeStreamWriter writer(InvokeBodyFormat::kMetaLlama, "", "m");
  std::vector<StreamEvent> events = writer.start();
  EXPECT_TRUE(events.empty());
  for (auto& e : writer.delta(providers::StreamEvent::text_delta("Hi"))) events.push_back(e);
  // Llama bodies have no tool blocks.
  EXPECT_TRUE(writer.delta(providers::StreamEvent::tool_use_start("t", "f")).empty());
  for (auto& e : writer.finish(sample_response(), 5)) events.push_back(e);
  auto chunks = decode_chunks(events);
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], json::parse(R"({"generation":"Hi","prompt_token_count":null,
                                        "generation_token_count":1,"stop_reason":null})"));
  EXPECT_EQ(chunks[1].at("stop_reason"), "stop");
  EXPECT_EQ(chunks[1].at("prompt_token_count"), 9);
  EXPECT_EQ(chunks[1].at("amazon-bedrock-invocationMetrics").at("outputTokenCount"), 3);
}

TEST(InvokeStream, AnthropicToolUseStreamsInputJsonDeltas) {
  using providers::StreamEvent;
  InvokeStreamWriter writer(InvokeBodyFormat::kAnthropicMessages, "msg_bdrk_1", "m");
  std::vector<api::StreamEvent> events = writer.start();
  for (const StreamEvent& piece :
       {StreamEvent::text_delta("Sure."), StreamEvent::tool_use_start("toolu_1", "lookup"),
        StreamEvent::tool_use_input("{\"q\":"), StreamEvent::tool_use_input("1}")}) {
    for (auto& e : writer.delta(piece)) events.push_back(e);
  }
  providers::InferenceResponse response = sample_response();
  response.stop_reason = providers::StopReason::kToolUse;
  for (auto& e : writer.finish(response, 15)) events.push_back(e);
  auto chunks = decode_chunks(events);
  std::vector<std::string> types;
  for (const auto& c : chunks) types.emplace_back(c.at("type").as_string());
  EXPECT_EQ(types,
            (std::vector<std::string>{"message_start", "content_block_start", "content_block_delta",
                                      "content_block_stop", "content_block_start",
                                      "content_block_delta", "content_block_delta",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(chunks[4], json::parse(R"({"type":"content_block_start","index":1,"content_block":
      {"type":"tool_use","id":"toolu_1","name":"lookup","input":{}}})"));
  EXPECT_EQ(chunks[6], json::parse(R"({"type":"content_block_delta","index":1,
      "delta":{"type":"input_json_delta","partial_json":"1}"}})"));
  EXPECT_EQ(chunks[8].at("delta").at("stop_reason"), "tool_use");
}

TEST(InvokeStream, ExceptionUsesStreamName) {
  StreamEvent e = InvokeStreamWriter::exception(Error(ErrorCode::kTimeout, "slow"));
  EXPECT_EQ(e.kind, StreamEvent::Kind::kException);
  EXPECT_EQ(e.type, "modelTimeoutException");
  EXPECT_EQ(json::parse(e.payload_json), json::parse(R"({"message":"slow"})"));
}

}  // namespace
}  // namespace plinth::api
