// Chunk vectors of knowledge bases: stored durably with their text and document, searched with an
// in-memory HNSW index (hnswlib) per knowledge base, saved to files and loaded on open when it
// provably matches the stored rows (rebuilt from them otherwise).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::store {
class Database;
}

namespace plinth::vectors {

struct KnowledgeBase {
  std::string account_id;
  std::string id;               // "kb-invoices"
  std::string embedding_model;  // catalog id of the embedding model its vectors come from
  int dimensions = 0;           // fixed by the first vector added (0 until then)
};

struct ChunkVector {
  std::string account_id;
  std::string knowledge_base_id;
  std::string document_id;
  int chunk_index = 0;  // position in the document; (document_id, chunk_index) is unique
  std::string text;
  std::string metadata_json = "{}";  // returned with search hits
  std::vector<float> embedding;      // L2-normalized by the caller; scores are cosine similarity
};

struct SearchHit {
  std::string document_id;
  int chunk_index = 0;
  std::string text;
  std::string metadata_json;
  float score = 0;  // cosine similarity, higher is closer
};

struct SearchQuery {
  std::string account_id;
  std::string knowledge_base_id;
  std::vector<float> embedding;
  int k = 5;
  std::optional<std::string> exclude_document_id;  // the analysis stage's "other documents"
};

class VectorStore {
 public:
  virtual ~VectorStore() = default;

  // Creates the knowledge base or returns the existing one (same account and id). kConflict when
  // it exists with another embedding model (its vectors would not be comparable).
  virtual Result<KnowledgeBase> ensure_knowledge_base(std::string_view account_id,
                                                      std::string_view id,
                                                      std::string_view embedding_model) = 0;
  // kNotFound when the account has no such knowledge base.
  virtual Result<KnowledgeBase> knowledge_base(std::string_view account_id,
                                               std::string_view id) = 0;
  // Idempotent per (knowledge base, document_id, chunk_index): adding the same chunks again
  // changes nothing. kInvalidArgument when a dimension differs from the knowledge base's;
  // kNotFound when a chunk names a knowledge base not created by ensure_knowledge_base. All the
  // chunks are committed in one transaction. Embeddings are normalized again on the way in.
  virtual Status add(const std::vector<ChunkVector>& chunks) = 0;
  // Removes a document's chunks from the store and the index; returns how many.
  virtual Result<int> remove_document(std::string_view account_id,
                                      std::string_view document_id) = 0;
  // The k (1..1000) closest chunks, best first. kNotFound for an unknown knowledge base;
  // kInvalidArgument when the query's dimension differs; empty while the base holds no vectors.
  virtual Result<std::vector<SearchHit>> search(const SearchQuery& query) = 0;
  // Chunks stored for a knowledge base (tests, metrics).
  virtual Result<int64_t> count(std::string_view account_id,
                                std::string_view knowledge_base_id) = 0;
  // The account's knowledge bases by id (plinth kb list). Not pure, so test doubles may skip it.
  virtual Result<std::vector<KnowledgeBase>> list_knowledge_bases(std::string_view account_id) {
    return fail(ErrorCode::kUnavailable, "listing knowledge bases is not supported");
  }
};

// How a knowledge base's index came to be, or that it was saved (IndexOptions::on_index_event).
struct IndexEvent {
  enum class Kind { kLoaded, kRebuilt, kSaved };
  Kind kind;
  std::string account_id;
  std::string knowledge_base_id;
  std::string reason;  // kRebuilt: why the saved index was not used
};

// HNSW parameters (hnswlib) and index persistence. The defaults give recall@10 >= 0.95 on 100k
// 384-dim vectors (tests/vectors/vectors_bench.cpp).
struct IndexOptions {
  int m = 16;                 // links per node (2*m on the base layer)
  int ef_construction = 128;  // candidate list while inserting
  int ef_search = 128;        // candidate list while searching (at least k)
  int build_threads = 0;      // threads for bulk inserts and rebuilds; 0 = hardware concurrency

  bool persist = true;  // save indexes to files and load them on open
  // Folder of the saved indexes; empty: "<database file>-vectors" next to the database (no
  // persistence for an in-memory database).
  std::filesystem::path index_dir{};
  // A knowledge base's index is saved in the background once this many chunks were added or
  // removed since its last save, or once its oldest unsaved change is save_interval old; and on
  // the store's destruction.
  int save_after_changes = 20'000;
  std::chrono::seconds save_interval{300};
  // Called on loads, rebuilds and saves (tests, logs); on the thread that did the work.
  std::function<void(const IndexEvent&)> on_index_event{};
};

// Vectors in tables of `db` (migrated on open), which must outlive the store. Each knowledge
// base's index is loaded from its saved file, or rebuilt from the tables, here.
Result<std::unique_ptr<VectorStore>> open_sqlite_vector_store(store::Database& db);
Result<std::unique_ptr<VectorStore>> open_sqlite_vector_store(store::Database& db,
                                                              const IndexOptions& options);

}  // namespace plinth::vectors
