// The documents domain's tables in PostgreSQL, shared by every replica on the database.
#pragma once

#include <memory>

#include "plinth/documents/document_store.h"
#include "plinth/pg/pool.h"

namespace plinth::documents {

// Migrates (domain "documents") and returns the store; statements run on `pool`'s connections.
Result<std::unique_ptr<DocumentStore>> open_postgres_document_store(std::shared_ptr<pg::Pool> pool);

}  // namespace plinth::documents
