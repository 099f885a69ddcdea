// Copying SQLite tables into PostgreSQL: table order from PostgreSQL's foreign keys, columns from
// both catalogs, batched INSERT … ON CONFLICT DO NOTHING (so a re-run or a resumed run adds only
// what is missing), then serial sequences set past the copied values and a count check.
#include "plinth/store/store_copy.h"

#include <algorithm>
#include <map>
#include <set>

namespace plinth::store {
namespace {

struct Column {
  std::string name;
  bool bytes = false;  // bytea: sent as raw bytes
};

Result<std::vector<std::string>> sqlite_tables(Database& db) {
  auto guard = db.lock();
  auto select = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
      " AND name <> 'schema_migrations' ORDER BY name");
  if (!select) return std::unexpected(select.error());
  std::vector<std::string> names;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return names;
    names.push_back(select->column_text(0));
  }
}

Result<std::set<std::string>> sqlite_columns(Database& db, const std::string& table) {
  auto guard = db.lock();
  auto select = db.prepare("SELECT name FROM pragma_table_info(?1)");
  if (!select) return std::unexpected(select.error());
  select->bind(1, table);
  std::set<std::string> names;
  while (true) {
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) return names;
    names.insert(select->column_text(0));
  }
}

Result<int64_t> sqlite_count(Database& db, const std::string& table) {
  auto guard = db.lock();
  auto select = db.prepare("SELECT COUNT(*) FROM \"" + table + "\"");
  if (!select) return std::unexpected(select.error());
  auto row = select->step();
  if (!row) return std::unexpected(row.error());
  return select->column_int(0);
}

Result<int64_t> pg_count(pg::Connection& conn, const std::string& table) {
  auto rows = conn.exec("SELECT COUNT(*) FROM \"" + table + "\"");
  if (!rows) return std::unexpected(rows.error());
  return rows->int64(0, 0);
}

// Tables ordered so that every table comes after those its foreign keys reference.
Result<std::vector<std::string>> parents_first(pg::Connection& conn,
                                               const std::vector<std::string>& tables) {
  auto rows = conn.exec(
      "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
      " WHERE c.contype = 'f'");
  if (!rows) return std::unexpected(rows.error());
  std::map<std::string, std::set<std::string>> parents;
  for (int i = 0; i < rows->size(); ++i) {
    if (rows->text(i, 0) != rows->text(i, 1)) parents[rows->text(i, 0)].insert(rows->text(i, 1));
  }
  std::vector<std::string> ordered;
  std::set<std::string> placed;
  while (ordered.size() < tables.size()) {
    bool progressed = false;
    for (const std::string& table : tables) {
      if (placed.contains(table)) continue;
      bool ready = std::all_of(parents[table].begin(), parents[table].end(), [&](const auto& p) {
        return placed.contains(p) || std::find(tables.begin(), tables.end(), p) == tables.end();
      });
      if (!ready) continue;
      ordered.push_back(table);
      placed.insert(table);
      progressed = true;
    }
    if (!progressed) return fail(ErrorCode::kInternal, "foreign keys form a cycle");
  }
  return ordered;
}

class Copier {
 public:
  Copier(Database& source, const CopyOptions& options) : source_(source), options_(options) {}

  Result<TableCopy> copy(pg::Connection& conn, const std::string& table) {
    TableCopy result{table};
    auto source_rows = sqlite_count(source_, table);
    if (!source_rows) return std::unexpected(source_rows.error());
    result.source_rows = *source_rows;
    auto described = conn.exec(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        {table});
    if (!described) return std::unexpected(described.error());
    if (described->empty()) {
      if (result.source_rows == 0) return result;
      return fail(ErrorCode::kInvalidArgument,
                  "table " + table + " has " + std::to_string(result.source_rows) +
                      " rows in SQLite but does not exist in PostgreSQL");
    }
    auto have = sqlite_columns(source_, table);
    if (!have) return std::unexpected(have.error());
    std::vector<Column> columns;
    for (int i = 0; i < described->size(); ++i) {
      if (have->contains(described->text(i, 0))) {
        columns.push_back({described->text(i, 0), described->text(i, 1) == "bytea"});
      }
    }
    std::string names, placeholders;
    for (size_t i = 0; i < columns.size(); ++i) {
      names += (i ? ", \"" : "\"") + columns[i].name + "\"";
      placeholders += (i ? ", $" : "$") + std::to_string(i + 1);
    }
    std::string insert = "INSERT INTO \"" + table + "\" (" + names + ") VALUES (" + placeholders +
                         ") ON CONFLICT DO NOTHING";
    // Insertion order follows SQLite's (rowid) where the table has one, so that serial ids and
    // "oldest first" orders come out the same.
    auto guard = source_.lock();
    auto select = source_.prepare("SELECT " + names + " FROM \"" + table + "\" ORDER BY rowid");
    if (!select) select = source_.prepare("SELECT " + names + " FROM \"" + table + "\"");
    if (!select) return std::unexpected(select.error());
    bool more = true;
    while (more) {
      auto transaction = pg::Transaction::begin(conn);
      if (!transaction) return std::unexpected(transaction.error());
      for (int n = 0; n < options_.batch_rows; ++n) {
        auto row = select->step();
        if (!row) return std::unexpected(row.error());
        if (!*row) {
          more = false;
          break;
        }
        pg::Params params;
        for (size_t i = 0; i < columns.size(); ++i) {
          int c = static_cast<int>(i);
          if (select->column_is_null(c)) {
            params.emplace_back(nullptr);
          } else if (columns[i].bytes) {
            params.push_back(pg::Param::bytes(select->column_text(c)));
          } else {
            params.emplace_back(select->column_text(c));
          }
        }
        auto done = conn.exec_prepared("store_copy_" + table, insert, params);
        if (!done) return std::unexpected(done.error());
        result.inserted += done->affected();
      }
      if (auto committed = transaction->commit(); !committed) {
        return std::unexpected(committed.error());
      }
      inserted_total_ += result.inserted - reported_;
      reported_ = result.inserted;
      if (options_.stop_after_rows >= 0 && inserted_total_ >= options_.stop_after_rows) {
        return fail(ErrorCode::kUnavailable, "copy interrupted (stop_after_rows)");
      }
    }
    reported_ = 0;
    if (auto moved = move_sequences(conn, table); !moved) return std::unexpected(moved.error());
    auto target_rows = pg_count(conn, table);
    if (!target_rows) return std::unexpected(target_rows.error());
    result.target_rows = *target_rows;
    if (result.target_rows < result.source_rows) {
      return fail(ErrorCode::kCorruptData,
                  "table " + table + ": " + std::to_string(result.source_rows) +
                      " rows in SQLite, " + std::to_string(result.target_rows) +
                      " in PostgreSQL after the copy");
    }
    return result;
  }

 private:
  // A serial column's sequence continues after the largest copied value.
  Status move_sequences(pg::Connection& conn, const std::string& table) {
    auto serials = conn.exec(
        "SELECT column_name FROM information_schema.columns WHERE table_schema ="
        " current_schema() AND table_name = $1 AND column_default LIKE 'nextval(%'",
        {table});
    if (!serials) return std::unexpected(serials.error());
    for (int i = 0; i < serials->size(); ++i) {
      std::string column = serials->text(i, 0);
      auto moved = conn.exec(
          "SELECT setval(pg_get_serial_sequence($1, $2), GREATEST((SELECT"
          " MAX(\"" +
              column + "\") FROM \"" + table + "\"), 1))",
          {table, column});
      if (!moved) return std::unexpected(moved.error());
    }
    return ok();
  }

  Database& source_;
  const CopyOptions& options_;
  int64_t inserted_total_ = 0;
  int64_t reported_ = 0;
};

}  // namespace

Result<std::vector<TableCopy>> copy_sqlite_to_postgres(Database& source, pg::Pool& target,
                                                       const CopyOptions& options) {
  if (options.batch_rows < 1) return fail(ErrorCode::kInvalidArgument, "batch_rows must be >= 1");
  auto tables = sqlite_tables(source);
  if (!tables) return std::unexpected(tables.error());
  auto conn = target.acquire();
  if (!conn) return std::unexpected(conn.error());
  auto ordered = parents_first(**conn, *tables);
  if (!ordered) return std::unexpected(ordered.error());
  Copier copier(source, options);
  std::vector<TableCopy> copies;
  for (const std::string& table : *ordered) {
    auto copied = copier.copy(**conn, table);
    if (!copied) return std::unexpected(copied.error());
    if (options.on_table) options.on_table(*copied);
    copies.push_back(std::move(*copied));
  }
  return copies;
}

}  // namespace plinth::store
