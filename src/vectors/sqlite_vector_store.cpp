// The SQLite vector store's rows: chunks (text, metadata, float32 embedding blob) in the database,
// mirrored into one AnnIndex per knowledge base in memory (index_lifecycle.cpp loads and saves).
#include "sqlite_vector_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <unordered_map>

#include "chunk_checks.h"
#include "plinth/core/log.h"

namespace plinth::vectors {
namespace {

// label is the hnswlib label of the chunk; AUTOINCREMENT so that a removed chunk's label (still
// in the index, marked deleted) is never handed to a new chunk.
const std::vector<store::Migration> kMigrations = {
    {1, R"(
CREATE TABLE vectors_knowledge_bases (
  account_id TEXT NOT NULL,
  id TEXT NOT NULL,
  embedding_model TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),
  PRIMARY KEY (account_id, id)
) WITHOUT ROWID;
CREATE TABLE vectors_chunks (
  label INTEGER PRIMARY KEY AUTOINCREMENT,
  account_id TEXT NOT NULL,
  knowledge_base_id TEXT NOT NULL,
  document_id TEXT NOT NULL,
  chunk_index INTEGER NOT NULL,
  text TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  embedding BLOB NOT NULL,  -- float32, native (little-endian) byte order, unit length
  UNIQUE (account_id, knowledge_base_id, document_id, chunk_index)
);
CREATE INDEX vectors_chunks_document ON vectors_chunks(account_id, document_id);
)"},
    // A knowledge base's revision changes to a fresh random value in the same transaction as every
    // change of its rows, whoever makes it (triggers): a saved index is loaded only when its
    // revision is still the knowledge base's, so it holds exactly the rows it was saved from, even
    // after a crash before the save or a database restored from a backup.
    {2, R"(
ALTER TABLE vectors_knowledge_bases ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER vectors_chunks_inserted AFTER INSERT ON vectors_chunks BEGIN
  UPDATE vectors_knowledge_bases SET revision = random()
    WHERE account_id = NEW.account_id AND id = NEW.knowledge_base_id;
END;
CREATE TRIGGER vectors_chunks_deleted AFTER DELETE ON vectors_chunks BEGIN
  UPDATE vectors_knowledge_bases SET revision = random()
    WHERE account_id = OLD.account_id AND id = OLD.knowledge_base_id;
END;
CREATE TRIGGER vectors_chunks_updated AFTER UPDATE ON vectors_chunks BEGIN
  UPDATE vectors_knowledge_bases SET revision = random()
    WHERE (account_id = OLD.account_id AND id = OLD.knowledge_base_id)
       OR (account_id = NEW.account_id AND id = NEW.knowledge_base_id);
END;
)"}};

}  // namespace

SqliteVectorStore::SqliteVectorStore(store::Database& db, const IndexOptions& options)
    : db_(db), options_(options) {}

Result<KnowledgeBase> SqliteVectorStore::ensure_knowledge_base(std::string_view account_id,
                                                               std::string_view id,
                                                               std::string_view embedding_model) {
  if (auto st = check_id(account_id, "account id"); !st) return std::unexpected(st.error());
  if (auto st = check_id(id, "knowledge base id"); !st) return std::unexpected(st.error());
  if (auto st = check_id(embedding_model, "embedding model"); !st) {
    return std::unexpected(st.error());
  }
  auto guard = db_.lock();
  auto insert = db_.prepare(
      "INSERT INTO vectors_knowledge_bases (account_id, id, embedding_model, dimensions) "
      "VALUES (?, ?, ?, 0) ON CONFLICT (account_id, id) DO NOTHING");
  if (!insert) return std::unexpected(insert.error());
  insert->bind(1, account_id).bind(2, id).bind(3, embedding_model);
  if (auto run = insert->run(); !run) return std::unexpected(run.error());
  auto kb = knowledge_base(account_id, id);
  if (kb && kb->embedding_model != embedding_model) {
    return fail(ErrorCode::kConflict, "knowledge base " + std::string(id) +
                                          " already uses the embedding model " +
                                          kb->embedding_model);
  }
  return kb;
}

Result<KnowledgeBase> SqliteVectorStore::knowledge_base(std::string_view account_id,
                                                        std::string_view id) {
  auto guard = db_.lock();
  auto select = db_.prepare(
      "SELECT embedding_model, dimensions FROM vectors_knowledge_bases "
      "WHERE account_id = ? AND id = ?");
  if (!select) return std::unexpected(select.error());
  select->bind(1, account_id).bind(2, id);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) {
    return fail(ErrorCode::kNotFound,
                "No knowledge base with id " + std::string(id) + " exists in this account.");
  }
  return KnowledgeBase{std::string(account_id), std::string(id), select->column_text(0),
                       static_cast<int>(select->column_int(1))};
}

Result<int64_t> SqliteVectorStore::count(std::string_view account_id,
                                         std::string_view knowledge_base_id) {
  auto guard = db_.lock();
  auto select = db_.prepare(
      "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = ? AND knowledge_base_id = ?");
  if (!select) return std::unexpected(select.error());
  select->bind(1, account_id).bind(2, knowledge_base_id);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  return *row ? select->column_int(0) : 0;
}

Result<std::vector<KnowledgeBase>> SqliteVectorStore::list_knowledge_bases(
    std::string_view account_id) {
  auto guard = db_.lock();
  auto select = db_.prepare(
      "SELECT id, embedding_model, dimensions FROM vectors_knowledge_bases WHERE account_id = ? "
      "ORDER BY id");
  if (!select) return std::unexpected(select.error());
  select->bind(1, account_id);
  std::vector<KnowledgeBase> out;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    out.push_back({std::string(account_id), select->column_text(0), select->column_text(1),
                   static_cast<int>(select->column_int(2))});
  }
  return out;
}

std::shared_ptr<IndexSlot> SqliteVectorStore::slot(const KbKey& key, bool create) {
  std::lock_guard lock(slots_mutex_);
  auto it = slots_.find(key);
  if (it != slots_.end()) return it->second;
  if (!create) return nullptr;
  auto made = std::make_shared<IndexSlot>();
  slots_.emplace(key, made);
  return made;
}

Status SqliteVectorStore::index_rows(
    IndexSlot& slot, int dimensions,
    const std::vector<std::pair<uint64_t, std::vector<float>>>& rows) {
  if (!slot.index) slot.index = std::make_unique<AnnIndex>(dimensions, options_);
  std::vector<IndexPoint> points;
  points.reserve(rows.size());
  for (const auto& [label, embedding] : rows) points.push_back({label, embedding.data()});
  return slot.index->add(points);
}

Result<int64_t> SqliteVectorStore::revision(const KbKey& key) {
  auto guard = db_.lock();
  auto select =
      db_.prepare("SELECT revision FROM vectors_knowledge_bases WHERE account_id = ? AND id = ?");
  if (!select) return std::unexpected(select.error());
  select->bind(1, key.first).bind(2, key.second);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no knowledge base " + key.second);
  return select->column_int(0);
}

Status SqliteVectorStore::add(const std::vector<ChunkVector>& chunks) {
  // Validate everything before touching the store: one bad chunk rejects the batch.
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
  // Lock every knowledge base touched, in key order (the same order every writer uses).
  std::vector<std::shared_ptr<IndexSlot>> slots;
  std::vector<std::unique_lock<std::shared_mutex>> locks;
  for (const auto& [key, members] : groups) {
    slots.push_back(slot(key, true));
    locks.emplace_back(slots.back()->mutex);
  }
  std::vector<std::vector<std::pair<uint64_t, std::vector<float>>>> fresh(groups.size());
  std::vector<int> dimensions(groups.size());
  // Each knowledge base's revision before and after this transaction.
  std::vector<std::pair<int64_t, int64_t>> revisions(groups.size());
  {
    auto transaction = store::Transaction::begin(db_);
    if (!transaction) return std::unexpected(transaction.error());
    size_t g = 0;
    for (const auto& [key, members] : groups) {
      auto kb = knowledge_base(key.first, key.second);
      if (!kb) return std::unexpected(kb.error());
      auto before = revision(key);
      if (!before) return std::unexpected(before.error());
      IndexSlot& index_slot = *slots[g];
      if (!index_slot.index && !index_slot.revision) {
        // No index yet: it reflects the rows if there are none (the base's first vectors).
        auto stored = count(key.first, key.second);
        if (!stored) return std::unexpected(stored.error());
        if (*stored == 0) index_slot.revision = *before;
      }
      int dims = kb->dimensions;
      for (size_t i : members) {
        int have = static_cast<int>(unit[i].size());
        if (dims == 0) dims = have;
        if (have != dims) {
          return fail(ErrorCode::kInvalidArgument, "embedding has " + std::to_string(have) +
                                                       " dimensions; knowledge base " + key.second +
                                                       " holds " + std::to_string(dims));
        }
      }
      if (kb->dimensions == 0) {
        auto update = db_.prepare(
            "UPDATE vectors_knowledge_bases SET dimensions = ? WHERE account_id = ? AND id = ?");
        if (!update) return std::unexpected(update.error());
        update->bind(1, static_cast<int64_t>(dims)).bind(2, key.first).bind(3, key.second);
        if (auto run = update->run(); !run) return std::unexpected(run.error());
      }
      auto insert = db_.prepare(
          "INSERT INTO vectors_chunks (account_id, knowledge_base_id, document_id, chunk_index, "
          "text, metadata_json, embedding) VALUES (?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (account_id, knowledge_base_id, document_id, chunk_index) DO NOTHING");
      if (!insert) return std::unexpected(insert.error());
      for (size_t i : members) {
        const ChunkVector& c = chunks[i];
        insert->reset();
        insert->bind(1, c.account_id)
            .bind(2, c.knowledge_base_id)
            .bind(3, c.document_id)
            .bind(4, static_cast<int64_t>(c.chunk_index))
            .bind(5, c.text)
            .bind(6, c.metadata_json.empty() ? std::string_view("{}") : c.metadata_json)
            .bind_blob(7, as_bytes(unit[i]));
        auto changed = insert->run();
        if (!changed) return std::unexpected(changed.error());
        // 0: the chunk is already stored (and indexed); adding it again changes nothing.
        if (*changed == 1) {
          fresh[g].emplace_back(static_cast<uint64_t>(sqlite3_last_insert_rowid(db_.raw())),
                                std::move(unit[i]));
        }
      }
      auto after = revision(key);
      if (!after) return std::unexpected(after.error());
      revisions[g] = {*before, *after};
      dimensions[g++] = dims;
    }
    if (auto st = transaction->commit(); !st) return st;
  }
  for (size_t g = 0; g < slots.size(); ++g) {
    IndexSlot& index_slot = *slots[g];
    // In step only when nothing else changed the rows since the index last was.
    if (index_slot.revision != revisions[g].first) index_slot.revision.reset();
    if (fresh[g].empty()) {
      if (index_slot.revision) index_slot.revision = revisions[g].second;
      continue;
    }
    // The rows are durable; an index failure here heals when the store is next opened.
    if (auto st = index_rows(index_slot, dimensions[g], fresh[g]); !st) {
      index_slot.revision.reset();
      return st;
    }
    if (index_slot.revision) index_slot.revision = revisions[g].second;
    note_changes(index_slot, static_cast<int64_t>(fresh[g].size()));
  }
  return ok();
}

Result<int> SqliteVectorStore::remove_document(std::string_view account_id,
                                               std::string_view document_id) {
  std::vector<std::string> bases;
  {
    auto guard = db_.lock();
    auto select = db_.prepare(
        "SELECT DISTINCT knowledge_base_id FROM vectors_chunks WHERE account_id = ? AND "
        "document_id = ? ORDER BY knowledge_base_id");
    if (!select) return std::unexpected(select.error());
    select->bind(1, account_id).bind(2, document_id);
    while (true) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      bases.push_back(select->column_text(0));
    }
  }
  int removed = 0;
  for (const std::string& kb : bases) {
    auto index_slot = slot({std::string(account_id), kb}, true);
    std::unique_lock index_lock(index_slot->mutex);
    std::vector<uint64_t> labels;
    std::optional<int64_t> before, after;
    KbKey key{std::string(account_id), kb};
    {
      auto transaction = store::Transaction::begin(db_);
      if (!transaction) return std::unexpected(transaction.error());
      auto revision_before = revision(key);
      if (!revision_before) return std::unexpected(revision_before.error());
      before = *revision_before;
      auto deleted = db_.prepare(
          "DELETE FROM vectors_chunks WHERE account_id = ? AND knowledge_base_id = ? AND "
          "document_id = ? RETURNING label");
      if (!deleted) return std::unexpected(deleted.error());
      deleted->bind(1, account_id).bind(2, kb).bind(3, document_id);
      while (true) {
        auto row = deleted->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        labels.push_back(static_cast<uint64_t>(deleted->column_int(0)));
      }
      deleted->reset();  // finish the statement before COMMIT
      auto revision_after = revision(key);
      if (!revision_after) return std::unexpected(revision_after.error());
      after = *revision_after;
      if (auto st = transaction->commit(); !st) return std::unexpected(st.error());
    }
    index_slot->revision = index_slot->revision == before ? after : std::nullopt;
    if (index_slot->index) {
      for (uint64_t label : labels) index_slot->index->remove(label);
      // Deleted points stay in the graph (searches step over them); once they outnumber the
      // live ones, rebuilding is cheaper than searching around them.
      AnnIndex& index = *index_slot->index;
      if (index.deleted() >= kCompactMinDeleted && index.deleted() > index.live()) {
        auto knowledge = knowledge_base(account_id, kb);
        if (!knowledge) return std::unexpected(knowledge.error());
        if (auto st = rebuild_index(*knowledge, *index_slot); !st) {
          return std::unexpected(st.error());
        }
      }
      note_changes(*index_slot, static_cast<int64_t>(labels.size()));
    }
    removed += static_cast<int>(labels.size());
  }
  return removed;
}

Result<std::vector<SearchHit>> SqliteVectorStore::search(const SearchQuery& query) {
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
  // Widen the search by exactly the excluded document's chunks so k others can still come back.
  int64_t excluded = 0;
  if (query.exclude_document_id) {
    auto guard = db_.lock();
    auto select = db_.prepare(
        "SELECT COUNT(*) FROM vectors_chunks WHERE account_id = ? AND knowledge_base_id = ? AND "
        "document_id = ?");
    if (!select) return std::unexpected(select.error());
    select->bind(1, query.account_id)
        .bind(2, query.knowledge_base_id)
        .bind(3, *query.exclude_document_id);
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (*row) excluded = select->column_int(0);
  }
  std::vector<Neighbour> neighbours;
  if (auto index_slot = slot({query.account_id, query.knowledge_base_id}, false)) {
    std::shared_lock index_lock(index_slot->mutex);
    if (index_slot->index) {
      auto found = index_slot->index->search(unit->data(), static_cast<size_t>(query.k + excluded));
      if (!found) return std::unexpected(found.error());
      neighbours = std::move(*found);
    }
  }
  if (neighbours.empty()) return std::vector<SearchHit>{};

  // Unary '+' keeps SQLite on the rowid lookups: left to itself it picks the unique index on
  // (account_id, knowledge_base_id, ...) and scans every chunk of the base (13 ms at 100k).
  std::string sql =
      "SELECT label, document_id, chunk_index, text, metadata_json FROM vectors_chunks "
      "WHERE +account_id = ? AND +knowledge_base_id = ? AND label IN (";
  for (size_t i = 0; i < neighbours.size(); ++i) sql += i == 0 ? "?" : ",?";
  sql += ")";
  std::unordered_map<uint64_t, SearchHit> rows;
  {
    auto guard = db_.lock();
    auto select = db_.prepare(sql);
    if (!select) return std::unexpected(select.error());
    select->bind(1, query.account_id).bind(2, query.knowledge_base_id);
    for (size_t i = 0; i < neighbours.size(); ++i) {
      select->bind(static_cast<int>(i + 3), static_cast<int64_t>(neighbours[i].label));
    }
    while (true) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      rows[static_cast<uint64_t>(select->column_int(0))] =
          SearchHit{select->column_text(1), static_cast<int>(select->column_int(2)),
                    select->column_text(3), select->column_text(4), 0.0f};
    }
  }
  std::vector<SearchHit> hits;
  for (const Neighbour& n : neighbours) {
    auto it = rows.find(n.label);
    if (it == rows.end()) continue;  // removed since the index was searched
    if (query.exclude_document_id && it->second.document_id == *query.exclude_document_id) continue;
    it->second.score = n.score;
    hits.push_back(std::move(it->second));
    if (static_cast<int>(hits.size()) == query.k) break;
  }
  return hits;
}

Result<std::unique_ptr<VectorStore>> open_sqlite_vector_store(store::Database& db) {
  return open_sqlite_vector_store(db, IndexOptions{});
}

Result<std::unique_ptr<VectorStore>> open_sqlite_vector_store(store::Database& db,
                                                              const IndexOptions& options) {
  if (options.m < 2 || options.ef_construction < 1 || options.ef_search < 1) {
    return fail(ErrorCode::kInvalidArgument, "invalid HNSW parameters");
  }
  if (auto st = db.migrate("vectors", kMigrations); !st) return std::unexpected(st.error());
  auto store = std::make_unique<SqliteVectorStore>(db, options);
  if (auto st = store->open(); !st) return std::unexpected(st.error());
  return std::unique_ptr<VectorStore>(std::move(store));
}

}  // namespace plinth::vectors
