// The PostgreSQL vector store shared by replicas: chunk rows (the source of truth) plus a change
// log per knowledge base; each replica mirrors them into its own in-memory AnnIndex, catching up
// from the log on every search and whenever a NOTIFY says another replica changed a base. With an
// index folder each mirror is also saved there with the log seq it reflects (when its base is
// idle, every save_after_changes changes, and at destruction), loaded at start and caught up
// from that seq, so that a restart does not rebuild every index from the rows.
#include "plinth/vectors/pg_vector_store.h"

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <unordered_map>

#include "ann_index.h"
#include "chunk_checks.h"
#include "index_file.h"
#include "plinth/core/clock.h"
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

using KbKey = std::pair<std::string, std::string>;  // account id, knowledge base id

constexpr const char* kChannel = "plinth_vectors";  // payload: account id '/' knowledge base id

// A base whose mirror took no change for this long is idle: its index is saved.
constexpr int64_t kIdleMs = 2000;
constexpr auto kSaverTick = std::chrono::milliseconds(500);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             Clock::real()->steady_now().time_since_epoch())
      .count();
}

struct Mirror {
  std::shared_mutex mutex;
  std::unique_ptr<AnnIndex> index;  // guarded by mutex; null until the first vector
  int64_t applied = 0;              // guarded by mutex: the last change seq in `index`
  // Guarded by mutex: the seq of the saved file, and the changes applied since it.
  int64_t saved = 0;
  int64_t unsaved_changes = 0;
  int64_t first_unsaved_ms = 0;
  int64_t last_change_ms = 0;
};

class PgVectorStore final : public VectorStore {
 public:
  PgVectorStore(std::shared_ptr<pg::Pool> pool, IndexOptions options)
      : pool_(std::move(pool)), options_(std::move(options)) {
    if (options_.persist) index_dir_ = options_.index_dir;
  }

  Status start_listening() {
    pg::ListenerOptions listen;
    listen.url = pool_->options().url;
    listen.channels = {kChannel};
    listen.on_notify = [this](const std::string&, const std::string& payload) {
      size_t slash = payload.find('/');
      if (slash == std::string::npos) return;
      KbKey key{payload.substr(0, slash), payload.substr(slash + 1)};
      if (auto caught = catch_up(key); !caught) {
        log::warn("vectors: cannot catch up {}: {}", key.second, caught.error().message);
      }
    };
    listen.on_connect = [this] { catch_up_all(); };
    auto listener = pg::Listener::start(std::move(listen));
    if (!listener) return std::unexpected(listener.error());
    listener_ = std::move(*listener);
    return ok();
  }

  ~PgVectorStore() override {
    listener_.reset();  // its thread calls catch_up on this
    if (saver_.joinable()) {
      {
        std::lock_guard lock(saver_mutex_);
        stopping_ = true;
      }
      saver_wake_.notify_all();
      saver_.join();
      save_changed(true);  // a clean shutdown leaves every index saved
    }
  }

  // Loads each knowledge base's saved index (before the first catch-up, which then starts at
  // the saved seq) and starts the thread that saves changed ones. Without a folder: nothing.
  void load_saved_indexes() {
    if (index_dir_.empty()) return;
    std::error_code ec;
    std::filesystem::create_directories(index_dir_, ec);
    if (ec) {
      log::warn("vectors: cannot create {} ({}); indexes are not saved", index_dir_.string(),
                ec.message());
      index_dir_.clear();
      return;
    }
    remove_stale_temp_files(index_dir_);
    auto rows = exec("vectors_saved_kbs",
                     "SELECT k.account_id, k.id, k.dimensions, (SELECT COALESCE(MAX(c.seq), 0)"
                     " FROM vectors_changes c WHERE c.account_id = k.account_id AND"
                     " c.knowledge_base_id = k.id) FROM vectors_knowledge_bases k"
                     " WHERE k.dimensions > 0",
                     {});
    if (!rows) {
      log::warn("vectors: cannot list knowledge bases: {}", rows.error().message);
    }
    for (int i = 0; rows && i < rows->size(); ++i) {
      KbKey key{rows->text(i, 0), rows->text(i, 1)};
      IndexFileHeader expected{key.first,  key.second,
                               0,          static_cast<int>(rows->int64(i, 2)),
                               options_.m, options_.ef_construction};
      int64_t revision = 0;
      auto loaded = load_index_file_at_any_revision(index_file(key), expected, options_, revision);
      std::string reason;
      if (!loaded) {
        reason = loaded.error().message;
      } else if (revision < 0 || revision > rows->int64(i, 3)) {
        // Saved from another database (or one restored from an older backup): not this log.
        reason = "saved index is ahead of the change log";
      } else {
        auto m = mirror(key);
        std::unique_lock lock(m->mutex);
        m->index = std::move(*loaded);
        m->applied = m->saved = revision;
        lock.unlock();
        emit(IndexEvent::Kind::kLoaded, key, "");
        continue;
      }
      if (loaded || loaded.error().code != ErrorCode::kNotFound) {
        log::warn("vectors: saved index of {} not used ({}); rebuilding", key.second, reason);
      }
      emit(IndexEvent::Kind::kRebuilt, key, reason);
    }
    saver_ = std::thread([this] { save_in_background(); });
  }

  Result<KnowledgeBase> ensure_knowledge_base(std::string_view account_id, std::string_view id,
                                              std::string_view embedding_model) override {
    if (auto st = check_id(account_id, "account id"); !st) return std::unexpected(st.error());
    if (auto st = check_id(id, "knowledge base id"); !st) return std::unexpected(st.error());
    if (auto st = check_id(embedding_model, "embedding model"); !st) {
      return std::unexpected(st.error());
    }
    auto inserted =
        exec("vectors_ensure_kb",
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
    auto rows = exec("vectors_kb",
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
      if (auto caught = catch_up(key); !caught) return caught;
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
      if (auto caught = catch_up(key); !caught) return std::unexpected(caught.error());
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
    if (auto caught = catch_up(key); !caught) return std::unexpected(caught.error());
    int64_t excluded = 0;
    if (query.exclude_document_id) {
      auto rows = exec("vectors_count_document",
                       "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = $1 AND"
                       " knowledge_base_id = $2 AND document_id = $3",
                       {query.account_id, query.knowledge_base_id, *query.exclude_document_id});
      if (!rows) return std::unexpected(rows.error());
      excluded = rows->int64(0, 0);
    }
    std::vector<Neighbour> neighbours;
    {
      auto m = mirror(key);
      std::shared_lock lock(m->mutex);
      if (m->index) {
        auto found = m->index->search(unit->data(), static_cast<size_t>(query.k + excluded));
        if (!found) return std::unexpected(found.error());
        neighbours = std::move(*found);
      }
    }
    if (neighbours.empty()) return std::vector<SearchHit>{};
    std::string labels = "{";
    for (size_t i = 0; i < neighbours.size(); ++i) {
      labels += (i == 0 ? "" : ",") + std::to_string(neighbours[i].label);
    }
    labels += "}";
    auto rows = exec("vectors_hits",
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
    for (const Neighbour& n : neighbours) {
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
    auto rows = exec("vectors_count",
                     "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = $1 AND"
                     " knowledge_base_id = $2",
                     {account_id, knowledge_base_id});
    if (!rows) return std::unexpected(rows.error());
    return rows->int64(0, 0);
  }

  Result<std::vector<KnowledgeBase>> list_knowledge_bases(std::string_view account_id) override {
    auto rows = exec("vectors_list_kbs",
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

  // Brings every knowledge base's mirror up to date (start, and after a lost LISTEN connection).
  void catch_up_all() {
    auto rows = exec("vectors_all_kbs", "SELECT account_id, id FROM vectors_knowledge_bases", {});
    if (!rows) {
      log::warn("vectors: cannot list knowledge bases: {}", rows.error().message);
      return;
    }
    for (int i = 0; i < rows->size(); ++i) {
      if (auto caught = catch_up({rows->text(i, 0), rows->text(i, 1)}); !caught) {
        log::warn("vectors: cannot catch up {}: {}", rows->text(i, 1), caught.error().message);
      }
    }
  }

 private:
  Result<pg::Rows> exec(const std::string& name, std::string_view sql, const pg::Params& params) {
    auto conn = pool_->acquire();
    if (!conn) return std::unexpected(conn.error());
    return (*conn)->exec_prepared(name, sql, params);
  }

  std::filesystem::path index_file(const KbKey& key) const {
    return index_file_path(index_dir_, key.first, key.second);
  }

  void emit(IndexEvent::Kind kind, const KbKey& key, std::string reason) const {
    if (options_.on_index_event) options_.on_index_event({kind, key.first, key.second, reason});
  }

  // The saver thread: every tick, saves the bases that are due.
  void save_in_background() {
    std::unique_lock lock(saver_mutex_);
    while (!stopping_) {
      saver_wake_.wait_for(lock, kSaverTick, [this] { return stopping_; });
      if (stopping_) break;
      lock.unlock();
      save_changed(false);
      lock.lock();
    }
  }

  void save_changed(bool all) {
    std::vector<std::pair<KbKey, std::shared_ptr<Mirror>>> mirrors;
    {
      std::lock_guard lock(mirrors_mutex_);
      mirrors.assign(mirrors_.begin(), mirrors_.end());
    }
    for (const auto& [key, m] : mirrors) {
      if (auto st = save(key, *m, all); !st) {
        log::warn("vectors: cannot save the index of {}: {}", key.second, st.error().message);
      }
    }
  }

  // Saves one mirror when it changed since its last save and (unless `always`) its base is idle,
  // has save_after_changes unsaved changes, or its oldest unsaved change is save_interval old.
  // Only the saver thread (then the destructor) calls this, so saves of one base never overlap.
  Status save(const KbKey& key, Mirror& m, bool always) {
    std::optional<IndexFileWriter> writer;
    int64_t revision = 0;
    {
      std::shared_lock lock(m.mutex);  // searches go on while the bytes are written
      if (!m.index || m.applied == m.saved) return ok();
      int64_t now = steady_ms();
      bool due =
          always || m.unsaved_changes >= options_.save_after_changes ||
          now - m.last_change_ms >= kIdleMs ||
          now - m.first_unsaved_ms >=
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.save_interval).count();
      if (!due) return ok();
      auto created = IndexFileWriter::create(index_file(key));
      if (!created) return std::unexpected(created.error());
      writer.emplace(std::move(*created));
      revision = m.applied;
      IndexFileHeader header{key.first,  key.second,
                             revision,   m.index->dimensions(),
                             options_.m, options_.ef_construction};
      if (auto st = writer->write(header, *m.index); !st) return st;
    }
    if (auto st = writer->commit(); !st) return st;
    {
      std::unique_lock lock(m.mutex);
      m.saved = revision;
      if (m.applied == revision) m.unsaved_changes = 0;
    }
    emit(IndexEvent::Kind::kSaved, key, "");
    return ok();
  }

  std::shared_ptr<Mirror> mirror(const KbKey& key) {
    std::lock_guard lock(mirrors_mutex_);
    auto& slot = mirrors_[key];
    if (!slot) slot = std::make_shared<Mirror>();
    return slot;
  }

  // Applies the knowledge base's log entries after the mirror's last one, in seq order.
  Status catch_up(const KbKey& key) {
    auto m = mirror(key);
    std::unique_lock lock(m->mutex);
    while (true) {
      auto rows = exec("vectors_changes_after",
                       "SELECT c.seq, c.label, c.removed, k.embedding FROM vectors_changes c"
                       " LEFT JOIN vectors_chunks k ON k.label = c.label AND NOT c.removed"
                       " WHERE c.account_id = $1 AND c.knowledge_base_id = $2 AND c.seq > $3"
                       " ORDER BY c.seq LIMIT 5000",
                       {key.first, key.second, m->applied});
      if (!rows) return std::unexpected(rows.error());
      if (rows->empty()) return ok();
      std::vector<std::vector<float>> vectors;
      std::vector<IndexPoint> points;
      vectors.reserve(rows->size());
      auto flush = [&]() -> Status {
        if (points.empty()) return ok();
        if (!m->index) {
          m->index = std::make_unique<AnnIndex>(static_cast<int>(vectors.front().size()), options_);
        }
        auto added = m->index->add(points);
        points.clear();
        return added;
      };
      for (int i = 0; i < rows->size(); ++i) {
        uint64_t label = static_cast<uint64_t>(rows->int64(i, 1));
        if (rows->boolean(i, 2)) {
          if (auto st = flush(); !st) return st;
          if (m->index) m->index->remove(label);
        } else if (!rows->is_null(i, 3)) {  // null: removed since; its removal entry follows
          std::string bytes = rows->bytes(i, 3);
          std::vector<float> v(bytes.size() / sizeof(float));
          std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
          vectors.push_back(std::move(v));
          points.push_back({label, vectors.back().data()});
        }
      }
      if (auto st = flush(); !st) return st;
      m->applied = rows->int64(rows->size() - 1, 0);
      int64_t now = steady_ms();
      if (m->unsaved_changes == 0) m->first_unsaved_ms = now;
      m->unsaved_changes += rows->size();
      m->last_change_ms = now;
    }
  }

  std::shared_ptr<pg::Pool> pool_;
  IndexOptions options_;
  std::mutex mirrors_mutex_;
  std::map<KbKey, std::shared_ptr<Mirror>> mirrors_;  // guarded by mirrors_mutex_
  std::filesystem::path index_dir_;                   // empty: indexes are not saved
  std::mutex saver_mutex_;
  std::condition_variable saver_wake_;
  bool stopping_ = false;  // guarded by saver_mutex_
  std::thread saver_;
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
  store->load_saved_indexes();
  store->catch_up_all();
  if (auto st = store->start_listening(); !st) return std::unexpected(st.error());
  return std::unique_ptr<VectorStore>(std::move(store));
}

}  // namespace plinth::vectors
