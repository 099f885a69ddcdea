// The Gateway's knowledge-base handlers on a real vector store: Bedrock Agent Runtime Retrieve
// (bedrock:Retrieve) and GET /v1/search (plinth:Search), their errors and their metering.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <functional>
#include <random>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/core/encoding.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace plinth::api::testing;

constexpr std::string_view kTitan = "amazon.titan-embed-text-v2:0";
constexpr std::string_view kAccount = "000000000000";
constexpr int kDims = 8;

// A deterministic embedding of the text (same text, same vector); one input token per byte.
std::vector<float> text_vector(std::string_view text) {
  std::mt19937 rng(static_cast<uint32_t>(std::hash<std::string_view>{}(text)));
  std::normal_distribution<float> normal;
  std::vector<float> v(kDims);
  for (float& x : v) x = normal(rng);
  return v;
}

class TextEmbeddingProvider final : public providers::Provider {
 public:
  Result<providers::InferenceResponse> infer(const providers::InferenceRequest&,
                                             const providers::StreamCallback&) override {
    return fail(ErrorCode::kInternal, "not a text model");
  }
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& request) override {
    requests.push_back(request);
    return providers::EmbeddingResponse{request.model_id, text_vector(request.text),
                                        static_cast<int64_t>(request.text.size())};
  }
  std::vector<providers::EmbeddingRequest> requests;
};

std::string retrieve_body(std::string_view text, int n = 5) {
  return json::serialize(json::object{
      {"retrievalQuery", {{"text", text}}},
      {"retrievalConfiguration", {{"vectorSearchConfiguration", {{"numberOfResults", n}}}}}});
}

class GatewayRetrieveTest : public ::testing::Test {
 protected:
  GatewayRetrieveTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-gateway-retrieve-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    ledger_ = std::move(*ledger::open_sqlite_ledger(*database_));
    vectors_ = std::move(*vectors::open_sqlite_vector_store(*database_));
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = std::string(kAccount);
    credentials_->principal.name = "alice";
    credentials_->principal.access_key_id = std::string(kAccessKey);
    set_policy(R"(["bedrock:Retrieve","plinth:Search"])", "*");
    Config config;
    ModelConfig titan;
    titan.id = std::string(kTitan);
    titan.kind = "embedding";
    titan.price_input_per_mtok = 1.0;
    config.models = {titan};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = make_gateway(vectors_.get());

    seed_kb(kAccount, "kb-a", "doc-1", {"Invoices are due in thirty days.", "Late fees are 2%."});
    seed_kb(kAccount, "kb-a", "doc-2", {"Refunds go to the original card."});
    seed_kb(kAccount, "kb-b", "doc-3", {"Contracts renew every year."});
    seed_kb("222222222222", "kb-other", "doc-4", {"Another account's text."});
  }
  ~GatewayRetrieveTest() override {
    gateway_.reset();
    vectors_.reset();
    ledger_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Gateway> make_gateway(vectors::VectorStore* store) {
    return std::make_unique<Gateway>(GatewayOptions{},
                                     GatewayServices{.authenticator = authenticator_,
                                                     .clock = *clock_,
                                                     .random = *random_,
                                                     .catalog = catalog_,
                                                     .provider = provider_,
                                                     .ledger = ledger_.get(),
                                                     .vectors = store});
  }

  void seed_kb(std::string_view account, std::string kb, std::string doc,
               std::vector<std::string> texts) {
    ASSERT_TRUE(vectors_->ensure_knowledge_base(account, kb, kTitan));
    std::vector<vectors::ChunkVector> chunks;
    for (size_t i = 0; i < texts.size(); ++i) {
      chunks.push_back({std::string(account), kb, doc, static_cast<int>(i), texts[i],
                        R"({"source":")" + doc + R"(.pdf"})", text_vector(texts[i])});
    }
    ASSERT_TRUE(vectors_->add(chunks));
  }

  void set_policy(std::string actions, std::string resource) {
    credentials_->principal.identity_policies = {
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" + actions +
        R"(,"Resource":")" + resource + R"("}]})"};
  }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  FakeExchange retrieve(std::string kb, std::string body) {
    return call(signed_request("/knowledgebases/" + kb + "/retrieve", std::move(body)));
  }

  static json::object body(const FakeExchange& exchange) {
    return json::parse(exchange.response->body).as_object();
  }

  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::unique_ptr<ledger::Ledger> ledger_;
  std::unique_ptr<vectors::VectorStore> vectors_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  TextEmbeddingProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayRetrieveTest, RetrieveAnswersTheMatchingChunkFirstAndMetersTheEmbedding) {
  FakeExchange exchange = retrieve("kb-a", retrieve_body("Late fees are 2%.", 2));
  ASSERT_TRUE(exchange.response);
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::array results = body(exchange)["retrievalResults"].as_array();
  ASSERT_EQ(results.size(), 2u);
  json::object first = results[0].as_object();
  EXPECT_EQ(first["content"].at("type"), "TEXT");
  EXPECT_EQ(first["content"].at("text"), "Late fees are 2%.");
  EXPECT_EQ(first["location"].at("type"), "CUSTOM");
  EXPECT_EQ(first["location"].at("customDocumentLocation").at("id"), "doc-1");
  EXPECT_NEAR(first["score"].to_number<double>(), 1.0, 1e-4);
  EXPECT_EQ(first["metadata"].at("source"), "doc-1.pdf");
  EXPECT_EQ(first["metadata"].at("x-amz-bedrock-kb-chunk-id"), "doc-1#1");
  ASSERT_EQ(provider_.requests.size(), 1u);
  EXPECT_EQ(provider_.requests[0].model_id, kTitan);
  EXPECT_EQ(provider_.requests[0].dimensions, kDims);
  EXPECT_TRUE(provider_.requests[0].normalize);

  ASSERT_TRUE(ledger_->flush());
  auto records = ledger_->recent(10);
  ASSERT_TRUE(records);
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0].operation, "Retrieve");
  EXPECT_EQ((*records)[0].model_used, kTitan);
  EXPECT_EQ((*records)[0].input_tokens, 17);
  EXPECT_EQ((*records)[0].status, "200");
}

TEST_F(GatewayRetrieveTest, RetrieveDefaultsToFiveResultsAndSearchesOneKnowledgeBase) {
  FakeExchange exchange =
      retrieve("kb-a", R"({"retrievalQuery":{"text":"Contracts renew every year."}})");
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::array results = body(exchange)["retrievalResults"].as_array();
  EXPECT_EQ(results.size(), 3u);  // all of kb-a, none of kb-b
  for (const auto& r : results)
    EXPECT_NE(r.at("location").at("customDocumentLocation").at("id"), "doc-3");
}

TEST_F(GatewayRetrieveTest, UnknownOrOtherAccountsKnowledgeBaseIsResourceNotFound) {
  for (std::string kb : {"kb-missing", "kb-other"}) {
    FakeExchange exchange = retrieve(kb, retrieve_body("text"));
    ASSERT_EQ(exchange.response->status, 404) << kb;
    EXPECT_TRUE(exchange.header("x-amzn-ErrorType").starts_with("ResourceNotFoundException"));
  }
  EXPECT_TRUE(provider_.requests.empty());
}

TEST_F(GatewayRetrieveTest, MalformedBodiesAreValidationExceptions) {
  for (std::string bad : {std::string("not json"), std::string(R"({})"),
                          std::string(R"({"retrievalQuery":{"text":""}})"),
                          std::string(R"({"retrievalQuery":{"text":5}})"), retrieve_body("x", 0),
                          retrieve_body("x", 101),
                          std::string(R"({"retrievalQuery":{"text":"x"},"nextToken":"abc"})"),
                          std::string(R"({"retrievalQuery":{"text":"x"},"retrievalConfiguration":)"
                                      R"({"vectorSearchConfiguration":{"filter":{}}}})")}) {
    FakeExchange exchange = retrieve("kb-a", bad);
    ASSERT_EQ(exchange.response->status, 400) << bad;
    EXPECT_TRUE(exchange.header("x-amzn-ErrorType").starts_with("ValidationException")) << bad;
  }
  EXPECT_EQ(retrieve("kb%2Fa", retrieve_body("x")).response->status, 400);
}

TEST_F(GatewayRetrieveTest, RetrieveNeedsBedrockRetrieveOnTheKnowledgeBaseArn) {
  set_policy(R"("bedrock:Retrieve")", "arn:aws:bedrock:us-east-1:000000000000:knowledge-base/kb-a");
  EXPECT_EQ(retrieve("kb-a", retrieve_body("x")).response->status, 200);
  FakeExchange denied = retrieve("kb-b", retrieve_body("x"));
  ASSERT_EQ(denied.response->status, 403);
  EXPECT_TRUE(denied.header("x-amzn-ErrorType").starts_with("AccessDeniedException"));
  set_policy(R"("bedrock:InvokeModel")", "*");
  EXPECT_EQ(retrieve("kb-a", retrieve_body("x")).response->status, 403);
}

TEST_F(GatewayRetrieveTest, WithoutAVectorStoreKnowledgeBasesAreUnavailable) {
  gateway_ = make_gateway(nullptr);
  EXPECT_EQ(retrieve("kb-a", retrieve_body("x")).response->status, 503);
  EXPECT_EQ(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-a")).response->status, 503);
}

TEST_F(GatewayRetrieveTest, SearchAnswersHitsAndHonoursKAndExclusion) {
  std::string q = uri_encode("Invoices are due in thirty days.");
  FakeExchange exchange = call(signed_get("/v1/search", "knowledgeBaseId=kb-a&k=1&q=" + q));
  ASSERT_EQ(exchange.response->status, 200) << exchange.response->body;
  json::array results = body(exchange)["results"].as_array();
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].at("documentId"), "doc-1");
  EXPECT_EQ(results[0].at("chunkIndex"), 0);
  EXPECT_EQ(results[0].at("text"), "Invoices are due in thirty days.");

  FakeExchange excluded =
      call(signed_get("/v1/search", "excludeDocumentId=doc-1&knowledgeBaseId=kb-a&k=5&q=" + q));
  ASSERT_EQ(excluded.response->status, 200);
  json::array rest = body(excluded)["results"].as_array();
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].at("documentId"), "doc-2");
}

TEST_F(GatewayRetrieveTest, SearchRejectsBadParametersWrongServiceAndMissingPermission) {
  EXPECT_EQ(call(signed_get("/v1/search", "knowledgeBaseId=kb-a")).response->status, 400);
  EXPECT_EQ(call(signed_get("/v1/search", "q=x")).response->status, 400);
  EXPECT_EQ(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-a&k=0")).response->status, 400);
  EXPECT_EQ(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-a&k=abc")).response->status, 400);
  EXPECT_EQ(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-other")).response->status, 404);
  EXPECT_NE(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-a", "bedrock")).response->status,
            200);
  set_policy(R"("bedrock:Retrieve")", "*");
  EXPECT_EQ(call(signed_get("/v1/search", "q=x&knowledgeBaseId=kb-a")).response->status, 403);
}

TEST_F(GatewayRetrieveTest, QueryEmbeddingsReserveFromTheBudgetsFirst) {
  // 10 micro-dollars a day; a query's worst case at 1 $/Mtok is a micro-dollar per byte + 16.
  ledger::Budgets budgets({ledger::BudgetSpec{"daily", ledger::BudgetScope::kAccount, "*",
                                              ledger::BudgetPeriod::kDay, 10, std::nullopt}},
                          *clock_);
  Gateway gateway(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                    .clock = *clock_,
                                                    .random = *random_,
                                                    .catalog = catalog_,
                                                    .provider = provider_,
                                                    .ledger = ledger_.get(),
                                                    .budgets = &budgets,
                                                    .vectors = vectors_.get()});
  size_t embeddings_before = provider_.requests.size();
  for (http::Request request :
       {signed_request("/knowledgebases/kb-a/retrieve", retrieve_body("When are invoices due?")),
        signed_get("/v1/search", "q=late%20fees&knowledgeBaseId=kb-a")}) {
    FakeExchange exchange;
    gateway.handle(request, exchange);
    ASSERT_TRUE(exchange.response);
    EXPECT_EQ(exchange.response->status, 429) << exchange.response->body;
    EXPECT_NE(exchange.response->body.find("daily"), std::string::npos);
  }
  EXPECT_EQ(provider_.requests.size(), embeddings_before);  // no model was called
  for (const ledger::BudgetState& state : budgets.snapshot())
    EXPECT_EQ(state.reserved_micro_usd, 0);
}

}  // namespace
}  // namespace plinth::api
