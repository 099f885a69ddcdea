// Knowledge-base vectors in PostgreSQL, shared by replicas (no pgvector: chunks and embeddings
// are plain rows); each replica searches its own in-memory hnswlib index, kept up to date from a
// per-knowledge-base change log (caught up on start, on NOTIFY and before every search).
#pragma once

#include <memory>

#include "plinth/pg/pool.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

// Migrates (domain "vectors"), loads every knowledge base's index saved in options.index_dir
// (when persist is on and the folder is set) or builds it from the rows, catches each up from
// the change log, and LISTENs. Changed indexes are saved there, each with the change-log seq it
// reflects: once a base is idle (2 s), after save_after_changes changes or save_interval, and
// on destruction. A file that fails to load or does not match is ignored and rebuilt.
Result<std::unique_ptr<VectorStore>> open_postgres_vector_store(std::shared_ptr<pg::Pool> pool,
                                                                const IndexOptions& options = {});

}  // namespace plinth::vectors
