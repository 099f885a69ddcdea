// Titan Text Embeddings V2 and Cohere Embed v3 bodies: parsing with every bound reached, the
// responses in each model's shape and the quantized forms; and the CountTokens envelope.
#include "plinth/api/bedrock_embeddings.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "plinth/api/bedrock_count_tokens.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;

catalog::ModelEntry embedding_model() {
  catalog::ModelEntry model;
  model.id = "bge-embed";
  model.kind = catalog::ModelKind::kEmbedding;
  return model;
}

Result<InvokeRequest> parse(std::string_view body) {
  return parse_invoke_request(body, embedding_model(), RequestLimits{});
}

std::string error_of(std::string_view body) {
  auto result = parse(body);
  EXPECT_FALSE(result.has_value()) << body;
  if (result) return "";
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return result.error().message;
}

std::string cohere_body(const std::string& texts_json, std::string_view extra = "") {
  return R"({"texts":)" + texts_json + R"(,"input_type":"search_document")" + std::string(extra) +
         "}";
}

TEST(TitanEmbeddingRequest, DefaultsToTitansSizeAndOffersItsThreeSizes) {
  auto request = parse(R"({"inputText":"hello"})");
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->embedding.request.dimensions, 1024);
  EXPECT_TRUE(request->embedding.request.normalize);
  EXPECT_EQ(request->embedding.request.sizes_offered, (std::vector<int32_t>{256, 512, 1024}));
  EXPECT_EQ(request->embedding.request.model_id, "bge-embed");
  for (int size : {256, 512, 1024}) {
    auto sized = parse(R"({"inputText":"x","dimensions":)" + std::to_string(size) + "}");
    ASSERT_TRUE(sized);
    EXPECT_EQ(sized->embedding.request.dimensions, size);
  }
  for (std::string_view bad : {"8", "0", "-1", "768", "2048", "512.5", "\"512\""}) {
    std::string message = error_of(R"({"inputText":"x","dimensions":)" + std::string(bad) + "}");
    EXPECT_NE(message.find("dimensions"), std::string::npos) << message;
  }
  auto raw = parse(R"({"inputText":"x","normalize":false})");
  ASSERT_TRUE(raw);
  EXPECT_FALSE(raw->embedding.request.normalize);
}

TEST(TitanEmbeddingRequest, EmbeddingTypesAreFloatBinaryOrBoth) {
  auto both = parse(R"({"inputText":"x","embeddingTypes":["binary","float"]})");
  ASSERT_TRUE(both) << both.error().message;
  EXPECT_EQ(both->embedding.types,
            (std::vector<EmbeddingType>{EmbeddingType::kBinary, EmbeddingType::kFloat}));
  EXPECT_NE(error_of(R"({"inputText":"x","embeddingTypes":[]})").find("embeddingTypes"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputText":"x","embeddingTypes":["int8"]})").find("float, binary"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputText":"x","embeddingTypes":[""]})").find("embeddingTypes"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputText":"x","embeddingTypes":["float","float"]})").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"inputText":"x","embeddingTypes":"float"})").find("embeddingTypes"),
            std::string::npos);
}

TEST(TitanEmbeddingRequest, InputTextIsBoundedInCharacters) {
  std::string at_limit(kMaxTitanInputCharacters, 'a');
  EXPECT_TRUE(parse(R"({"inputText":")" + at_limit + "\"}"));
  EXPECT_NE(error_of(R"({"inputText":")" + at_limit + "a\"}").find("50000"), std::string::npos);
  // Characters, not bytes: 50,000 two-byte characters fit.
  std::string wide;
  for (size_t i = 0; i < kMaxTitanInputCharacters; ++i) wide += "\xc3\xa9";
  EXPECT_TRUE(parse(R"({"inputText":")" + wide + "\"}"));
  EXPECT_NE(error_of(R"({"inputText":""})").find("inputText"), std::string::npos);
}

TEST(CohereEmbeddingRequest, ParsesEveryField) {
  auto request =
      parse(cohere_body(R"(["a","b"])", R"(,"truncate":"END","embedding_types":["int8","float"])"));
  ASSERT_TRUE(request) << request.error().message;
  EXPECT_EQ(request->format, InvokeBodyFormat::kCohereEmbedding);
  EXPECT_EQ(request->embedding.texts, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(request->embedding.request.truncation, providers::EmbeddingTruncation::kEnd);
  EXPECT_EQ(request->embedding.request.dimensions, 1024);
  EXPECT_EQ(request->embedding.types,
            (std::vector<EmbeddingType>{EmbeddingType::kInt8, EmbeddingType::kFloat}));
  auto plain = parse(cohere_body(R"(["a"])"));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->embedding.request.truncation, providers::EmbeddingTruncation::kNone);
  EXPECT_TRUE(plain->embedding.types.empty());
  auto start = parse(cohere_body(R"(["a"])", R"(,"truncate":"START")"));
  ASSERT_TRUE(start);
  EXPECT_EQ(start->embedding.request.truncation, providers::EmbeddingTruncation::kStart);
  for (std::string_view type : {"search_query", "classification", "clustering"}) {
    EXPECT_TRUE(parse(R"({"texts":["a"],"input_type":")" + std::string(type) + "\"}"));
  }
}

TEST(CohereEmbeddingRequest, RefusesBadFields) {
  EXPECT_NE(error_of(R"({"texts":["a"]})").find("input_type"), std::string::npos);
  EXPECT_NE(error_of(R"({"texts":["a"],"input_type":"search"})").find("input_type"),
            std::string::npos);
  EXPECT_NE(error_of(cohere_body("[]")).find("texts"), std::string::npos);
  EXPECT_NE(error_of(cohere_body("[1]")).find("texts.0"), std::string::npos);
  EXPECT_NE(error_of(cohere_body(R"(["a",""])")).find("texts.1"), std::string::npos);
  EXPECT_NE(error_of(cohere_body(R"(["a"])", R"(,"truncate":"LEFT")")).find("truncate"),
            std::string::npos);
  EXPECT_NE(error_of(cohere_body(R"(["a"])", R"(,"embedding_types":["float16"])")).find("ubinary"),
            std::string::npos);
  EXPECT_NE(error_of(cohere_body(R"(["a"])", R"(,"images":["data:image/png;base64,AA=="])"))
                .find("images"),
            std::string::npos);
}

TEST(CohereEmbeddingRequest, TextCountAndLengthAreBounded) {
  auto texts = [](size_t count, size_t length) {
    std::string out = "[";
    for (size_t i = 0; i < count; ++i) out += (i ? ",\"" : "\"") + std::string(length, 'w') + "\"";
    return out + "]";
  };
  EXPECT_TRUE(parse(cohere_body(texts(kMaxCohereTexts, 3))));
  EXPECT_NE(error_of(cohere_body(texts(kMaxCohereTexts + 1, 3))).find("96"), std::string::npos);
  EXPECT_TRUE(parse(cohere_body(texts(1, kMaxCohereTextCharacters))));
  EXPECT_NE(error_of(cohere_body(texts(1, kMaxCohereTextCharacters + 1))).find("2048"),
            std::string::npos);
}

TEST(EmbeddingBodies, BelongOnlyToEmbeddingModels) {
  catalog::ModelEntry text_model;
  text_model.id = "qwen2-small";
  auto refused = parse_invoke_request(cohere_body(R"(["a"])"), text_model, RequestLimits{});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("text model"), std::string::npos);
}

TEST(EmbeddingQuantization, SignBitsInt8AndPackedBits) {
  std::vector<float> values = {0.5f, -0.25f, 0.0f, 1.0f, -1.0f, 0.1f, -0.1f, 0.2f, 0.3f};
  EXPECT_EQ(sign_bits(values), (std::vector<int>{1, 0, 0, 1, 0, 1, 0, 1, 1}));
  EXPECT_EQ(quantize_int8(values, false),
            (std::vector<int>{64, -32, 0, 127, -127, 13, -13, 25, 38}));
  EXPECT_EQ(quantize_int8(values, true),
            (std::vector<int>{192, 96, 128, 255, 1, 141, 115, 153, 166}));
  // 1,0,0,1,0,1,0,1 = 0x95 = 149; then 1 followed by seven zero bits = 128.
  EXPECT_EQ(pack_sign_bits(values, true), (std::vector<int>{149, 128}));
  EXPECT_EQ(pack_sign_bits(values, false), (std::vector<int>{21, 0}));
}

TEST(EmbeddingResponses, TitanByTypeHasTheSignsOfTheFloats) {
  EmbeddingInvocation invocation;
  invocation.types = {EmbeddingType::kFloat, EmbeddingType::kBinary};
  providers::EmbeddingResponse response;
  response.embedding = {0.5f, -0.25f, 0.0f};
  response.input_tokens = 4;
  json::value body = json::parse(titan_embedding_response_json(invocation, response));
  EXPECT_EQ(body, json::parse(R"({"embedding":[0.5,-0.25,0],"embeddingsByType":{
      "float":[0.5,-0.25,0],"binary":[1,0,0]},"inputTextTokenCount":4})"));
  invocation.types = {EmbeddingType::kBinary};
  body = json::parse(titan_embedding_response_json(invocation, response));
  EXPECT_FALSE(body.at("embeddingsByType").as_object().contains("float"));
  EXPECT_EQ(body.at("embedding").as_array().size(), 3u);
}

TEST(EmbeddingResponses, CohereFloatsAndByTypeShapes) {
  EmbeddingInvocation invocation;
  invocation.texts = {"first \"one\"", "second"};
  std::vector<providers::EmbeddingResponse> results(2);
  results[0].embedding = {1.0f, -0.5f};
  results[1].embedding = {-1.0f, 0.5f};
  json::value floats = json::parse(cohere_embedding_response_json(invocation, results, "id-1"));
  EXPECT_EQ(floats, json::parse(R"({"embeddings":[[1,-0.5],[-1,0.5]],"id":"id-1",
      "response_type":"embeddings_floats","texts":["first \"one\"","second"]})"));
  invocation.types = {EmbeddingType::kUbinary, EmbeddingType::kInt8};
  json::value typed = json::parse(cohere_embedding_response_json(invocation, results, "id-2"));
  EXPECT_EQ(typed.at("response_type"), "embeddings_by_type");
  EXPECT_EQ(typed.at("embeddings"),
            json::parse(R"({"ubinary":[[128],[64]],"int8":[[127,-64],[-127,64]]})"));
}

TEST(CountTokensRequest, UnwrapsConverseAndInvokeModelBodies) {
  auto converse = parse_count_tokens_request(
      R"({"input":{"converse":{"messages":[{"role":"user","content":[{"text":"hi"}]}]}}})");
  ASSERT_TRUE(converse) << converse.error().message;
  EXPECT_EQ(converse->kind, CountTokensInput::Kind::kConverse);
  EXPECT_EQ(json::value(converse->converse),
            json::parse(R"({"messages":[{"role":"user","content":[{"text":"hi"}]}]})"));
  std::string invoke_body = R"({"prompt":"hello"})";
  auto invoke = parse_count_tokens_request(R"({"input":{"invokeModel":{"body":")" +
                                           base64_encode(invoke_body) + "\"}}}");
  ASSERT_TRUE(invoke) << invoke.error().message;
  EXPECT_EQ(invoke->kind, CountTokensInput::Kind::kInvokeModel);
  EXPECT_EQ(invoke->body, invoke_body);
  EXPECT_EQ(count_tokens_response_json(42), R"({"inputTokens":42})");
}

TEST(CountTokensRequest, RefusesAnythingButExactlyOneInput) {
  for (std::string_view body :
       {R"({})", R"({"input":{}})", R"({"input":[]})", R"({"input":{"converse":[]}})",
        R"({"input":{"converse":{},"invokeModel":{"body":""}}})",
        R"({"input":{"converse":{},"other":1}})", R"({"input":{"invokeModel":{}}})",
        R"({"input":{"invokeModel":{"body":"***"}}})", R"({"input":{"invokeModel":{"body":1}}})",
        "not json"}) {
    auto parsed = parse_count_tokens_request(body);
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument) << body;
  }
}

}  // namespace
}  // namespace plinth::api
