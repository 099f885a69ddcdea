// The SQLite vector store's class, shared by its row code (sqlite_vector_store.cpp) and its index
// lifecycle: load, rebuild and save (index_lifecycle.cpp). Private to the vectors module.
#pragma once

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ann_index.h"
#include "plinth/store/database.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

using KbKey = std::pair<std::string, std::string>;  // account id, knowledge base id

// One knowledge base's index and the lock that orders its writers. Lock order: save_mutex, then
// mutex, then the database's; never the other way round.
struct IndexSlot {
  std::shared_mutex mutex;
  std::unique_ptr<AnnIndex> index;  // guarded by mutex; null until the first vector
  // The knowledge base's revision that `index` provably reflects (a null index: no rows);
  // nullopt when unknown (another process changed the rows, or indexing failed), and then the
  // index is never saved. Guarded by mutex.
  std::optional<int64_t> revision;

  std::mutex save_mutex;                  // serializes saves of this index
  std::optional<int64_t> saved_revision;  // guarded by save_mutex: the revision on disk
  std::atomic<int64_t> unsaved_changes{0};
  std::atomic<int64_t> first_unsaved_ms{0};  // steady time of the oldest unsaved change; 0: none
};

// Rows of a knowledge base, summarized in one snapshot (one statement).
struct StoredState {
  int64_t revision = 0;
  LabelSummary labels;
};

class SqliteVectorStore final : public VectorStore {
 public:
  SqliteVectorStore(store::Database& db, const IndexOptions& options);
  ~SqliteVectorStore() override;

  // Loads or rebuilds every knowledge base's index and starts the background saver.
  Status open();

  Result<KnowledgeBase> ensure_knowledge_base(std::string_view account_id, std::string_view id,
                                              std::string_view embedding_model) override;
  Result<KnowledgeBase> knowledge_base(std::string_view account_id, std::string_view id) override;
  Status add(const std::vector<ChunkVector>& chunks) override;
  Result<int> remove_document(std::string_view account_id, std::string_view document_id) override;
  Result<std::vector<SearchHit>> search(const SearchQuery& query) override;
  Result<int64_t> count(std::string_view account_id, std::string_view knowledge_base_id) override;
  Result<std::vector<KnowledgeBase>> list_knowledge_bases(std::string_view account_id) override;

 private:
  std::shared_ptr<IndexSlot> slot(const KbKey& key, bool create);
  // Adds one batch of rows (label, embedding) of a knowledge base to its index.
  Status index_rows(IndexSlot& slot, int dimensions,
                    const std::vector<std::pair<uint64_t, std::vector<float>>>& rows);
  Result<int64_t> revision(const KbKey& key);
  Result<StoredState> stored_state(const KbKey& key);

  // Replaces a knowledge base's index with one built from its rows; the caller holds the slot's
  // lock exclusively.
  Status rebuild_index(const KnowledgeBase& kb, IndexSlot& slot);
  // Replaces it with the saved one when that provably matches the rows; the error says why not.
  Status load_saved_index(const KnowledgeBase& kb, IndexSlot& slot);
  // Called after a committed change of `changes` chunks.
  void note_changes(IndexSlot& slot, int64_t changes);
  // Saves the index when it is in sync with the rows and newer than its file.
  void save(const KbKey& key, IndexSlot& slot);
  void save_loop(std::stop_token stop);
  void emit(IndexEvent::Kind kind, const KbKey& key, std::string reason);

  store::Database& db_;
  IndexOptions options_;
  std::filesystem::path index_dir_;  // empty: persistence off
  std::mutex slots_mutex_;
  std::map<KbKey, std::shared_ptr<IndexSlot>> slots_;  // guarded by slots_mutex_

  std::mutex saver_mutex_;
  std::condition_variable_any saver_wake_;
  bool save_requested_ = false;  // guarded by saver_mutex_
  std::jthread saver_;           // last: stopped before the members above go
};

}  // namespace plinth::vectors
