// Saved vector indexes on a real database file: a reopened store loads them with the same
// results, and rebuilds from the rows whenever a file is stale, truncated or damaged.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>

#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {
namespace {

namespace fs = std::filesystem;

constexpr int kDims = 16;
constexpr const char* kAccount = "111111111111";

// The loads, rebuilds and saves a store reports; saves arrive on its saver thread.
class EventLog {
 public:
  void record(const IndexEvent& event) {
    std::lock_guard lock(mutex_);
    events_.push_back(event);
    changed_.notify_all();
  }
  std::vector<IndexEvent> take() {
    std::lock_guard lock(mutex_);
    return std::exchange(events_, {});
  }
  bool wait_for_save(std::chrono::seconds timeout) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] {
      for (const auto& e : events_) {
        if (e.kind == IndexEvent::Kind::kSaved) return true;
      }
      return false;
    });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<IndexEvent> events_;  // guarded by mutex_
};

class IndexPersistenceTest : public ::testing::Test {
 protected:
  IndexPersistenceTest() {
    dir_ =
        fs::temp_directory_path() / ("plinth-index-test-" + std::to_string(std::random_device{}()));
    fs::create_directories(dir_);
    reopen();
  }
  ~IndexPersistenceTest() override {
    store_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }

  IndexOptions options(bool persist = true) {
    IndexOptions o;
    o.build_threads = 2;
    o.persist = persist;
    o.on_index_event = [this](const IndexEvent& e) { events_.record(e); };
    return o;
  }

  void reopen(IndexOptions o) {
    store_.reset();
    db_.reset();
    events_.take();
    auto db = store::Database::open(dir_ / "plinth.db");
    ASSERT_TRUE(db) << db.error().message;
    db_ = std::move(*db);
    auto opened = open_sqlite_vector_store(*db_, o);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  void reopen() { reopen(options()); }

  // The kinds of the open's events for each knowledge base, with the rebuild reasons.
  std::string opened_as(const std::string& kb) {
    for (const IndexEvent& e : events_.take()) {
      if (e.knowledge_base_id != kb) continue;
      if (e.kind == IndexEvent::Kind::kLoaded) return "loaded";
      if (e.kind == IndexEvent::Kind::kRebuilt) return "rebuilt: " + e.reason;
    }
    return "none";
  }

  fs::path index_file() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir_ / "plinth.db-vectors")) {
      if (entry.path().extension() == ".hnsw") files.push_back(entry.path());
    }
    EXPECT_EQ(files.size(), 1u);
    return files.empty() ? fs::path() : files[0];
  }

  std::vector<ChunkVector> add(const std::string& kb, const std::string& prefix, int n) {
    std::normal_distribution<float> normal;
    std::vector<ChunkVector> chunks;
    for (int i = 0; i < n; ++i) {
      std::vector<float> v(kDims);
      for (float& x : v) x = normal(rng_);
      chunks.push_back({kAccount, kb, prefix + std::to_string(i), 0, "text", "{}", v});
    }
    EXPECT_TRUE(store_->add(chunks));
    return chunks;
  }

  // Top-5 document ids and scores of each query.
  std::vector<std::vector<std::pair<std::string, float>>> search_all(
      const std::string& kb, const std::vector<ChunkVector>& queries) {
    std::vector<std::vector<std::pair<std::string, float>>> out;
    for (const ChunkVector& q : queries) {
      auto hits = store_->search({kAccount, kb, q.embedding, 5, std::nullopt});
      EXPECT_TRUE(hits);
      auto& row = out.emplace_back();
      if (hits) {
        for (const SearchHit& h : *hits) row.emplace_back(h.document_id, h.score);
      }
    }
    return out;
  }

  std::string top_hit(const std::string& kb, const ChunkVector& query) {
    auto hits = store_->search({kAccount, kb, query.embedding, 1, std::nullopt});
    return hits && !hits->empty() ? (*hits)[0].document_id : "";
  }

  std::mt19937 rng_{7};
  fs::path dir_;
  EventLog events_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<VectorStore> store_;
};

TEST_F(IndexPersistenceTest, ReopenedStoreLoadsTheSavedIndexWithIdenticalResults) {
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-b", "bge"));
  auto a = add("kb-a", "a-", 300);
  auto b = add("kb-b", "b-", 40);
  ASSERT_EQ(*store_->remove_document(kAccount, "a-7"), 1);
  auto before_a = search_all("kb-a", a);
  auto before_b = search_all("kb-b", b);
  reopen();
  auto events = events_.take();
  ASSERT_EQ(events.size(), 2u);
  for (const IndexEvent& e : events) EXPECT_EQ(e.kind, IndexEvent::Kind::kLoaded) << e.reason;
  EXPECT_EQ(search_all("kb-a", a), before_a);
  EXPECT_EQ(search_all("kb-b", b), before_b);
  EXPECT_NE(top_hit("kb-a", a[7]), "a-7") << "a removed chunk stays removed";
  // The loaded index takes new chunks and removals like a built one, and saves them again.
  auto more = add("kb-a", "more-", 20);
  ASSERT_EQ(*store_->remove_document(kAccount, "a-8"), 1);
  reopen();
  EXPECT_EQ(opened_as("kb-a"), "loaded");
  EXPECT_EQ(top_hit("kb-a", more[3]), "more-3");
  EXPECT_NE(top_hit("kb-a", a[8]), "a-8");
  EXPECT_EQ(*store_->count(kAccount, "kb-a"), 318);
}

TEST_F(IndexPersistenceTest, RowsWrittenByAnotherStoreAfterTheSaveForceARebuild) {
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  auto chunks = add("kb-a", "doc-", 200);
  reopen();
  ASSERT_EQ(opened_as("kb-a"), "loaded");
  // Another process (here: connection) writes rows the open store's index never sees, as a
  // crash between a commit and the next save would leave them.
  auto other_db = store::Database::open(dir_ / "plinth.db");
  ASSERT_TRUE(other_db);
  auto other = open_sqlite_vector_store(**other_db, options(false));
  ASSERT_TRUE(other);
  ChunkVector late = chunks[0];
  late.document_id = "late";
  late.embedding[0] += 5.0f;
  ASSERT_TRUE((*other)->add({late}));
  ASSERT_EQ(*(*other)->remove_document(kAccount, "doc-5"), 1);
  other->reset();
  other_db->reset();
  reopen();  // the first store's close does not save an index behind the rows
  EXPECT_TRUE(opened_as("kb-a").starts_with("rebuilt: saved index is stale"));
  EXPECT_EQ(top_hit("kb-a", late), "late");
  EXPECT_NE(top_hit("kb-a", chunks[5]), "doc-5");
  reopen();
  EXPECT_EQ(opened_as("kb-a"), "loaded") << "the rebuilt index was saved";
  EXPECT_EQ(top_hit("kb-a", late), "late");
}

TEST_F(IndexPersistenceTest, AnIndexFileOlderThanTheRowsIsNotLoaded) {
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  auto first = add("kb-a", "first-", 100);
  reopen();
  ASSERT_EQ(opened_as("kb-a"), "loaded");
  fs::copy_file(index_file(), dir_ / "old.hnsw");
  auto second = add("kb-a", "second-", 10);
  ASSERT_EQ(*store_->remove_document(kAccount, "first-3"), 1);
  store_.reset();
  // As if the process died after the commits but before the save reached the disk.
  fs::copy_file(dir_ / "old.hnsw", index_file(), fs::copy_options::overwrite_existing);
  reopen();
  EXPECT_TRUE(opened_as("kb-a").starts_with("rebuilt: saved index is stale"));
  EXPECT_EQ(top_hit("kb-a", second[9]), "second-9");
  EXPECT_NE(top_hit("kb-a", first[3]), "first-3");
  EXPECT_EQ(top_hit("kb-a", first[4]), "first-4");
}

TEST_F(IndexPersistenceTest, ATruncatedOrDamagedIndexFileForcesARebuild) {
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  auto chunks = add("kb-a", "doc-", 300);
  auto expected = search_all("kb-a", chunks);
  store_.reset();
  fs::path file = index_file();
  fs::resize_file(file, fs::file_size(file) / 2);
  reopen();
  EXPECT_TRUE(opened_as("kb-a").starts_with("rebuilt: saved index is truncated"));
  EXPECT_EQ(search_all("kb-a", chunks), expected);
  store_.reset();  // saves the rebuilt index
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    char byte = 0;
    f.read(&byte, 1);
    f.seekp(static_cast<std::streamoff>(fs::file_size(file) / 2));
    byte = static_cast<char>(byte ^ 0x40);
    f.write(&byte, 1);
  }
  reopen();
  EXPECT_EQ(opened_as("kb-a"), "rebuilt: saved index checksum differs");
  EXPECT_EQ(search_all("kb-a", chunks), expected);
  store_.reset();
  fs::resize_file(file, 10);
  reopen();
  EXPECT_TRUE(opened_as("kb-a").starts_with("rebuilt: saved index is truncated"));
  reopen();
  EXPECT_EQ(opened_as("kb-a"), "loaded");
  EXPECT_EQ(search_all("kb-a", chunks), expected);
}

TEST_F(IndexPersistenceTest, OtherHnswParametersForceARebuild) {
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  auto chunks = add("kb-a", "doc-", 50);
  IndexOptions other = options();
  other.m = 8;
  reopen(other);
  EXPECT_EQ(opened_as("kb-a"), "rebuilt: saved index has other dimensions or HNSW parameters");
  EXPECT_EQ(top_hit("kb-a", chunks[10]), "doc-10");
}

TEST_F(IndexPersistenceTest, SavesInTheBackgroundOnceEnoughChunksChanged) {
  IndexOptions o = options();
  o.save_after_changes = 50;
  reopen(o);
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  auto chunks = add("kb-a", "doc-", 60);
  ASSERT_TRUE(events_.wait_for_save(std::chrono::seconds(20)));
  // The first store is still open (and will not save again): a second one loads the file.
  auto other_db = store::Database::open(dir_ / "plinth.db");
  ASSERT_TRUE(other_db);
  EventLog other_events;
  IndexOptions watched = options();
  watched.on_index_event = [&](const IndexEvent& e) { other_events.record(e); };
  auto other = open_sqlite_vector_store(**other_db, watched);
  ASSERT_TRUE(other);
  auto events = other_events.take();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events[0].kind, IndexEvent::Kind::kLoaded) << events[0].reason;
  auto hits = (*other)->search({kAccount, "kb-a", chunks[42].embedding, 1, std::nullopt});
  ASSERT_TRUE(hits && !hits->empty());
  EXPECT_EQ((*hits)[0].document_id, "doc-42");
  other->reset();
  other_db->reset();
}

TEST_F(IndexPersistenceTest, WithoutPersistenceNothingIsWritten) {
  reopen(options(false));
  ASSERT_TRUE(store_->ensure_knowledge_base(kAccount, "kb-a", "bge"));
  add("kb-a", "doc-", 20);
  reopen(options(false));
  EXPECT_EQ(opened_as("kb-a"), "rebuilt: persistence is off");
  fs::path folder = dir_ / "plinth.db-vectors";
  EXPECT_TRUE(!fs::exists(folder) || fs::is_empty(folder));
}

}  // namespace
}  // namespace plinth::vectors
