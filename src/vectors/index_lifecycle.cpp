// The life of the SQLite vector store's indexes: on open each knowledge base's saved index is
// loaded when it provably matches the rows (same revision, same labels, intact file), rebuilt from
// the rows otherwise; changed indexes are saved in the background and on destruction.
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "index_file.h"
#include "plinth/core/clock.h"
#include "plinth/core/log.h"
#include "sqlite_vector_store.h"

namespace plinth::vectors {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kRebuildBatch = 4096;

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             Clock::real()->steady_now().time_since_epoch())
      .count();
}

// "<database file>-vectors", or empty (no persistence) for an in-memory database.
fs::path default_index_dir(store::Database& db) {
  const char* file = sqlite3_db_filename(db.raw(), "main");
  if (file == nullptr || *file == '\0') return {};
  return fs::path(std::string(file) + "-vectors");
}

}  // namespace

Status SqliteVectorStore::open() {
  if (options_.persist) {
    index_dir_ = options_.index_dir.empty() ? default_index_dir(db_) : options_.index_dir;
  }
  if (!index_dir_.empty()) {
    std::error_code ec;
    fs::create_directories(index_dir_, ec);
    if (ec) {
      log::warn("vectors: cannot create {} ({}); indexes are not saved", index_dir_.string(),
                ec.message());
      index_dir_.clear();
    } else {
      remove_stale_temp_files(index_dir_);
    }
  }
  std::vector<KnowledgeBase> bases;
  {
    auto guard = db_.lock();
    auto select = db_.prepare(
        "SELECT account_id, id, embedding_model, dimensions FROM vectors_knowledge_bases "
        "WHERE dimensions > 0");
    if (!select) return std::unexpected(select.error());
    while (true) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      bases.push_back({select->column_text(0), select->column_text(1), select->column_text(2),
                       static_cast<int>(select->column_int(3))});
    }
  }
  for (const KnowledgeBase& kb : bases) {
    KbKey key{kb.account_id, kb.id};
    auto index_slot = slot(key, true);
    std::unique_lock index_lock(index_slot->mutex);
    std::string reason = "persistence is off";
    if (!index_dir_.empty()) {
      auto loaded = load_saved_index(kb, *index_slot);
      if (loaded) {
        int64_t saved = *index_slot->revision;
        index_lock.unlock();  // save_mutex comes first
        std::lock_guard save_lock(index_slot->save_mutex);
        index_slot->saved_revision = saved;
        emit(IndexEvent::Kind::kLoaded, key, "");
        continue;
      }
      reason = loaded.error().message;
    }
    auto start = std::chrono::steady_clock::now();
    if (auto st = rebuild_index(kb, *index_slot); !st) return st;
    log::info("vectors: rebuilt the index of knowledge base {} ({} points) in {:.1f} s: {}", kb.id,
              index_slot->index ? index_slot->index->live() : 0,
              std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
              reason);
    emit(IndexEvent::Kind::kRebuilt, key, reason);
    // Saved now, not at the next change, so that the next start loads it.
    index_slot->unsaved_changes = options_.save_after_changes;
  }
  if (!index_dir_.empty()) {
    saver_ = std::jthread([this](std::stop_token stop) { save_loop(std::move(stop)); });
    std::lock_guard lock(saver_mutex_);
    save_requested_ = true;
    saver_wake_.notify_all();
  }
  return ok();
}

SqliteVectorStore::~SqliteVectorStore() {
  if (saver_.joinable()) {
    saver_.request_stop();
    saver_.join();
  }
  if (index_dir_.empty()) return;
  std::vector<std::pair<KbKey, std::shared_ptr<IndexSlot>>> all;
  {
    std::lock_guard lock(slots_mutex_);
    all.assign(slots_.begin(), slots_.end());
  }
  for (auto& [key, index_slot] : all) save(key, *index_slot);
}

Result<StoredState> SqliteVectorStore::stored_state(const KbKey& key) {
  auto guard = db_.lock();
  // One statement: one snapshot, even while another process writes.
  auto select = db_.prepare(
      "SELECT k.revision, s.n, s.lo, s.hi, s.total FROM vectors_knowledge_bases k, "
      "(SELECT COUNT(*) AS n, COALESCE(MIN(label), 0) AS lo, COALESCE(MAX(label), 0) AS hi, "
      "COALESCE(SUM(label), 0) AS total FROM vectors_chunks WHERE account_id = ?1 AND "
      "knowledge_base_id = ?2) s WHERE k.account_id = ?1 AND k.id = ?2");
  if (!select) return std::unexpected(select.error());
  select->bind(1, key.first).bind(2, key.second);
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  if (!*row) return fail(ErrorCode::kNotFound, "no knowledge base " + key.second);
  StoredState state;
  state.revision = select->column_int(0);
  state.labels.count = static_cast<uint64_t>(select->column_int(1));
  state.labels.min = static_cast<uint64_t>(select->column_int(2));
  state.labels.max = static_cast<uint64_t>(select->column_int(3));
  state.labels.sum = static_cast<uint64_t>(select->column_int(4));
  return state;
}

Status SqliteVectorStore::rebuild_index(const KnowledgeBase& kb, IndexSlot& index_slot) {
  index_slot.index.reset();
  index_slot.revision.reset();
  KbKey key{kb.account_id, kb.id};
  // This store's writers wait on the slot's lock; another process's show as a changed revision.
  auto before = revision(key);
  if (!before) return std::unexpected(before.error());
  size_t expected_bytes = static_cast<size_t>(kb.dimensions) * sizeof(float);
  int64_t after = 0;
  // Keyset pages so that the database lock is not held while a page is indexed.
  while (true) {
    std::vector<std::pair<uint64_t, std::vector<float>>> rows;
    {
      auto guard = db_.lock();
      auto select = db_.prepare(
          "SELECT label, embedding FROM vectors_chunks WHERE account_id = ? AND "
          "knowledge_base_id = ? AND label > ? ORDER BY label LIMIT ?");
      if (!select) return std::unexpected(select.error());
      select->bind(1, kb.account_id).bind(2, kb.id).bind(3, after).bind(4, kRebuildBatch);
      while (true) {
        auto row = select->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) break;
        after = select->column_int(0);
        std::string blob = select->column_text(1);
        if (blob.size() != expected_bytes) {
          log::error("vectors: chunk {} of {} has {} bytes, expected {}; skipped", after, kb.id,
                     blob.size(), expected_bytes);
          continue;
        }
        std::vector<float> embedding(static_cast<size_t>(kb.dimensions));
        std::memcpy(embedding.data(), blob.data(), blob.size());
        rows.emplace_back(static_cast<uint64_t>(after), std::move(embedding));
      }
    }
    if (rows.empty()) break;
    if (auto st = index_rows(index_slot, kb.dimensions, rows); !st) return st;
  }
  auto end = revision(key);
  if (!end) return std::unexpected(end.error());
  if (*end == *before) index_slot.revision = *before;
  return ok();
}

Status SqliteVectorStore::load_saved_index(const KnowledgeBase& kb, IndexSlot& index_slot) {
  KbKey key{kb.account_id, kb.id};
  auto state = stored_state(key);
  if (!state) return std::unexpected(state.error());
  IndexFileHeader expected{kb.account_id, kb.id,      state->revision,
                           kb.dimensions, options_.m, options_.ef_construction};
  auto loaded =
      load_index_file(index_file_path(index_dir_, kb.account_id, kb.id), expected, options_);
  if (!loaded) return std::unexpected(loaded.error());
  // The revision proves it; the labels are a second, independent check.
  if ((*loaded)->live_labels() != state->labels) {
    return fail(ErrorCode::kCorruptData, "saved index holds other chunks than the store");
  }
  index_slot.index = std::move(*loaded);
  index_slot.revision = state->revision;
  return ok();
}

void SqliteVectorStore::note_changes(IndexSlot& index_slot, int64_t changes) {
  if (index_dir_.empty() || changes == 0) return;
  int64_t none = 0;
  index_slot.first_unsaved_ms.compare_exchange_strong(none, steady_ms());
  if (index_slot.unsaved_changes.fetch_add(changes) + changes >= options_.save_after_changes) {
    std::lock_guard lock(saver_mutex_);
    save_requested_ = true;
    saver_wake_.notify_all();
  }
}

void SqliteVectorStore::save(const KbKey& key, IndexSlot& index_slot) {
  std::lock_guard save_lock(index_slot.save_mutex);
  std::optional<IndexFileWriter> writer;
  int64_t saved = 0, changes = 0;
  {
    // Searches go on while the bytes are written; writers of this knowledge base wait.
    std::shared_lock index_lock(index_slot.mutex);
    changes = index_slot.unsaved_changes.load();
    if (!index_slot.index || !index_slot.revision ||
        index_slot.saved_revision == index_slot.revision) {
      index_slot.unsaved_changes -= changes;
      return;
    }
    // Rows changed by another process since: such a file would never load.
    auto current = revision(key);
    if (!current || *current != *index_slot.revision) {
      index_slot.unsaved_changes -= changes;
      return;
    }
    auto created = IndexFileWriter::create(index_file_path(index_dir_, key.first, key.second));
    if (created) {
      writer.emplace(std::move(*created));
      IndexFileHeader header{key.first,
                             key.second,
                             *index_slot.revision,
                             index_slot.index->dimensions(),
                             options_.m,
                             options_.ef_construction};
      if (auto st = writer->write(header, *index_slot.index); !st) {
        log::warn("vectors: saving the index of {} failed: {}", key.second, st.error().message);
        return;
      }
    } else {
      log::warn("vectors: saving the index of {} failed: {}", key.second, created.error().message);
      return;
    }
    saved = *index_slot.revision;
  }
  if (auto st = writer->commit(); !st) {
    log::warn("vectors: saving the index of {} failed: {}", key.second, st.error().message);
    return;
  }
  index_slot.saved_revision = saved;
  if (index_slot.unsaved_changes.fetch_sub(changes) == changes) index_slot.first_unsaved_ms = 0;
  emit(IndexEvent::Kind::kSaved, key, "");
}

void SqliteVectorStore::save_loop(std::stop_token stop) {
  auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(options_.save_interval);
  auto poll = std::clamp(interval / 4, std::chrono::milliseconds(100),
                         std::chrono::milliseconds(std::chrono::minutes(1)));
  while (!stop.stop_requested()) {
    {
      std::unique_lock lock(saver_mutex_);
      saver_wake_.wait_for(lock, stop, poll, [&] { return save_requested_; });
      save_requested_ = false;
    }
    if (stop.stop_requested()) return;  // the destructor saves what is left
    std::vector<std::pair<KbKey, std::shared_ptr<IndexSlot>>> all;
    {
      std::lock_guard lock(slots_mutex_);
      all.assign(slots_.begin(), slots_.end());
    }
    int64_t now = steady_ms();
    for (auto& [key, index_slot] : all) {
      int64_t changes = index_slot->unsaved_changes.load();
      int64_t since = index_slot->first_unsaved_ms.load();
      bool old = since != 0 && now - since >= interval.count();
      if (changes >= options_.save_after_changes || (changes > 0 && old)) save(key, *index_slot);
      if (stop.stop_requested()) return;
    }
  }
}

void SqliteVectorStore::emit(IndexEvent::Kind kind, const KbKey& key, std::string reason) {
  if (options_.on_index_event) {
    options_.on_index_event(IndexEvent{kind, key.first, key.second, std::move(reason)});
  }
}

}  // namespace plinth::vectors
