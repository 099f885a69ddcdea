// The Gateway's documents REST API on a real SQLite queue: routes, status codes, Bedrock-shaped
// errors, policy actions, and the job's events as Server-Sent Events with Last-Event-ID.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <random>

#include "../documents/fakes.h"
#include "gateway_test_support.h"
#include "plinth/api/gateway.h"
#include "plinth/documents/document_service.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::FakeCredentials;
using testing::FakeExchange;
using testing::signed_call;

constexpr std::string_view kPipeline =
    R"({"name":"invoices","extract":{"schema":{"type":"object","properties":{"vendor":{"type":"string"}}}},
        "classify":{"labels":["invoice","receipt"]}})";

std::string allow(std::string_view actions) {
  return R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
         std::string(actions) + R"(,"Resource":"*"}]})";
}

class GatewayDocumentsTest : public ::testing::Test {
 protected:
  GatewayDocumentsTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-gateway-documents-" + std::to_string(seed()));
    database_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    queue_ = std::move(*jobs::open_sqlite_queue(*database_, *clock_));
    catalog_ = *catalog::Catalog::from_entries(
        {{"small-1", {}, catalog::ModelKind::kText, catalog::ModelTier::kSmall, 1, 2},
         {"embed-1", {}, catalog::ModelKind::kEmbedding, catalog::ModelTier::kSmall, 1, 0}});
    documents::DocumentOptions options;
    options.workers = 0;
    documents_ = std::move(*documents::DocumentService::open(
        options,
        {database_.get(), *queue_, vectors_, provider_, catalog_, nullptr, *clock_, *random_}));
    credentials_->principal.kind = auth::Principal::Kind::kUser;
    credentials_->principal.arn = "arn:aws:iam::000000000000:user/alice";
    credentials_->principal.account_id = "000000000000";
    credentials_->principal.access_key_id = std::string(testing::kAccessKey);
    credentials_->principal.identity_policies = {allow(R"("plinth:*")")};
    gateway_ =
        std::make_unique<Gateway>(GatewayOptions{}, GatewayServices{.authenticator = authenticator_,
                                                                    .clock = *clock_,
                                                                    .random = *random_,
                                                                    .catalog = catalog_,
                                                                    .provider = provider_,
                                                                    .documents = documents_.get()});
  }
  ~GatewayDocumentsTest() override {
    gateway_.reset();
    documents_.reset();
    queue_.reset();
    database_.reset();
    fs::remove_all(dir_);
  }
  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }
  static json::object body(const FakeExchange& exchange) {
    return json::parse(exchange.response->body).as_object();
  }

  fs::path dir_;
  std::unique_ptr<store::Database> database_;
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(testing::kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  std::unique_ptr<jobs::Queue> queue_;
  documents::testing::FakeVectorStore vectors_;
  documents::testing::FakeProvider provider_;
  catalog::Catalog catalog_;
  std::unique_ptr<documents::DocumentService> documents_;
  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayDocumentsTest, PipelinesAnswerWithStatusCodesAndBedrockErrors) {
  FakeExchange bad = call(signed_call(
      "POST", "/v1/pipelines",
      R"({"name":"x","extract":{"schema":{"type":"object","properties":{"a":{"type":"strin"}}}}})"));
  ASSERT_TRUE(bad.response);
  EXPECT_EQ(bad.response->status, 400);
  EXPECT_EQ(bad.header("x-amzn-ErrorType").substr(0, 19), "ValidationException");
  EXPECT_NE(body(bad)["message"].as_string().find("does not compile"), std::string::npos);
  EXPECT_EQ(call(signed_call("POST", "/v1/pipelines", std::string(kPipeline))).response->status,
            201);
  EXPECT_EQ(call(signed_call("POST", "/v1/pipelines", std::string(kPipeline))).response->status,
            409);
  FakeExchange got = call(signed_call("GET", "/v1/pipelines/invoices"));
  EXPECT_EQ(got.response->status, 200);
  EXPECT_EQ(body(got)["knowledgeBaseId"], "kb-invoices");
  EXPECT_EQ(call(signed_call("GET", "/v1/pipelines/nope")).response->status, 404);
  EXPECT_EQ(call(signed_call("DELETE", "/v1/pipelines/invoices")).response->status, 204);
}

TEST_F(GatewayDocumentsTest, SubmittedDocumentRunsAndStreamsItsEvents) {
  ASSERT_EQ(call(signed_call("POST", "/v1/pipelines", std::string(kPipeline))).response->status,
            201);
  FakeExchange submitted =
      call(signed_call("POST", "/v1/pipelines/invoices/documents", "Invoice from ACME, 12 EUR",
                       {{"content-type", "text/plain"}, {"idempotency-key", "k1"}}));
  ASSERT_EQ(submitted.response->status, 202) << submitted.response->body;
  std::string job_id(body(submitted)["jobId"].as_string());
  std::string document_id(body(submitted)["documentId"].as_string());
  ASSERT_TRUE(*documents_->run_one_job());

  FakeExchange document = call(signed_call("GET", "/v1/documents/" + document_id));
  ASSERT_EQ(document.response->status, 200);
  EXPECT_EQ(body(document)["status"], "succeeded");
  EXPECT_EQ(body(document)["classification"], "receipt");
  FakeExchange job = call(signed_call("GET", "/v1/jobs/" + job_id));
  EXPECT_EQ(body(job)["documentId"].as_string(), document_id);
  FakeExchange list = call(signed_call("GET", "/v1/jobs"));
  EXPECT_EQ(body(list)["jobs"].as_array().size(), 1u);

  FakeExchange events = call(signed_call("GET", "/v1/jobs/" + job_id + "/events"));
  EXPECT_EQ(events.stream_status, 200);
  EXPECT_EQ(events.header("content-type"), "text/event-stream");
  EXPECT_TRUE(events.finished);
  EXPECT_NE(events.streamed.find("event: stage.started\nid: 1\n"), std::string::npos)
      << events.streamed;
  EXPECT_NE(events.streamed.find("event: job.succeeded\n"), std::string::npos);
  FakeExchange resumed =
      call(signed_call("GET", "/v1/jobs/" + job_id + "/events", "", {{"last-event-id", "3"}}));
  EXPECT_EQ(resumed.streamed.find("id: 3\n"), std::string::npos);
  EXPECT_NE(resumed.streamed.find("id: 4\n"), std::string::npos);

  FakeExchange conflict =
      call(signed_call("POST", "/v1/pipelines/invoices/documents", "another body",
                       {{"content-type", "text/plain"}, {"idempotency-key", "k1"}}));
  EXPECT_EQ(conflict.response->status, 409);
  EXPECT_EQ(call(signed_call("DELETE", "/v1/documents/" + document_id)).response->status, 204);
  EXPECT_EQ(call(signed_call("GET", "/v1/documents/" + document_id)).response->status, 404);
}

TEST_F(GatewayDocumentsTest, EachActionNeedsItsPolicy) {
  credentials_->principal.identity_policies = {allow(R"(["plinth:ListPipelines"])")};
  EXPECT_EQ(call(signed_call("GET", "/v1/pipelines")).response->status, 200);
  FakeExchange denied = call(signed_call("POST", "/v1/pipelines", std::string(kPipeline)));
  EXPECT_EQ(denied.response->status, 403);
  EXPECT_NE(body(denied)["message"].as_string().find("plinth:CreatePipeline"), std::string::npos);
  EXPECT_EQ(call(signed_call("GET", "/v1/jobs/job-1/events")).response->status, 403);
}

TEST_F(GatewayDocumentsTest, JobEventsCarryNoDocumentDataWithoutGetDocument) {
  ASSERT_EQ(call(signed_call("POST", "/v1/pipelines", std::string(kPipeline))).response->status,
            201);
  FakeExchange submitted =
      call(signed_call("POST", "/v1/pipelines/invoices/documents", "Invoice from ACME, 12 EUR",
                       {{"content-type", "text/plain"}}));
  ASSERT_EQ(submitted.response->status, 202) << submitted.response->body;
  std::string job_id(body(submitted)["jobId"].as_string());
  std::string document_id(body(submitted)["documentId"].as_string());
  ASSERT_TRUE(*documents_->run_one_job());

  credentials_->principal.identity_policies = {R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":"plinth:*","Resource":"*"},
      {"Effect":"Deny","Action":"plinth:GetDocument","Resource":"*"}]})"};
  EXPECT_EQ(call(signed_call("GET", "/v1/documents/" + document_id)).response->status, 403);
  FakeExchange events = call(signed_call("GET", "/v1/jobs/" + job_id + "/events"));
  EXPECT_EQ(events.stream_status, 200);
  EXPECT_TRUE(events.finished);
  EXPECT_NE(events.streamed.find("event: job.succeeded\n"), std::string::npos);
  EXPECT_NE(events.streamed.find(document_id), std::string::npos);
  for (std::string_view secret :
       {"receipt", "ACME", "An analysis", "analysis.delta", "extraction"}) {
    EXPECT_EQ(events.streamed.find(secret), std::string::npos) << secret << " in\n"
                                                               << events.streamed;
  }

  // GetDocument on that document (and GetJob) gives the whole stream back.
  credentials_->principal.identity_policies = {R"({"Version":"2012-10-17","Statement":[
      {"Effect":"Allow","Action":["plinth:GetJob","plinth:GetDocument"],"Resource":"*"}]})"};
  FakeExchange full = call(signed_call("GET", "/v1/jobs/" + job_id + "/events"));
  EXPECT_NE(full.streamed.find("receipt"), std::string::npos) << full.streamed;
  EXPECT_NE(full.streamed.find("event: analysis.delta\n"), std::string::npos);
}

TEST_F(GatewayDocumentsTest, PipelineWithoutClassifyRunsItsJobs) {
  FakeExchange created = call(signed_call(
      "POST", "/v1/pipelines",
      R"({"name":"plain","extract":{"schema":{"type":"object","properties":{"vendor":{"type":"string"}}}}})"));
  ASSERT_EQ(created.response->status, 201) << created.response->body;
  FakeExchange submitted = call(signed_call("POST", "/v1/pipelines/plain/documents",
                                            "Invoice from ACME", {{"content-type", "text/plain"}}));
  ASSERT_EQ(submitted.response->status, 202) << submitted.response->body;
  ASSERT_TRUE(*documents_->run_one_job());
  FakeExchange document = call(signed_call(
      "GET", "/v1/documents/" + std::string(body(submitted)["documentId"].as_string())));
  ASSERT_EQ(document.response->status, 200);
  EXPECT_EQ(body(document)["status"], "succeeded") << document.response->body;
  FakeExchange pipeline = call(signed_call("GET", "/v1/pipelines/plain"));
  EXPECT_EQ(pipeline.response->status, 200);
}

TEST_F(GatewayDocumentsTest, HeaderValuesThatAreNotUtf8AreRefused) {
  ASSERT_EQ(call(signed_call("POST", "/v1/pipelines", std::string(kPipeline))).response->status,
            201);
  http::Request request = signed_call("POST", "/v1/pipelines/invoices/documents", "text");
  request.headers.push_back({"content-type", "text/plain; charset=\xff"});
  FakeExchange refused = call(request);
  ASSERT_TRUE(refused.response);
  EXPECT_EQ(refused.response->status, 400);
  boost::system::error_code ec;
  json::parse(refused.response->body, ec);
  EXPECT_FALSE(ec) << refused.response->body;
}

TEST_F(GatewayDocumentsTest, UnknownJobsAndRoutesAre404) {
  EXPECT_EQ(call(signed_call("GET", "/v1/jobs/nope")).response->status, 404);
  EXPECT_EQ(call(signed_call("GET", "/v1/jobs/nope/events")).response->status, 404);
  EXPECT_EQ(call(signed_call("PATCH", "/v1/pipelines/x")).response->status, 404);
  EXPECT_EQ(call(signed_call("GET", "/v1/jobs?limit=2")).response->status, 200);
  FakeExchange bad_limit = call(signed_call("GET", "/v1/jobs?limit=0"));
  EXPECT_EQ(bad_limit.response->status, 400);
  EXPECT_EQ(bad_limit.header("x-amzn-ErrorType").substr(0, 19), "ValidationException");
}

}  // namespace
}  // namespace plinth::api
