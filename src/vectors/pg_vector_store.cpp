// The PostgreSQL vector store shared by replicas: chunk rows (the source of truth) plus a change
// log per knowledge base, written here in one transaction with each change and announced by
// NOTIFY. Each replica's in-memory indexes (pg_index_mirrors.h) catch up from that log on every
// search, after every write and whenever a NOTIFY says another replica changed a base.
#include "plinth/vectors/pg_vector_store.h"

#include <map>
#include <unordered_map>

#include "ann_index.h"
#include "chunk_checks.h"
#include "pg_index_mirrors.h"
#include "plinth/core/log.h"
#include "plinth/pg/listener.h"
#include "plinth/pg/migrations.h"

namespace plinth::vectors {
namespace {

// vectors_changes is each knowledge base's ordered log of added and removed labels. Writers
// lock the knowledge base's row first, so within one base the log's seq order is commit order
// and a replica that applied everything up to seq N never later sees a smaller seq appear.
const std::vector<pg::Migration> kMigrations = {{1, R"(
CREATE TABLE vectors_knowledge_bases (
  account_id TEXT NOT NULL,
  id TEXT NOT NULL,
  embedding_model TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  created_at BIGINT NOT NULL DEFAULT EXTRACT(EPOCH FROM now())::bigint,
  PRIMARY KEY (account_id, id)
);
CREATE TABLE vectors_chunks (
  label BIGSERIAL PRIMARY KEY,
  account_id TEXT NOT NULL,
  knowledge_base_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL,
  text TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  embedding BYTEA NOT NULL,  -- float32, little-endian, unit length
  UNIQUE (account_id, knowledge_base_id, document_id, chunk_index)
);
CREATE INDEX vectors_chunks_document ON vectors_chunks(account_id, document_id);
CREATE TABLE vectors_changes (
  seq BIGSERIAL PRIMARY KEY,
  account_id TEXT NOT NULL,
  knowledge_base_id TEXT NOT NULL,
  label BIGINT NOT NULL,
  removed BOOLEAN NOT NULL
);
CREATE INDEX vectors_changes_base ON vectors_changes(account_id, knowledge_base_id, seq);
CREATE INDEX vectors_changes_label ON vectors_changes(label);
)"}};

// Chunks that no change entry names (copied in by `plinth store migrate`, whose labels are
// below every label added here since) are logged as added, once, at open.
constexpr std::string_view kLogCopiedChunks =
    "INSERT INTO vectors_changes (account_id, knowledge_base_id, label, removed)"
    " SELECT c.account_id, c.knowledge_base_id, c.label, false FROM vectors_chunks c"
    " WHERE NOT EXISTS (SELECT 1 FROM vectors_changes l WHERE l.label = c.label) ORDER BY c.label";

constexpr const char* kChannel = "plinth_vectors";  // payload: account id '/' knowledge base id

class PgVectorStore final : public VectorStore {
 public:
  PgVectorStore(std::shared_ptr<pg::Pool> pool, const IndexOptions& options)
      : pool_(std::move(pool)), mirrors_(pool_, options) {}

  ~PgVectorStore() override {
    // The listener's thread calls into mirrors_, whose destruction then joins the saver thread
    // and saves every changed index.
    listener_.reset();
  }

  // Loads the saved indexes, catches every base up from the log, then LISTENs for changes.
  Status start() {
    mirrors_.load_saved_indexes();
    mirrors_.catch_up_all();
    return start_listening();
  }

  Result<KnowledgeBase> ensure_knowledge_base(std::string_view account_id, std::string_view id,
                                              std::string_view embedding_model) override {
    if (auto st = check_id(account_id, "account id"); !st) return std::unexpected(st.error());
    if (auto st = check_id(id, "knowledge base id"); !st) return std::unexpected(st.error());
    if (auto st = check_id(embedding_model, "embedding model"); !st) {
      return std::unexpected(st.error());
    }
    auto inserted = pool_->exec_prepared(
        "vectors_ensure_kb",
        "INSERT INTO vectors_knowledge_bases (account_id, id, embedding_model,"
        " dimensions) VALUES ($1, $2, $3, 0) ON CONFLICT (account_id, id) DO NOTHING",
        {account_id, id, embedding_model});
    if (!inserted) return std::unexpected(inserted.error());
    auto kb = knowledge_base(account_id, id);
    if (kb && kb->embedding_model != embedding_model) {
      return fail(ErrorCode::kConflict, "knowledge base " + std::string(id) +
                                            " already uses the embedding model " +
                                            kb->embedding_model);
    }
    return kb;
  }

  Result<KnowledgeBase> knowledge_base(std::string_view account_id, std::string_view id) override {
    auto rows =
        pool_->exec_prepared("vectors_kb",
                             "SELECT embedding_model, dimensions FROM vectors_knowledge_bases"
                             " WHERE account_id = $1 AND id = $2",
                             {account_id, id});
    if (!rows) return std::unexpected(rows.error());
    if (rows->empty()) {
      return fail(ErrorCode::kNotFound,
                  "No knowledge base with id " + std::string(id) + " exists in this account.");
    }
    return KnowledgeBase{std::string(account_id), std::string(id), rows->text(0, 0),
                         static_cast<int>(rows->int64(0, 1))};
  }

  Status add(const std::vector<ChunkVector>& chunks) override {
    std::map<KbKey, std::vector<size_t>> groups;
    std::vector<std::vector<float>> unit(chunks.size());
    for (size_t i = 0; i < chunks.size(); ++i) {
      const ChunkVector& c = chunks[i];
      if (auto st = check_id(c.account_id, "account id"); !st) return st;
      if (auto st = check_id(c.knowledge_base_id, "knowledge base id"); !st) return st;
      if (auto st = check_id(c.document_id, "document id"); !st) return st;
      if (c.chunk_index < 0) return fail(ErrorCode::kInvalidArgument, "chunk index is negative");
      if (c.embedding.empty() || c.embedding.size() > kMaxDimensions) {
        return fail(ErrorCode::kInvalidArgument,
                    "embedding must have 1 to " + std::to_string(kMaxDimensions) + " dimensions");
      }
      auto v = normalized(c.embedding);
      if (!v) return std::unexpected(v.error());
      unit[i] = std::move(*v);
      groups[{c.account_id, c.knowledge_base_id}].push_back(i);
    }
    {
      auto conn = pool_->acquire();
      if (!conn) return std::unexpected(conn.error());
      auto transaction = pg::Transaction::begin(**conn);
      if (!transaction) return std::unexpected(transaction.error());
      for (const auto& [key, members] : groups) {  // key order: the same lock order for all
        auto locked = (*conn)->exec_prepared(
            "vectors_lock_kb",
            "SELECT dimensions FROM vectors_knowledge_bases WHERE account_id = $1 AND id = $2"
            " FOR UPDATE",
            {key.first, key.second});
        if (!locked) return std::unexpected(locked.error());
        if (locked->empty()) {
          return fail(ErrorCode::kNotFound,
                      "No knowledge base with id " + key.second + " exists in this account.");
        }
        int stored_dims = static_cast<int>(locked->int64(0, 0));
        int dims = stored_dims;
        for (size_t i : members) {
          int have = static_cast<int>(unit[i].size());
          if (dims == 0) dims = have;
          if (have != dims) {
            return fail(ErrorCode::kInvalidArgument,
                        "embedding has " + std::to_string(have) + " dimensions; knowledge base " +
                            key.second + " holds " + std::to_string(dims));
          }
        }
        if (stored_dims == 0) {
          auto set = (*conn)->exec_prepared("vectors_set_dims",
                                            "UPDATE vectors_knowledge_bases SET dimensions = $1 "
                                            "WHERE account_id = $2 AND id = $3",
                                            {dims, key.first, key.second});
          if (!set) return std::unexpected(set.error());
        }
        for (size_t i : members) {
          const ChunkVector& c = chunks[i];
          // Already stored: nothing changes (no log entry), as in SQLite.
          auto added = (*conn)->exec_prepared(
              "vectors_add_chunk",
              "WITH added AS (INSERT INTO vectors_chunks (account_id, knowledge_base_id,"
              " document_id, chunk_index, text, metadata_json, embedding)"
              " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING label)"
              " INSERT INTO vectors_changes (account_id, knowledge_base_id, label, removed)"
              " SELECT $1, $2, label, false FROM added",
              {c.account_id, c.knowledge_base_id, c.document_id, c.chunk_index, c.text,
               c.metadata_json.empty() ? std::string("{}") : c.metadata_json,
               pg::Param::bytes(as_bytes(unit[i]))});
          if (!added) return std::unexpected(added.error());
        }
        if (auto told = pg::notify(**conn, kChannel, key.first + "/" + key.second); !told) {
          return std::unexpected(told.error());
        }
      }
      if (auto committed = transaction->commit(); !committed) return committed;
    }
    for (const auto& [key, members] : groups) {
      if (auto caught = mirrors_.catch_up(key); !caught) return caught;
    }
    return ok();
  }

  Result<int> remove_document(std::string_view account_id, std::string_view document_id) override {
    std::vector<KbKey> touched;
    int removed = 0;
    {
      auto conn = pool_->acquire();
      if (!conn) return std::unexpected(conn.error());
      auto transaction = pg::Transaction::begin(**conn);
      if (!transaction) return std::unexpected(transaction.error());
      auto bases = (*conn)->exec_prepared(
          "vectors_lock_document_kbs",
          "SELECT id FROM vectors_knowledge_bases WHERE account_id = $1 AND id IN (SELECT"
          " knowledge_base_id FROM vectors_chunks WHERE account_id = $1 AND document_id = $2)"
          " ORDER BY id FOR UPDATE",
          {account_id, document_id});
      if (!bases) return std::unexpected(bases.error());
      for (int b = 0; b < bases->size(); ++b) {
        KbKey key{std::string(account_id), bases->text(b, 0)};
        auto gone = (*conn)->exec_prepared(
            "vectors_remove_document",
            "WITH gone AS (DELETE FROM vectors_chunks WHERE account_id = $1 AND"
            " knowledge_base_id = $2 AND document_id = $3 RETURNING label),"
            " logged AS (INSERT INTO vectors_changes (account_id, knowledge_base_id, label,"
            " removed) SELECT $1, $2, label, true FROM gone RETURNING 1)"
            " SELECT COUNT(*) FROM logged",
            {key.first, key.second, document_id});
        if (!gone) return std::unexpected(gone.error());
        removed += static_cast<int>(gone->int64(0, 0));
        if (auto told = pg::notify(**conn, kChannel, key.first + "/" + key.second); !told) {
          return std::unexpected(told.error());
        }
        touched.push_back(std::move(key));
      }
      if (auto committed = transaction->commit(); !committed) {
        return std::unexpected(committed.error());
      }
    }
    for (const KbKey& key : touched) {
      if (auto caught = mirrors_.catch_up(key); !caught) return std::unexpected(caught.error());
    }
    return removed;
  }

  Result<std::vector<SearchHit>> search(const SearchQuery& query) override {
    if (query.k < 1 || query.k > kMaxK) {
      return fail(ErrorCode::kInvalidArgument, "k must be between 1 and " + std::to_string(kMaxK));
    }
    auto kb = knowledge_base(query.account_id, query.knowledge_base_id);
    if (!kb) return std::unexpected(kb.error());
    if (kb->dimensions == 0) return std::vector<SearchHit>{};
    if (static_cast<int>(query.embedding.size()) != kb->dimensions) {
      return fail(ErrorCode::kInvalidArgument, "query embedding has " +
                                                   std::to_string(query.embedding.size()) +
                                                   " dimensions; knowledge base " + kb->id +
                                                   " holds " + std::to_string(kb->dimensions));
    }
    auto unit = normalized(query.embedding);
    if (!unit) return std::unexpected(unit.error());
    KbKey key{query.account_id, query.knowledge_base_id};
    // Whatever any replica committed before this search is in the index after this.
    if (auto caught = mirrors_.catch_up(key); !caught) return std::unexpected(caught.error());
    int64_t excluded = 0;
    if (query.exclude_document_id) {
      auto rows = pool_->exec_prepared(
          "vectors_count_document",
          "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = $1 AND"
          " knowledge_base_id = $2 AND document_id = $3",
          {query.account_id, query.knowledge_base_id, *query.exclude_document_id});
      if (!rows) return std::unexpected(rows.error());
      excluded = rows->int64(0, 0);
    }
    auto neighbours = mirrors_.search(key, unit->data(), static_cast<size_t>(query.k + excluded));
    if (!neighbours) return std::unexpected(neighbours.error());
    if (neighbours->empty()) return std::vector<SearchHit>{};
    std::string labels = "{";
    for (size_t i = 0; i < neighbours->size(); ++i) {
      labels += (i == 0 ? "" : ",") + std::to_string((*neighbours)[i].label);
    }
    labels += "}";
    auto rows =
        pool_->exec_prepared("vectors_hits",
                             "SELECT label, document_id, chunk_index, text, metadata_json FROM"
                             " vectors_chunks WHERE account_id = $1 AND knowledge_base_id = $2 AND"
                             " label = ANY($3::bigint[])",
                             {query.account_id, query.knowledge_base_id, labels});
    if (!rows) return std::unexpected(rows.error());
    std::unordered_map<uint64_t, SearchHit> found;
    for (int i = 0; i < rows->size(); ++i) {
      found[static_cast<uint64_t>(rows->int64(i, 0))] =
          SearchHit{rows->text(i, 1), static_cast<int>(rows->int64(i, 2)), rows->text(i, 3),
                    rows->text(i, 4), 0.0f};
    }
    std::vector<SearchHit> hits;
    for (const Neighbour& n : *neighbours) {
      auto it = found.find(n.label);
      if (it == found.end()) continue;  // removed since the index was searched
      if (query.exclude_document_id && it->second.document_id == *query.exclude_document_id) {
        continue;
      }
      it->second.score = n.score;
      hits.push_back(std::move(it->second));
      if (static_cast<int>(hits.size()) == query.k) break;
    }
    return hits;
  }

  Result<int64_t> count(std::string_view account_id, std::string_view knowledge_base_id) override {
    auto rows = pool_->exec_prepared("vectors_count",
                                     "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = $1 AND"
                                     " knowledge_base_id = $2",
                                     {account_id, knowledge_base_id});
    if (!rows) return std::unexpected(rows.error());
    return rows->int64(0, 0);
  }

  Result<std::vector<KnowledgeBase>> list_knowledge_bases(std::string_view account_id) override {
    auto rows =
        pool_->exec_prepared("vectors_list_kbs",
                             "SELECT id, embedding_model, dimensions FROM vectors_knowledge_bases"
                             " WHERE account_id = $1 ORDER BY id",
                             {account_id});
    if (!rows) return std::unexpected(rows.error());
    std::vector<KnowledgeBase> out;
    for (int i = 0; i < rows->size(); ++i) {
      out.push_back({std::string(account_id), rows->text(i, 0), rows->text(i, 1),
                     static_cast<int>(rows->int64(i, 2))});
    }
    return out;
  }

 private:
  Status start_listening() {
    pg::ListenerOptions listen;
    listen.url = pool_->options().url;
    listen.channels = {kChannel};
    listen.on_notify = [this](const std::string&, const std::string& payload) {
      size_t slash = payload.find('/');
      if (slash == std::string::npos) return;
      KbKey key{payload.substr(0, slash), payload.substr(slash + 1)};
      if (auto caught = mirrors_.catch_up(key); !caught) {
        log::warn("vectors: cannot catch up {}: {}", key.second, caught.error().message);
      }
    };
    listen.on_connect = [this] { mirrors_.catch_up_all(); };
    auto listener = pg::Listener::start(std::move(listen));
    if (!listener) return std::unexpected(listener.error());
    listener_ = std::move(*listener);
    return ok();
  }

  std::shared_ptr<pg::Pool> pool_;
  PgIndexMirrors mirrors_;
  std::unique_ptr<pg::Listener> listener_;  // last: stopped first
};

}  // namespace

Result<std::unique_ptr<VectorStore>> open_postgres_vector_store(std::shared_ptr<pg::Pool> pool,
                                                                const IndexOptions& options) {
  if (options.m < 2 || options.ef_construction < 1 || options.ef_search < 1) {
    return fail(ErrorCode::kInvalidArgument, "invalid HNSW parameters");
  }
  {
    auto conn = pool->acquire();
    if (!conn) return std::unexpected(conn.error());
    if (auto st = pg::migrate(**conn, "vectors", kMigrations); !st) {
      return std::unexpected(st.error());
    }
    if (auto logged = (*conn)->exec(kLogCopiedChunks); !logged) {
      return std::unexpected(logged.error());
    }
  }
  auto store = std::make_unique<PgVectorStore>(std::move(pool), options);
  if (auto st = store->start(); !st) return std::unexpected(st.error());
  return std::unique_ptr<VectorStore>(std::move(store));
}

}  // namespace plinth::vectors
