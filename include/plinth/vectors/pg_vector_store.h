// Knowledge-base vectors in PostgreSQL, shared by replicas (no pgvector: chunks and embeddings
// are plain rows); each replica searches its own in-memory hnswlib index, kept up to date from a
// per-knowledge-base change log (caught up on start, on NOTIFY and before every search).
#pragma once

#include <memory>

#include "plinth/pg/pool.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

// Migrates (domain "vectors"), builds every knowledge base's index from the rows, and LISTENs.
// IndexOptions' persistence fields are not used: a replica rebuilds from the rows on start.
Result<std::unique_ptr<VectorStore>> open_postgres_vector_store(std::shared_ptr<pg::Pool> pool,
                                                                const IndexOptions& options = {});

}  // namespace plinth::vectors
