// `plinth store migrate`: copies a single-node SQLite installation's tables into PostgreSQL whose
// schemas are already migrated. Idempotent and resumable (rows already there are kept), with a
// row-count check per table at the end.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/pg/pool.h"
#include "plinth/store/database.h"

namespace plinth::store {

struct TableCopy {
  std::string table;
  int64_t source_rows = 0;
  int64_t inserted = 0;     // rows this run added (0 on a re-run)
  int64_t target_rows = 0;  // after the copy
};

struct CopyOptions {
  int batch_rows = 500;  // rows per PostgreSQL transaction
  // Tests: stop with kUnavailable after this many rows were inserted (a crash mid-copy); < 0: off.
  int64_t stop_after_rows = -1;
  std::function<void(const TableCopy&)> on_table{};  // progress, after each table
};

// Every SQLite table (but the migration bookkeeping) into the PostgreSQL table of the same name,
// the columns both have, parents before children (PostgreSQL's foreign keys), serial sequences
// moved past the copied values. kInvalidArgument when a SQLite table with rows has no PostgreSQL
// counterpart; kCorruptData when a table holds fewer rows in PostgreSQL than in SQLite after it.
Result<std::vector<TableCopy>> copy_sqlite_to_postgres(Database& source, pg::Pool& target,
                                                       const CopyOptions& options = {});

}  // namespace plinth::store
