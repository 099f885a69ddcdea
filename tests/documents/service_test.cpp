// The documents service with in-memory collaborators and its tables on each backend (a real
// SQLite file, a fresh PostgreSQL database): durable submission, idempotency keys, the stage
// run, redelivery that skips stored stages, failures with reasons.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>

#include "fakes.h"
#include "pg/test_database.h"
#include "plinth/documents/document_service.h"
#include "plinth/documents/parsing.h"
#include "plinth/documents/pg_document_store.h"
#include "test_ooxml.h"
#include "test_pdf.h"

namespace plinth::documents {
namespace {

namespace json = boost::json;
using namespace testing;

constexpr std::string_view kPipeline = R"({"name":"invoices",
  "extract":{"schema":{"type":"object","properties":{"vendor":{"type":"string"},
             "total":{"type":"number"}},"required":["vendor","total"]}},
  "classify":{"labels":["invoice","receipt","other"]},"analyze":{"instructions":"Summarize"}})";

enum class Backend { kSqlite, kPostgres };

class DocumentServiceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("plinth-documents-" + std::to_string(::getpid()) + "-" +
            std::to_string(static_cast<int>(GetParam())) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    db_ = std::move(*store::Database::open(dir_ / "plinth.db"));
    if (GetParam() == Backend::kPostgres) {
      database_ = std::make_unique<pg::testing::TestDatabase>();
      ASSERT_TRUE(database_->ok()) << database_->error();
      auto pool = pg::Pool::open({database_->url(), 4});
      ASSERT_TRUE(pool) << pool.error().message;
      auto tables = open_postgres_document_store(*pool);
      ASSERT_TRUE(tables) << tables.error().message;
      documents_ = std::move(*tables);
    }
    catalog_ = *catalog::Catalog::from_entries(
        {{"small-1", {}, catalog::ModelKind::kText, catalog::ModelTier::kSmall, 1, 2},
         {"large-1", {}, catalog::ModelKind::kText, catalog::ModelTier::kLarge, 3, 15},
         {"embed-1", {}, catalog::ModelKind::kEmbedding, catalog::ModelTier::kSmall, 1, 0}});
    DocumentOptions options;
    options.workers = 0;
    options.max_document_bytes = 4096;
    options.chunking = {.max_words = 4, .overlap_words = 1};
    DocumentServices services{db_.get(), queue_,   vectors_, provider_,
                              catalog_,  &ledger_, *clock_,  *random_};
    services.documents = documents_.get();
    service_ = std::move(*DocumentService::open(options, services));
    ASSERT_TRUE(service_->create_pipeline("111", kPipeline));
  }
  void TearDown() override {
    service_.reset();
    documents_.reset();
    db_.reset();
    std::filesystem::remove_all(dir_);
  }
  Submission submit(std::string body, std::string type = "text/plain", std::string key = "") {
    auto submitted = service_->submit(
        {"111", "arn:aws:iam::111:user/u", "invoices", type, std::move(body), std::move(key)});
    EXPECT_TRUE(submitted) << submitted.error().message;
    return submitted.value_or(Submission{});
  }
  json::object document(const std::string& id) {
    auto text = service_->document("111", id);
    EXPECT_TRUE(text) << text.error().message;
    return json::parse(text.value_or("{}")).as_object();
  }
  std::vector<std::string> event_types(const std::string& job) {
    std::vector<std::string> types;
    for (const auto& event : queue_.events_[job]) types.push_back(event.type);
    return types;
  }

  // Options as SetUp's: no background workers (tests run jobs), four-word chunks.
  static DocumentOptions test_options() {
    DocumentOptions options;
    options.workers = 0;
    options.chunking = {.max_words = 4, .overlap_words = 1};
    return options;
  }
  // A second service on the same collaborators, with budgets (and metrics) wired in.
  std::unique_ptr<DocumentService> open_with_budgets(const DocumentOptions& options,
                                                     ledger::Budgets* budgets,
                                                     ledger::Metrics* metrics = nullptr) {
    DocumentServices services{db_.get(), queue_,  vectors_, provider_, catalog_,
                              &ledger_,  *clock_, *random_, budgets,   metrics};
    services.documents = documents_.get();
    return std::move(*DocumentService::open(options, services));
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::Database> db_;
  catalog::Catalog catalog_;
  FakeQueue queue_;
  FakeVectorStore vectors_;
  FakeProvider provider_;
  FakeLedger ledger_;
  std::shared_ptr<Clock> clock_ = Clock::real();
  std::shared_ptr<Random> random_ = Random::seeded(7);
  std::unique_ptr<pg::testing::TestDatabase> database_;  // PostgreSQL
  std::unique_ptr<DocumentStore> documents_;             // PostgreSQL; null: SQLite in db_
  std::unique_ptr<DocumentService> service_;
};

TEST_P(DocumentServiceTest, RunsEveryStageAndReportsTheDocument) {
  Submission s = submit("Invoice from ACME. Total 12.50 EUR, due in thirty days.");
  ASSERT_TRUE(*service_->run_one_job());
  json::object doc = document(s.document_id);
  EXPECT_EQ(doc["status"], "succeeded");
  EXPECT_EQ(doc["classification"], "receipt");
  EXPECT_EQ(doc["extraction"].as_object().at("vendor"), "ACME");
  EXPECT_EQ(doc["analysis"], "An analysis of the document.");
  EXPECT_EQ(doc["stats"].as_object().at("words"), 10);
  EXPECT_EQ(doc["stats"].as_object().at("chunks"), 3);  // 4 words per chunk, 1 shared
  json::object usage = doc["usage"].as_object();
  for (const char* stage : {"extract", "classify", "embed", "analyze", "total"}) {
    EXPECT_TRUE(usage.contains(stage)) << stage;
  }
  EXPECT_EQ(usage["extract"].as_object().at("model"), "small-1");
  EXPECT_EQ(usage["analyze"].as_object().at("model"), "large-1");
  EXPECT_EQ(vectors_.chunks_.size(), 3u);
  auto types = event_types(s.job_id);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "stage.started");
  EXPECT_EQ(types.back(), "job.succeeded");
  EXPECT_NE(std::find(types.begin(), types.end(), "analysis.delta"), types.end());
  EXPECT_EQ(ledger_.records.size(), 4u);
  EXPECT_EQ(ledger_.records.front().request_id, "job:" + s.job_id + ":extract");
  json::object job = json::parse(*service_->job("111", s.job_id)).as_object();
  EXPECT_EQ(job["status"], "succeeded");
  EXPECT_EQ(job["stages"].as_array().size(), 6u);
  EXPECT_EQ(job["stages"].as_array()[5].as_object().at("status"), "succeeded");
}

TEST_P(DocumentServiceTest, RedeliveryRunsOnlyTheStagesNotYetStored) {
  Submission s = submit("Some receipt text to classify and index.");
  provider_.fail_next_analysis = true;  // a retryable failure in the last stage
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_EQ(queue_.jobs_[s.job_id].status, jobs::JobStatus::kQueued);
  int infer_before = provider_.infer_calls;
  int embed_before = provider_.embed_calls;
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_EQ(queue_.jobs_[s.job_id].status, jobs::JobStatus::kSucceeded);
  EXPECT_EQ(provider_.infer_calls, infer_before + 1);  // only the analysis again
  EXPECT_EQ(provider_.embed_calls, embed_before);
  EXPECT_EQ(vectors_.add_calls, 1);
  EXPECT_EQ(ledger_.records.size(), 4u);  // one per model stage, never twice
}

TEST_P(DocumentServiceTest, AnalysisSeesChunksOfOtherDocumentsOnly) {
  submit("First document about shipping containers and ports.");
  ASSERT_TRUE(*service_->run_one_job());
  Submission second = submit("Second document about invoices.");
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_NE(provider_.last_analysis_prompt.find("shipping containers"), std::string::npos);
  EXPECT_EQ(provider_.last_analysis_prompt.find("(" + second.document_id + ")"), std::string::npos);
}

TEST_P(DocumentServiceTest, IdempotencyKeyReplaysOrConflicts) {
  Submission first = submit("same body", "text/plain", "key-1");
  Submission again = submit("same body", "text/plain", "key-1");
  EXPECT_EQ(again.document_id, first.document_id);
  EXPECT_EQ(again.job_id, first.job_id);
  EXPECT_TRUE(again.replayed);
  EXPECT_EQ(queue_.jobs_.size(), 1u);
  auto conflict =
      service_->submit({"111", "arn", "invoices", "text/plain", "another body", "key-1"});
  ASSERT_FALSE(conflict);
  EXPECT_EQ(conflict.error().code, ErrorCode::kConflict);
  // Keys are per account.
  ASSERT_TRUE(service_->create_pipeline("222", kPipeline));
  auto other = service_->submit({"222", "arn", "invoices", "text/plain", "x", "key-1"});
  ASSERT_TRUE(other);
  EXPECT_NE(other->document_id, first.document_id);
}

TEST_P(DocumentServiceTest, BadPdfEndsAsAFailedJobWithAReason) {
  Submission s = submit(make_pdf({{"secret"}}, {.encrypted = true}), "application/pdf");
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_EQ(queue_.jobs_[s.job_id].status, jobs::JobStatus::kFailed);
  EXPECT_NE(queue_.jobs_[s.job_id].error.find("encrypted"), std::string::npos);
  EXPECT_EQ(event_types(s.job_id).back(), "job.failed");
  json::object doc = document(s.document_id);
  EXPECT_EQ(doc["status"], "failed");
  EXPECT_EQ(provider_.infer_calls, 0);
}

TEST_P(DocumentServiceTest, RejectsOversizeUnsupportedAndUnknownPipeline) {
  auto big = service_->submit({"111", "arn", "invoices", "text/plain", std::string(5000, 'a'), ""});
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, ErrorCode::kPayloadTooLarge);
  auto type = service_->submit({"111", "arn", "invoices", "image/png", "x", ""});
  ASSERT_FALSE(type);
  EXPECT_EQ(type.error().code, ErrorCode::kInvalidArgument);
  auto missing = service_->submit({"111", "arn", "nope", "text/plain", "x", ""});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_P(DocumentServiceTest, OneAccountNeverSeesAnothersData) {
  Submission s = submit("private text");
  EXPECT_EQ(service_->document("999", s.document_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->job("999", s.job_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->delete_document("999", s.document_id).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->pipeline("999", "invoices").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(service_->job_events("999", s.job_id, 0, {}).error().code, ErrorCode::kNotFound);
}

TEST_P(DocumentServiceTest, DeleteRemovesTheDocumentAndItsVectors) {
  Submission s = submit("text to delete later on");
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_FALSE(vectors_.chunks_.empty());
  ASSERT_TRUE(service_->delete_document("111", s.document_id));
  EXPECT_TRUE(vectors_.chunks_.empty());
  EXPECT_EQ(service_->document("111", s.document_id).error().code, ErrorCode::kNotFound);
}

TEST_P(DocumentServiceTest, MultipartUploadTakesTheFilePartsType) {
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"page.html\"\r\n\r\n"
      "<p>Hello &amp; welcome</p>\r\n--b--\r\n";
  Submission s = submit(body, "multipart/form-data; boundary=b");
  ASSERT_TRUE(*service_->run_one_job());
  json::object doc = document(s.document_id);
  EXPECT_EQ(doc["contentType"], "text/html");
  EXPECT_EQ(doc["filename"], "page.html");
  EXPECT_EQ(doc["stats"].as_object().at("words"), 3);
}

TEST_P(DocumentServiceTest, WordExcelAndCsvUploadsRunThePipeline) {
  Submission docx = submit(testing::make_docx({"Invoice from ACME", "Total 12.50 EUR"}),
                           std::string(kDocxMediaType));
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_EQ(document(docx.document_id)["status"], "succeeded");
  EXPECT_EQ(document(docx.document_id)["stats"].as_object().at("words"), 6);
  std::string xlsx = testing::make_xlsx({{"S", {{"item", "price"}, {"bolt", "0.10"}}}});
  std::string body =
      "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"Book.XLSX\"\r\n"
      "Content-Type: application/octet-stream\r\n\r\n" +
      xlsx + "\r\n--b--\r\n";
  Submission sheet = submit(body, "multipart/form-data; boundary=b");
  ASSERT_TRUE(*service_->run_one_job());
  json::object doc = document(sheet.document_id);
  EXPECT_EQ(doc["contentType"].as_string(), kXlsxMediaType);
  EXPECT_EQ(doc["status"], "succeeded");
  Submission csv = submit("item,price\nbolt,0.10\n", "text/csv; charset=utf-8");
  ASSERT_TRUE(*service_->run_one_job());
  EXPECT_EQ(document(csv.document_id)["contentType"], "text/csv");
  EXPECT_EQ(document(csv.document_id)["status"], "succeeded");
}

TEST_P(DocumentServiceTest, EventsEndWithTheJobsOutcome) {
  Submission s = submit("short text");
  ASSERT_TRUE(*service_->run_one_job());
  auto read = service_->job_events("111", s.job_id, 0, {});
  ASSERT_TRUE(read);
  EXPECT_TRUE(read->finished);
  auto resumed = service_->job_events("111", s.job_id, read->events.size() - 1, {});
  ASSERT_TRUE(resumed);
  ASSERT_EQ(resumed->events.size(), 1u);
  EXPECT_EQ(resumed->events[0].type, "job.succeeded");
}

TEST_P(DocumentServiceTest, RefusedBudgetReservationFailsTheJobWithTheBudgetsMessage) {
  // One micro-dollar for the pipeline's tag: the extraction's worst case does not fit, so no
  // model is called, nothing is charged, and the job fails for good naming the budget.
  ManualClock clock(1'764'000'000);
  ledger::Budgets budgets(
      {ledger::BudgetSpec{"pipeline-daily", ledger::BudgetScope::kTag, "pipeline/invoices",
                          ledger::BudgetPeriod::kDay, 1, std::nullopt}},
      clock);
  ledger::Metrics metrics;
  DocumentOptions options = test_options();
  auto service = open_with_budgets(options, &budgets, &metrics);
  auto submitted = service->submit(
      {"111", "arn:aws:iam::111:user/u", "invoices", "text/plain", "Receipt: coffee, 3 EUR.", ""});
  ASSERT_TRUE(submitted) << submitted.error().message;
  ASSERT_TRUE(*service->run_one_job());
  const auto& job = queue_.jobs_[submitted->job_id];
  EXPECT_EQ(job.status, jobs::JobStatus::kFailed);  // not retried: the money will not appear
  EXPECT_NE(job.error.find("pipeline-daily"), std::string::npos) << job.error;
  EXPECT_NE(job.error.find("extract"), std::string::npos) << job.error;
  EXPECT_TRUE(ledger_.records.empty());
  EXPECT_EQ(provider_.infer_calls, 0);
  EXPECT_EQ(event_types(submitted->job_id).back(), "job.failed");
  auto states = budgets.snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].spent_micro_usd, 0);
  EXPECT_EQ(states[0].reserved_micro_usd, 0);
}

TEST_P(DocumentServiceTest, HardBudgetIsNeverExceededByPipelineRuns) {
  // Each document costs about 700 micro-dollars (extract 120, classify 120, analyze 450, embed a
  // few). Stages used to reserve nothing, so the stage that started under the limit overspent
  // it; now every model call holds its worst case first.
  constexpr int64_t kLimit = 3'000;
  ManualClock clock(1'764'000'000);
  ledger::Budgets budgets({ledger::BudgetSpec{"pipeline-cap", ledger::BudgetScope::kTag, "*",
                                              ledger::BudgetPeriod::kDay, kLimit, std::nullopt}},
                          clock);
  DocumentOptions options = test_options();
  options.extract_max_tokens = options.classify_max_tokens = options.analysis_max_tokens = 20;
  auto service = open_with_budgets(options, &budgets);
  std::vector<std::string> jobs;
  for (int i = 0; i < 8; ++i) {
    auto submitted = service->submit({"111", "arn:aws:iam::111:user/u", "invoices", "text/plain",
                                      "Receipt " + std::to_string(i) + ": coffee, 3 EUR.", ""});
    ASSERT_TRUE(submitted) << submitted.error().message;
    jobs.push_back(submitted->job_id);
  }
  while (*service->run_one_job()) {
  }
  int64_t charged = 0;
  for (const auto& record : ledger_.records) charged += record.cost_micro_usd;
  EXPECT_GT(charged, 0);
  EXPECT_LE(charged, kLimit);
  auto states = budgets.snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_LE(states[0].spent_micro_usd, kLimit);
  EXPECT_EQ(states[0].spent_micro_usd, charged);
  EXPECT_EQ(states[0].reserved_micro_usd, 0);
  int refused = 0;
  for (const std::string& job : jobs) {
    const auto& record = queue_.jobs_[job];
    if (record.status == jobs::JobStatus::kSucceeded) continue;
    EXPECT_EQ(record.status, jobs::JobStatus::kFailed) << record.error;
    EXPECT_NE(record.error.find("Budget pipeline-cap"), std::string::npos) << record.error;
    ++refused;
  }
  EXPECT_GT(refused, 0);
  EXPECT_LT(refused, 8);
}

TEST_P(DocumentServiceTest, PromptsShrinkUntilTheyFitASmallContext) {
  // A model whose context holds 150 characters of prompt: the document text, the extracted data
  // and the related passages all shrink until the analysis fits.
  provider_.max_prompt_chars = 150;
  std::string text;
  for (int i = 0; i < 100; ++i) text += "Invoice line " + std::to_string(i) + " costs 3 EUR. ";
  Submission s = submit(text);
  ASSERT_TRUE(*service_->run_one_job());
  json::object doc = document(s.document_id);
  EXPECT_EQ(doc["status"], "succeeded") << json::serialize(doc);
  EXPECT_EQ(doc["analysis"], "An analysis of the document.");
  EXPECT_LE(provider_.last_analysis_prompt.size(), 150u);
  EXPECT_NE(provider_.last_analysis_prompt.find("Extracted data"), std::string::npos);
}

TEST_P(DocumentServiceTest, FailedStageStillRecordsWhatItsModelCallsCost) {
  // The extraction call is answered (and paid) but its output does not validate, so the stage
  // fails. Its cost used to reach the in-memory budget only: the ledger, from which budgets are
  // rebuilt at start, never saw it, so a restart forgot the spend.
  ManualClock clock(1'764'000'000);
  ledger::Budgets budgets({ledger::BudgetSpec{"pipeline-cap", ledger::BudgetScope::kTag, "*",
                                              ledger::BudgetPeriod::kDay, 1'000'000, std::nullopt}},
                          clock);
  provider_.invalid_extractions = true;
  ledger::Metrics metrics;
  DocumentOptions options = test_options();
  auto service = open_with_budgets(options, &budgets, &metrics);
  auto submitted = service->submit(
      {"111", "arn:aws:iam::111:user/u", "invoices", "text/plain", "Receipt: tea, 2 EUR.", ""});
  ASSERT_TRUE(submitted) << submitted.error().message;
  while (*service->run_one_job()) {
  }
  ASSERT_GE(provider_.infer_calls, 1);
  EXPECT_NE(queue_.jobs_[submitted->job_id].status, jobs::JobStatus::kSucceeded);
  int64_t charged = 0;
  for (const auto& record : ledger_.records) {
    EXPECT_EQ(record.operation, "DocumentExtract");
    EXPECT_EQ(record.status, "failed");
    EXPECT_EQ(record.input_tokens, 100);  // FakeProvider's usage per call
    EXPECT_EQ(record.output_tokens, 10);
    charged += record.cost_micro_usd;
  }
  // Every delivery's paid call is in the ledger, one row each.
  EXPECT_EQ(ledger_.records.size(), static_cast<size_t>(provider_.infer_calls));
  EXPECT_GT(charged, 0);
  auto states = budgets.snapshot();
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].spent_micro_usd, charged);  // the budget and the ledger agree
  EXPECT_EQ(states[0].reserved_micro_usd, 0);
  EXPECT_NE(metrics.render().find(R"(status="failed")"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(Backends, DocumentServiceTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         [](const ::testing::TestParamInfo<Backend>& info) {
                           return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
                         });

}  // namespace
}  // namespace plinth::documents
