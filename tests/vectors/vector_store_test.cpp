// Both vector stores — SQLite on a real database file, PostgreSQL on a fresh database — for
// idempotent adds, dimensions, removal, isolation between accounts and knowledge bases,
// exclusion, the rebuild on reopen, and (PostgreSQL) a second replica seeing the first's chunks
// and a replica's saved index loaded, caught up, or rebuilt when damaged.
#include "plinth/vectors/vector_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "pg/test_database.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"
#include "plinth/vectors/pg_vector_store.h"

namespace plinth::vectors {
namespace {

namespace fs = std::filesystem;

constexpr int kDims = 16;
constexpr const char* kAccount = "111111111111";
constexpr const char* kOtherAccount = "222222222222";

std::vector<float> random_vector(std::mt19937& rng, int dims = kDims) {
  std::normal_distribution<float> normal;
  std::vector<float> v(static_cast<size_t>(dims));
  for (float& x : v) x = normal(rng);
  return v;
}

enum class Backend { kSqlite, kPostgres };

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

class VectorStoreTest : public ::testing::TestWithParam<Backend> {
 protected:
  VectorStoreTest() {
    std::random_device seed;
    dir_ = fs::temp_directory_path() / ("plinth-vectors-test-" + std::to_string(seed()));
    fs::create_directories(dir_);
    if (GetParam() == Backend::kPostgres) {
      database_ = std::make_unique<pg::testing::TestDatabase>();
      if (!database_->ok()) ADD_FAILURE() << database_->error();
    }
    reopen();
  }
  ~VectorStoreTest() override {
    store_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  // Another store on the same rows: for PostgreSQL a replica with its own pool and index.
  Result<std::unique_ptr<VectorStore>> open_another() {
    IndexOptions options{.build_threads = 2, .persist = false};
    if (!database_ || !database_->ok()) {
      return plinth::fail(ErrorCode::kUnavailable, database_ ? database_->error() : "sqlite");
    }
    auto pool = pg::Pool::open({database_->url(), 4});
    if (!pool) return std::unexpected(pool.error());
    return open_postgres_vector_store(*pool, options);
  }

  void reopen() {
    store_.reset();
    db_.reset();
    if (GetParam() == Backend::kPostgres) {
      auto opened = open_another();
      ASSERT_TRUE(opened) << opened.error().message;
      store_ = std::move(*opened);
      return;
    }
    auto db = store::Database::open(dir_ / "plinth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto opened =
        open_sqlite_vector_store(*db_, IndexOptions{.build_threads = 2, .persist = false});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }

  void ensure(const std::string& account, const std::string& kb) {
    auto made = store_->ensure_knowledge_base(account, kb, "bge-embed");
    ASSERT_TRUE(made) << made.error().message;
  }

  ChunkVector chunk(const std::string& account, const std::string& kb, const std::string& doc,
                    int index) {
    return ChunkVector{account,
                       kb,
                       doc,
                       index,
                       doc + " chunk " + std::to_string(index),
                       R"({"source":")" + doc + R"("})",
                       random_vector(rng_)};
  }

  std::vector<SearchHit> search(const std::string& account, const std::string& kb,
                                const std::vector<float>& embedding, int k,
                                std::optional<std::string> exclude = std::nullopt) {
    auto hits = store_->search({account, kb, embedding, k, std::move(exclude)});
    EXPECT_TRUE(hits) << hits.error().message;
    return hits ? *hits : std::vector<SearchHit>{};
  }

  int64_t count(const std::string& account, const std::string& kb) {
    auto n = store_->count(account, kb);
    EXPECT_TRUE(n) << n.error().message;
    return n ? *n : -1;
  }

  std::mt19937 rng_{42};
  fs::path dir_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<pg::testing::TestDatabase> database_;  // PostgreSQL
  std::unique_ptr<VectorStore> store_;
};

class PgVectorStoreTest : public VectorStoreTest {};

TEST_P(VectorStoreTest, EnsureKnowledgeBaseReturnsTheExistingOneAndRejectsAnotherModel) {
  ensure(kAccount, "kb-a");
  auto again = store_->ensure_knowledge_base(kAccount, "kb-a", "bge-embed");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->embedding_model, "bge-embed");
  EXPECT_EQ(again->dimensions, 0);
  auto other = store_->ensure_knowledge_base(kAccount, "kb-a", "another-model");
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->knowledge_base(kOtherAccount, "kb-a").error().code, ErrorCode::kNotFound);
  ensure(kAccount, "kb-0");
  ensure(kOtherAccount, "kb-z");
  auto listed = store_->list_knowledge_bases(kAccount);
  ASSERT_TRUE(listed);
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].id, "kb-0");
  EXPECT_EQ((*listed)[1].id, "kb-a");
}

TEST_P(VectorStoreTest, FindsAStoredVectorAsTheExactTopHit) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 200; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i / 4), i % 4));
  ASSERT_TRUE(store_->add(chunks));
  EXPECT_EQ(store_->knowledge_base(kAccount, "kb-a")->dimensions, kDims);
  for (int i : {0, 37, 199}) {
    auto hits = search(kAccount, "kb-a", chunks[i].embedding, 3);
    ASSERT_EQ(hits.size(), 3u);
    EXPECT_EQ(hits[0].document_id, chunks[i].document_id);
    EXPECT_EQ(hits[0].chunk_index, chunks[i].chunk_index);
    EXPECT_EQ(hits[0].text, chunks[i].text);
    EXPECT_EQ(hits[0].metadata_json, chunks[i].metadata_json);
    EXPECT_NEAR(hits[0].score, 1.0f, 1e-4);
    EXPECT_GE(hits[0].score, hits[1].score);
    EXPECT_GE(hits[1].score, hits[2].score);
  }
}

TEST_P(VectorStoreTest, AddingTheSameChunksAgainChangesNothing) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks = {chunk(kAccount, "kb-a", "doc-1", 0),
                                     chunk(kAccount, "kb-a", "doc-1", 1)};
  ASSERT_TRUE(store_->add(chunks));
  ASSERT_TRUE(store_->add(chunks));
  ChunkVector changed = chunks[0];
  changed.text = "a redelivered stage's different text";
  ASSERT_TRUE(store_->add({changed}));
  EXPECT_EQ(count(kAccount, "kb-a"), 2);
  // One index entry per chunk: the two best hits are the two distinct chunks.
  auto hits = search(kAccount, "kb-a", chunks[0].embedding, 5);
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].chunk_index, 0);
  EXPECT_EQ(hits[0].text, chunks[0].text);
  EXPECT_EQ(hits[1].chunk_index, 1);
}

TEST_P(VectorStoreTest, RejectsADimensionOtherThanTheKnowledgeBases) {
  ensure(kAccount, "kb-a");
  ASSERT_TRUE(store_->add({chunk(kAccount, "kb-a", "doc-1", 0)}));
  ChunkVector wrong = chunk(kAccount, "kb-a", "doc-2", 0);
  wrong.embedding.resize(kDims + 1, 0.5f);
  auto added = store_->add({chunk(kAccount, "kb-a", "doc-3", 0), wrong});
  ASSERT_FALSE(added);
  EXPECT_EQ(added.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(count(kAccount, "kb-a"), 1) << "a rejected batch stores none of its chunks";
  auto query = store_->search({kAccount, "kb-a", std::vector<float>(kDims - 1, 1.0f), 1, {}});
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().code, ErrorCode::kInvalidArgument);
}

TEST_P(VectorStoreTest, RejectsZeroVectorsUnknownBasesAndBadK) {
  ensure(kAccount, "kb-a");
  ChunkVector zero = chunk(kAccount, "kb-a", "doc-1", 0);
  zero.embedding.assign(kDims, 0.0f);
  EXPECT_EQ(store_->add({zero}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(store_->add({chunk(kAccount, "kb-missing", "doc-1", 0)}).error().code,
            ErrorCode::kNotFound);
  auto k0 = store_->search({kAccount, "kb-a", random_vector(rng_), 0, {}});
  EXPECT_EQ(k0.error().code, ErrorCode::kInvalidArgument);
  auto unknown = store_->search({kAccount, "kb-missing", random_vector(rng_), 1, {}});
  EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(search(kAccount, "kb-a", random_vector(rng_), 3).empty()) << "no vectors yet";
}

TEST_P(VectorStoreTest, RemoveDocumentDeletesItsRowsAndIndexEntries) {
  ensure(kAccount, "kb-a");
  ensure(kAccount, "kb-b");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 3; ++i) chunks.push_back(chunk(kAccount, "kb-a", "doc-gone", i));
  chunks.push_back(chunk(kAccount, "kb-b", "doc-gone", 0));
  chunks.push_back(chunk(kAccount, "kb-a", "doc-kept", 0));
  ASSERT_TRUE(store_->add(chunks));
  auto removed = store_->remove_document(kAccount, "doc-gone");
  ASSERT_TRUE(removed) << removed.error().message;
  EXPECT_EQ(*removed, 4);
  EXPECT_EQ(count(kAccount, "kb-a"), 1);
  EXPECT_EQ(count(kAccount, "kb-b"), 0);
  auto hits = search(kAccount, "kb-a", chunks[0].embedding, 5);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].document_id, "doc-kept");
  EXPECT_EQ(*store_->remove_document(kAccount, "doc-gone"), 0);
  // Adding the document again after removing it indexes it again.
  ASSERT_TRUE(store_->add({chunks[0]}));
  EXPECT_EQ(search(kAccount, "kb-a", chunks[0].embedding, 1)[0].document_id, "doc-gone");
}

TEST_P(VectorStoreTest, RemovingMostOfAKnowledgeBaseCompactsItsIndex) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 1500; ++i) chunks.push_back(chunk(kAccount, "kb-a", "doc-big", i));
  for (int i = 0; i < 50; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  ASSERT_TRUE(store_->add(chunks));
  EXPECT_EQ(*store_->remove_document(kAccount, "doc-big"), 1500);  // rebuilds the index
  for (int i : {0, 1499, 1500, 1549}) {
    auto hits = search(kAccount, "kb-a", chunks[i].embedding, 3);
    ASSERT_EQ(hits.size(), 3u);
    for (const SearchHit& hit : hits) EXPECT_NE(hit.document_id, "doc-big");
    if (i >= 1500) {
      EXPECT_EQ(hits[0].document_id, chunks[i].document_id);
    }
  }
  ASSERT_TRUE(store_->add({chunks[0]}));
  EXPECT_EQ(search(kAccount, "kb-a", chunks[0].embedding, 1)[0].document_id, "doc-big");
  EXPECT_EQ(count(kAccount, "kb-a"), 51);
}

TEST_P(VectorStoreTest, SearchesOnlyTheCallersAccountAndKnowledgeBase) {
  ensure(kAccount, "kb-a");
  ensure(kAccount, "kb-b");
  ensure(kOtherAccount, "kb-a");
  ChunkVector mine = chunk(kAccount, "kb-a", "doc-mine", 0);
  ChunkVector other_kb = mine;
  other_kb.knowledge_base_id = "kb-b";
  other_kb.document_id = "doc-other-kb";
  ChunkVector other_account = mine;
  other_account.account_id = kOtherAccount;
  other_account.document_id = "doc-other-account";
  ASSERT_TRUE(store_->add({mine, other_kb, other_account}));
  auto hits = search(kAccount, "kb-a", mine.embedding, 10);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].document_id, "doc-mine");
  EXPECT_EQ(search(kAccount, "kb-b", mine.embedding, 10)[0].document_id, "doc-other-kb");
  EXPECT_EQ(search(kOtherAccount, "kb-a", mine.embedding, 10)[0].document_id, "doc-other-account");
  EXPECT_EQ(store_->search({kOtherAccount, "kb-b", mine.embedding, 1, {}}).error().code,
            ErrorCode::kNotFound);
  // Removing in one account leaves the other's document of the same id alone.
  ChunkVector same_id = chunk(kOtherAccount, "kb-a", "doc-mine", 0);
  ASSERT_TRUE(store_->add({same_id}));
  EXPECT_EQ(*store_->remove_document(kAccount, "doc-mine"), 1);
  EXPECT_EQ(count(kOtherAccount, "kb-a"), 2);
}

TEST_P(VectorStoreTest, ExcludedDocumentNeverAppearsAndKStillFills) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks;
  // The excluded document's chunks are the nearest ones to the query.
  std::vector<float> query = random_vector(rng_);
  for (int i = 0; i < 10; ++i) {
    ChunkVector c = chunk(kAccount, "kb-a", "doc-self", i);
    for (int d = 0; d < kDims; ++d) c.embedding[d] = query[d] + 0.01f * c.embedding[d];
    chunks.push_back(c);
  }
  for (int i = 0; i < 20; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  ASSERT_TRUE(store_->add(chunks));
  EXPECT_EQ(search(kAccount, "kb-a", query, 3)[0].document_id, "doc-self");
  auto hits = search(kAccount, "kb-a", query, 5, "doc-self");
  ASSERT_EQ(hits.size(), 5u);
  for (const SearchHit& hit : hits) EXPECT_NE(hit.document_id, "doc-self");
}

TEST_P(VectorStoreTest, ReopeningRebuildsTheIndexWithTheSameResults) {
  ensure(kAccount, "kb-a");
  ensure(kAccount, "kb-b");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 300; ++i)
    chunks.push_back(chunk(kAccount, i % 3 ? "kb-a" : "kb-b", "doc-" + std::to_string(i), 0));
  ASSERT_TRUE(store_->add(chunks));
  ASSERT_TRUE(store_->remove_document(kAccount, "doc-1"));
  std::vector<std::vector<float>> queries;
  for (int i = 0; i < 10; ++i) queries.push_back(random_vector(rng_));
  queries.push_back(chunks[1].embedding);
  auto run_all = [&] {
    std::vector<std::vector<std::pair<std::string, float>>> results;
    for (const auto& q : queries) {
      for (const char* kb : {"kb-a", "kb-b"}) {
        std::vector<std::pair<std::string, float>> r;
        for (const SearchHit& hit : search(kAccount, kb, q, 5))
          r.emplace_back(hit.document_id, hit.score);
        results.push_back(r);
      }
    }
    return results;
  };
  auto before = run_all();
  reopen();
  auto after = run_all();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_EQ(before[i].size(), after[i].size());
    for (size_t j = 0; j < before[i].size(); ++j) {
      EXPECT_EQ(before[i][j].first, after[i][j].first);
      EXPECT_NEAR(before[i][j].second, after[i][j].second, 1e-5);
      EXPECT_NE(after[i][j].first, "doc-1") << "a removed document stays removed";
    }
  }
  EXPECT_EQ(count(kAccount, "kb-a"), 199);
}

TEST_P(VectorStoreTest, ConcurrentAddsAndSearchesStayConsistent) {
  ensure(kAccount, "kb-a");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      for (int i = 0; i < 25; ++i) {
        ChunkVector c{kAccount, "kb-a", "doc-" + std::to_string(t), i,
                      "text",   "{}",   random_vector(rng)};
        EXPECT_TRUE(store_->add({c}));
        auto hits = store_->search({kAccount, "kb-a", c.embedding, 1, {}});
        ASSERT_TRUE(hits);
        ASSERT_FALSE(hits->empty());
        EXPECT_EQ((*hits)[0].document_id, c.document_id);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(count(kAccount, "kb-a"), 100);
}

TEST_P(PgVectorStoreTest, AChunkAddedThroughOneReplicaIsFoundThroughAnotherWithinASecond) {
  auto other = open_another();
  ASSERT_TRUE(other) << other.error().message;
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 20; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  ASSERT_TRUE(store_->add(chunks));
  auto started = std::chrono::steady_clock::now();
  auto hits = (*other)->search({kAccount, "kb-a", chunks[7].embedding, 1, std::nullopt});
  ASSERT_TRUE(hits) << hits.error().message;
  ASSERT_EQ(hits->size(), 1u);
  EXPECT_EQ(hits->front().document_id, "doc-7");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  // A removal through the other replica is in force here too.
  ASSERT_EQ((*other)->remove_document(kAccount, "doc-7").value(), 1);
  for (const SearchHit& hit : search(kAccount, "kb-a", chunks[7].embedding, 5)) {
    EXPECT_NE(hit.document_id, "doc-7");
  }
  ChunkVector late = chunk(kAccount, "kb-a", "doc-late", 0);
  ASSERT_TRUE(store_->add({late}));
  auto found = (*other)->search({kAccount, "kb-a", late.embedding, 1, std::nullopt});
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().document_id, "doc-late");
  EXPECT_EQ((*other)->count(kAccount, "kb-a").value(), 20);
}

// A PostgreSQL replica that saves its indexes in `dir`; `events` records loads, rebuilds, saves.
class PgSavedIndexTest : public VectorStoreTest {
 protected:
  Result<std::unique_ptr<VectorStore>> open_saving(const fs::path& dir, int save_after = 20'000) {
    auto pool = pg::Pool::open({database_->url(), 4});
    if (!pool) return std::unexpected(pool.error());
    IndexOptions options{.build_threads = 2, .index_dir = dir, .save_after_changes = save_after};
    options.on_index_event = [this](const IndexEvent& event) {
      std::lock_guard lock(events_mutex_);
      events_.push_back(event);
    };
    return open_postgres_vector_store(*pool, options);
  }
  std::vector<IndexEvent> take_events() {
    std::lock_guard lock(events_mutex_);
    return std::exchange(events_, {});
  }
  bool saw(IndexEvent::Kind kind) {
    for (const IndexEvent& e : take_events()) {
      if (e.kind == kind && e.knowledge_base_id == "kb-a") return true;
    }
    return false;
  }
  // The same queries through `replica` and through a replica that rebuilt from the rows.
  void expect_same_results_as_a_fresh_rebuild(VectorStore& replica,
                                              const std::vector<ChunkVector>& queries) {
    auto fresh = open_another();
    ASSERT_TRUE(fresh) << fresh.error().message;
    for (const ChunkVector& q : queries) {
      auto got = replica.search({kAccount, "kb-a", q.embedding, 5, std::nullopt});
      auto want = (*fresh)->search({kAccount, "kb-a", q.embedding, 5, std::nullopt});
      ASSERT_TRUE(got && want);
      ASSERT_EQ(got->size(), want->size());
      for (size_t i = 0; i < got->size(); ++i) {
        EXPECT_EQ((*got)[i].document_id, (*want)[i].document_id);
        EXPECT_EQ((*got)[i].chunk_index, (*want)[i].chunk_index);
        EXPECT_FLOAT_EQ((*got)[i].score, (*want)[i].score);
      }
    }
  }
  fs::path index_dir() const { return dir_ / "vector-index"; }

  std::mutex events_mutex_;
  std::vector<IndexEvent> events_;  // guarded by events_mutex_
};

TEST_P(PgSavedIndexTest, PostgresReplicaLoadsItsSavedIndexAndCatchesUpFromItsRevision) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> early, late;
  for (int i = 0; i < 30; ++i)
    early.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  for (int i = 0; i < 10; ++i)
    late.push_back(chunk(kAccount, "kb-a", "late-" + std::to_string(i), 0));
  {
    auto saving = open_saving(index_dir());
    ASSERT_TRUE(saving) << saving.error().message;
    ASSERT_TRUE((*saving)->add(early));
    take_events();
  }  // a clean shutdown saves
  EXPECT_TRUE(saw(IndexEvent::Kind::kSaved));
  EXPECT_TRUE(fs::exists(index_dir()));
  // Other replicas change the base meanwhile.
  ASSERT_TRUE(store_->add(late));
  ASSERT_EQ(store_->remove_document(kAccount, "doc-3").value(), 1);

  auto again = open_saving(index_dir());
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(saw(IndexEvent::Kind::kLoaded));  // not rebuilt from the rows
  for (const ChunkVector& c : late) {
    auto hits = (*again)->search({kAccount, "kb-a", c.embedding, 1, std::nullopt});
    ASSERT_TRUE(hits) << hits.error().message;
    ASSERT_EQ(hits->size(), 1u);
    EXPECT_EQ(hits->front().document_id, c.document_id);
  }
  auto removed = (*again)->search({kAccount, "kb-a", early[3].embedding, 5, std::nullopt});
  ASSERT_TRUE(removed);
  for (const SearchHit& hit : *removed) EXPECT_NE(hit.document_id, "doc-3");
  std::vector<ChunkVector> queries = late;
  for (int i = 0; i < 10; ++i) queries.push_back(chunk(kAccount, "kb-a", "query", i));
  expect_same_results_as_a_fresh_rebuild(**again, queries);
}

TEST_P(PgSavedIndexTest, PostgresReplicaIgnoresACorruptedSavedIndexAndRebuildsIt) {
  ensure(kAccount, "kb-a");
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 30; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  {
    auto saving = open_saving(index_dir());
    ASSERT_TRUE(saving) << saving.error().message;
    ASSERT_TRUE((*saving)->add(chunks));
  }
  ASSERT_TRUE(saw(IndexEvent::Kind::kSaved));
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(index_dir())) files.push_back(entry.path());
  ASSERT_EQ(files.size(), 1u);
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    f.write("garbage!", 8);
  }
  auto again = open_saving(index_dir());
  ASSERT_TRUE(again) << again.error().message;
  std::string rebuilt_because;
  for (const IndexEvent& e : take_events()) {
    EXPECT_NE(e.kind, IndexEvent::Kind::kLoaded);
    if (e.kind == IndexEvent::Kind::kRebuilt) rebuilt_because = e.reason;
  }
  EXPECT_FALSE(rebuilt_because.empty());
  expect_same_results_as_a_fresh_rebuild(**again, chunks);
  again->reset();  // the rebuilt index replaces the damaged file
  EXPECT_TRUE(saw(IndexEvent::Kind::kSaved));
  auto third = open_saving(index_dir());
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_TRUE(saw(IndexEvent::Kind::kLoaded));
}

TEST_P(PgSavedIndexTest, PostgresReplicaSavesAChangedIndexWithoutWaitingForShutdown) {
  ensure(kAccount, "kb-a");
  auto saving = open_saving(index_dir(), 10);
  ASSERT_TRUE(saving) << saving.error().message;
  std::vector<ChunkVector> chunks;
  for (int i = 0; i < 20; ++i)
    chunks.push_back(chunk(kAccount, "kb-a", "doc-" + std::to_string(i), 0));
  ASSERT_TRUE((*saving)->add(chunks));
  bool saved = false;
  for (int i = 0; i < 50 && !saved; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    saved = saw(IndexEvent::Kind::kSaved);
  }
  EXPECT_TRUE(saved);
  // What a kill -9 now would leave: the saved file, loadable by the next start.
  auto next = open_saving(index_dir());
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_TRUE(saw(IndexEvent::Kind::kLoaded));
  expect_same_results_as_a_fresh_rebuild(**next, chunks);
}

INSTANTIATE_TEST_SUITE_P(Backends, VectorStoreTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, PgVectorStoreTest, ::testing::Values(Backend::kPostgres),
                         backend_name);
INSTANTIATE_TEST_SUITE_P(Backends, PgSavedIndexTest, ::testing::Values(Backend::kPostgres),
                         backend_name);

}  // namespace
}  // namespace plinth::vectors
