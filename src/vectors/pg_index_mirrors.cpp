// The PostgreSQL vector store's index mirrors: catch-up from the change log, the saved indexes
// loaded at start, and the saver thread that writes changed ones back to the index folder.
#include "pg_index_mirrors.h"

#include <chrono>
#include <cstring>
#include <optional>
#include <shared_mutex>

#include "index_file.h"
#include "plinth/core/clock.h"
#include "plinth/core/log.h"

namespace plinth::vectors {
namespace {

// A base whose mirror took no change for this long is idle: its index is saved.
constexpr int64_t kIdleMs = 2000;
constexpr auto kSaverTick = std::chrono::milliseconds(500);

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             Clock::real()->steady_now().time_since_epoch())
      .count();
}

}  // namespace

struct PgIndexMirrors::Mirror {
  std::shared_mutex mutex;
  std::unique_ptr<AnnIndex> index;  // guarded by mutex; null until the first vector
  int64_t applied = 0;              // guarded by mutex: the last change seq in `index`
  // Guarded by mutex: the seq of the saved file, and the changes applied since it.
  int64_t saved = 0;
  int64_t unsaved_changes = 0;
  int64_t first_unsaved_ms = 0;
  int64_t last_change_ms = 0;
};

PgIndexMirrors::PgIndexMirrors(std::shared_ptr<pg::Pool> pool, IndexOptions options)
    : pool_(std::move(pool)), options_(std::move(options)) {
  if (options_.persist) index_dir_ = options_.index_dir;
}

PgIndexMirrors::~PgIndexMirrors() {
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

void PgIndexMirrors::load_saved_indexes() {
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
  auto rows = pool_->exec_prepared(
      "vectors_saved_kbs",
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

Status PgIndexMirrors::catch_up(const KbKey& key) {
  auto m = mirror(key);
  std::unique_lock lock(m->mutex);
  while (true) {
    auto rows =
        pool_->exec_prepared("vectors_changes_after",
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
      const auto label = static_cast<uint64_t>(rows->int64(i, 1));
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

void PgIndexMirrors::catch_up_all() {
  auto rows = pool_->exec_prepared("vectors_all_kbs",
                                   "SELECT account_id, id FROM vectors_knowledge_bases", {});
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

Result<std::vector<Neighbour>> PgIndexMirrors::search(const KbKey& key, const float* unit,
                                                      size_t k) {
  auto m = mirror(key);
  std::shared_lock lock(m->mutex);
  if (!m->index) return std::vector<Neighbour>{};
  return m->index->search(unit, k);
}

std::filesystem::path PgIndexMirrors::index_file(const KbKey& key) const {
  return index_file_path(index_dir_, key.first, key.second);
}

void PgIndexMirrors::emit(IndexEvent::Kind kind, const KbKey& key, std::string reason) const {
  if (options_.on_index_event)
    options_.on_index_event({kind, key.first, key.second, std::move(reason)});
}

std::shared_ptr<PgIndexMirrors::Mirror> PgIndexMirrors::mirror(const KbKey& key) {
  std::lock_guard lock(mirrors_mutex_);
  auto& slot = mirrors_[key];
  if (!slot) slot = std::make_shared<Mirror>();
  return slot;
}

// The saver thread: every tick, saves the bases that are due.
void PgIndexMirrors::save_in_background() {
  std::unique_lock lock(saver_mutex_);
  while (!stopping_) {
    saver_wake_.wait_for(lock, kSaverTick, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    save_changed(false);
    lock.lock();
  }
}

void PgIndexMirrors::save_changed(bool all) {
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
Status PgIndexMirrors::save(const KbKey& key, Mirror& m, bool always) {
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

}  // namespace plinth::vectors
