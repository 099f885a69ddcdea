// `plinth store migrate`'s copy: a SQLite installation's jobs, documents and vectors copied into a
// fresh PostgreSQL database are there and usable afterwards; an interrupted copy resumes; a
// second run adds nothing; the count check holds.
#include "plinth/store/store_copy.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "pg/test_database.h"
#include "plinth/documents/document_store.h"
#include "plinth/documents/pg_document_store.h"
#include "plinth/jobs/queue.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/inference_profiles.h"
#include "plinth/vectors/pg_vector_store.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::store {
namespace {

using namespace std::chrono_literals;

class StoreCopyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device seed;
    dir_ = std::filesystem::temp_directory_path() /
           ("plinth-store-copy-" + std::to_string(seed()) + std::to_string(seed()));
    std::filesystem::create_directories(dir_);
    auto db = Database::open(dir_ / "plinth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    ASSERT_TRUE(database_.ok()) << database_.error();
    auto pool = pg::Pool::open({database_.url(), 4});
    ASSERT_TRUE(pool) << pool.error().message;
    pool_ = *pool;
  }
  void TearDown() override {
    db_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A single-node installation: two jobs (one with events), a pipeline and a document with
  // binary content, and chunks in a knowledge base.
  void fill_sqlite() {
    auto queue = jobs::open_sqlite_queue(*db_, *clock_);
    ASSERT_TRUE(queue);
    job_ = (*queue)->enqueue({"documents", "111111111111", R"({"n":1})"}).value();
    ASSERT_TRUE((*queue)->enqueue({"documents", "111111111111", R"({"n":2})"}));
    for (const char* type : {"stage.started", "stage.finished", "job.succeeded"}) {
      ASSERT_TRUE((*queue)->append_event(job_, type, "{}"));
    }
    auto tables = documents::open_sqlite_document_store(*db_);
    ASSERT_TRUE(tables);
    ASSERT_TRUE((*tables)->insert_pipeline({"111111111111", "invoices", "{}", 1, 1}));
    documents::DocumentRow row;
    row.id = "doc-1";
    row.account_id = "111111111111";
    row.pipeline = "invoices";
    row.content_type = "application/pdf";
    row.content = std::string("%PDF\0\x01\xff binary", 15);
    row.job_id = job_;
    row.spec_json = "{}";
    ASSERT_TRUE((*tables)->insert_document(row));
    ASSERT_TRUE((*tables)->put_stage("doc-1", "parse", R"({"pages":1})", 5));
    auto vectors = vectors::open_sqlite_vector_store(
        *db_, vectors::IndexOptions{.build_threads = 1, .persist = false});
    ASSERT_TRUE(vectors);
    ASSERT_TRUE((*vectors)->ensure_knowledge_base("111111111111", "kb-a", "bge-embed"));
    std::vector<vectors::ChunkVector> chunks;
    for (int i = 0; i < 30; ++i) {
      std::vector<float> embedding(8, 0.1f);
      embedding[i % 8] = 1.0f + static_cast<float>(i);
      chunks.push_back({"111111111111", "kb-a", "doc-" + std::to_string(i / 3), i % 3,
                        "chunk " + std::to_string(i), "{}", embedding});
    }
    chunks_ = chunks;
    ASSERT_TRUE((*vectors)->add(chunks));
    auto ledger = ledger::open_sqlite_ledger(*db_);
    ASSERT_TRUE(ledger);
    ledger::UsageRecord call;
    call.time_ms = 1'764'028'800'000;
    call.account_id = "111111111111";
    call.model_used = "qwen2-small";
    call.cost_micro_usd = 137;
    call.request_id = "req-1";
    (*ledger)->record(call);
    ASSERT_TRUE((*ledger)->flush());
    auto profiles = open_sqlite_inference_profiles(*db_);
    ASSERT_TRUE(profiles);
    ASSERT_TRUE((*profiles)->create(
        {"111111111111", "abcdef123456", "billing", "", "m", "m", "", 1, 1, {{"team", "alpha"}}},
        10));
  }

  // The PostgreSQL schemas, as `plinth store migrate` creates them before copying.
  void migrate_postgres() {
    ASSERT_TRUE(jobs::open_postgres_queue(pool_, *clock_));
    ASSERT_TRUE(documents::open_postgres_document_store(pool_));
    ASSERT_TRUE(vectors::open_postgres_vector_store(pool_));
    ASSERT_TRUE(ledger::open_postgres_ledger(pool_));
    ASSERT_TRUE(open_postgres_inference_profiles(pool_));
  }

  std::filesystem::path dir_;
  std::unique_ptr<Database> db_;
  pg::testing::TestDatabase database_;
  std::shared_ptr<pg::Pool> pool_;
  std::shared_ptr<Clock> clock_ = Clock::real();
  std::string job_;
  std::vector<vectors::ChunkVector> chunks_;
};

TEST_F(StoreCopyTest, CopiesEveryDomainResumesAfterAnInterruptionAndIsIdempotent) {
  fill_sqlite();
  migrate_postgres();
  CopyOptions interrupted;
  interrupted.batch_rows = 4;
  interrupted.stop_after_rows = 6;
  auto first = copy_sqlite_to_postgres(*db_, *pool_, interrupted);
  ASSERT_FALSE(first);
  EXPECT_EQ(first.error().code, ErrorCode::kUnavailable);

  auto resumed = copy_sqlite_to_postgres(*db_, *pool_, {.batch_rows = 4});
  ASSERT_TRUE(resumed) << resumed.error().message;
  std::map<std::string, TableCopy> by_table;
  for (const TableCopy& copy : *resumed) {
    EXPECT_EQ(copy.source_rows, copy.target_rows) << copy.table;
    by_table[copy.table] = copy;
  }
  EXPECT_EQ(by_table["jobs"].source_rows, 2);
  EXPECT_EQ(by_table["job_events"].target_rows, 3);
  EXPECT_EQ(by_table["documents"].target_rows, 1);
  EXPECT_EQ(by_table["vectors_chunks"].target_rows, 30);
  EXPECT_EQ(by_table["ledger_usage"].target_rows, 1);
  EXPECT_EQ(by_table["inference_profile_tags"].target_rows, 1);

  auto again = copy_sqlite_to_postgres(*db_, *pool_);
  ASSERT_TRUE(again) << again.error().message;
  for (const TableCopy& copy : *again) {
    EXPECT_EQ(copy.inserted, 0) << copy.table;
    EXPECT_EQ(copy.target_rows, copy.source_rows) << copy.table;
  }

  // Usable on PostgreSQL afterwards: the job and its events (numbering continues), the
  // document's bytes, and the chunks found by a fresh replica's index.
  auto queue = jobs::open_postgres_queue(pool_, *clock_);
  ASSERT_TRUE(queue);
  EXPECT_EQ((*queue)->get(job_, "111111111111").value().payload, R"({"n":1})");
  EXPECT_EQ((*queue)->events_after(job_, 0, 0ms).value().size(), 3u);
  EXPECT_EQ((*queue)->append_event(job_, "late", "{}").value(), 4);
  EXPECT_EQ((*queue)->depth("documents").value(), 2);
  auto tables = documents::open_postgres_document_store(pool_);
  ASSERT_TRUE(tables);
  auto document = (*tables)->document("111111111111", "doc-1", true);
  ASSERT_TRUE(document) << document.error().message;
  EXPECT_EQ(document->content, std::string("%PDF\0\x01\xff binary", 15));
  EXPECT_EQ((*tables)->stages("doc-1").value().at("parse"), R"({"pages":1})");
  auto vectors = vectors::open_postgres_vector_store(pool_);
  ASSERT_TRUE(vectors) << vectors.error().message;
  auto hits = (*vectors)->search({"111111111111", "kb-a", chunks_[17].embedding, 1, std::nullopt});
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().text, "chunk 17");
  // New chunks get labels after the copied ones (the serial sequence moved on).
  vectors::ChunkVector fresh = chunks_[0];
  fresh.document_id = "doc-new";
  ASSERT_TRUE((*vectors)->add({fresh}));
  EXPECT_EQ((*vectors)->count("111111111111", "kb-a").value(), 31);
  // The usage and the profiles too: replicas report and route as the single node did.
  auto ledger = ledger::open_postgres_ledger(pool_);
  ASSERT_TRUE(ledger);
  auto recent = (*ledger)->recent(5);
  ASSERT_TRUE(recent) << recent.error().message;
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ(recent->front().request_id, "req-1");
  EXPECT_EQ(recent->front().cost_micro_usd, 137);
  auto profiles = open_postgres_inference_profiles(pool_);
  ASSERT_TRUE(profiles);
  auto profile = (*profiles)->get_by_name("111111111111", "billing");
  ASSERT_TRUE(profile) << profile.error().message;
  EXPECT_EQ(profile->tags, (std::vector<ProfileTag>{{"team", "alpha"}}));
}

TEST_F(StoreCopyTest, RefusesATableThatPostgresqlDoesNotHave) {
  ASSERT_TRUE(db_->exec("CREATE TABLE stray (x INTEGER); INSERT INTO stray VALUES (1);"));
  auto copied = copy_sqlite_to_postgres(*db_, *pool_);
  ASSERT_FALSE(copied);
  EXPECT_EQ(copied.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(copied.error().message.find("stray"), std::string::npos);
}

}  // namespace
}  // namespace plinth::store
