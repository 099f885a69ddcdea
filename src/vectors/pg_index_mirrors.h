// The PostgreSQL vector store's in-memory index mirrors, one AnnIndex per knowledge base, caught
// up from the change log, loaded from and saved to the index folder. Private to the vectors module.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "ann_index.h"
#include "plinth/core/result.h"
#include "plinth/pg/pool.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

using KbKey = std::pair<std::string, std::string>;  // account id, knowledge base id

// Each replica's copy of every knowledge base's index, built from vectors_changes (the log the
// store writes with its chunk rows). With options.persist and an index folder, each mirror is
// saved there with the log seq it reflects (when its base is idle, every save_after_changes
// changes, after save_interval, and at destruction) and loaded at start, then caught up from
// that seq. Thread-safe: catch-ups, searches and the saver thread may run at once.
class PgIndexMirrors {
 public:
  PgIndexMirrors(std::shared_ptr<pg::Pool> pool, IndexOptions options);
  // Joins the saver thread, then saves every changed mirror. Whoever calls catch_up from another
  // thread (the store's LISTEN listener) must be stopped before.
  ~PgIndexMirrors();
  PgIndexMirrors(const PgIndexMirrors&) = delete;
  PgIndexMirrors& operator=(const PgIndexMirrors&) = delete;

  // Loads each knowledge base's saved index (before the first catch-up, which then starts at
  // the saved seq) and starts the thread that saves changed ones. Without a folder: nothing.
  void load_saved_indexes();

  // Applies the knowledge base's log entries after the mirror's last one, in seq order.
  Status catch_up(const KbKey& key);

  // Brings every knowledge base's mirror up to date (start, and after a lost LISTEN connection).
  void catch_up_all();

  // The `k` nearest neighbours of the unit vector `unit` in the base's mirror as it stands (no
  // catch-up); none while the mirror holds no vector.
  Result<std::vector<Neighbour>> search(const KbKey& key, const float* unit, size_t k);

 private:
  struct Mirror;

  std::filesystem::path index_file(const KbKey& key) const;
  void emit(IndexEvent::Kind kind, const KbKey& key, std::string reason) const;
  std::shared_ptr<Mirror> mirror(const KbKey& key);

  void save_in_background();
  void save_changed(bool all);
  Status save(const KbKey& key, Mirror& m, bool always);

  std::shared_ptr<pg::Pool> pool_;
  IndexOptions options_;
  std::filesystem::path index_dir_;  // empty: indexes are not saved
  std::mutex mirrors_mutex_;
  std::map<KbKey, std::shared_ptr<Mirror>> mirrors_;  // guarded by mirrors_mutex_
  std::mutex saver_mutex_;
  std::condition_variable saver_wake_;
  bool stopping_ = false;  // guarded by saver_mutex_
  std::thread saver_;      // runs save_in_background once load_saved_indexes found a folder
};

}  // namespace plinth::vectors
