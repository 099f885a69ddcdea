// plinth store migrate --from sqlite:PATH --to postgresql://…: copies a single-node installation
// into PostgreSQL for replicas (schemas of every domain first, then the rows, then a count check).
#include <cstdio>
#include <filesystem>

#include "commands.h"
#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/documents/document_store.h"
#include "plinth/documents/pg_document_store.h"
#include "plinth/jobs/queue.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/inference_profiles.h"
#include "plinth/store/storage_url.h"
#include "plinth/store/store.h"
#include "plinth/store/store_copy.h"
#include "plinth/vectors/pg_vector_store.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;

struct MigrateOptions {
  std::string from;
  std::string to;
  std::string data_dir;  // the master key's home; default: the SQLite file's folder
  int batch_rows = 500;
};

int report_error(const std::string& message) {
  std::fprintf(stderr, "plinth store migrate: %s\n", message.c_str());
  return 1;
}

// Opening each domain's store applies its migrations: SQLite so that every table is current
// before it is read, PostgreSQL so that every table exists before it is written.
Status migrate_sqlite_domains(store::Database& db) {
  auto clock = Clock::real();
  if (auto queue = jobs::open_sqlite_queue(db, *clock); !queue)
    return std::unexpected(queue.error());
  if (auto tables = documents::open_sqlite_document_store(db); !tables) {
    return std::unexpected(tables.error());
  }
  if (auto vectors = vectors::open_sqlite_vector_store(db, {.persist = false}); !vectors) {
    return std::unexpected(vectors.error());
  }
  if (auto ledger = ledger::open_sqlite_ledger(db); !ledger) return std::unexpected(ledger.error());
  if (auto profiles = store::open_sqlite_inference_profiles(db); !profiles) {
    return std::unexpected(profiles.error());
  }
  return ok();
}

Status migrate_postgres_domains(const std::shared_ptr<pg::Pool>& pool) {
  auto clock = Clock::real();
  if (auto queue = jobs::open_postgres_queue(pool, *clock); !queue) {
    return std::unexpected(queue.error());
  }
  if (auto tables = documents::open_postgres_document_store(pool); !tables) {
    return std::unexpected(tables.error());
  }
  if (auto vectors = vectors::open_postgres_vector_store(pool); !vectors) {
    return std::unexpected(vectors.error());
  }
  if (auto ledger = ledger::open_postgres_ledger(pool); !ledger) {
    return std::unexpected(ledger.error());
  }
  if (auto profiles = store::open_postgres_inference_profiles(pool); !profiles) {
    return std::unexpected(profiles.error());
  }
  return ok();
}

int run_migrate(const MigrateOptions& o) {
  auto from = store::parse_storage_url(o.from, o.data_dir.empty() ? "." : o.data_dir);
  if (!from || from->kind != store::StorageLocation::Kind::kSqlite || o.from.empty()) {
    return report_error("--from must be sqlite:PATH (the single-node store)");
  }
  if (!fs::exists(from->sqlite_file)) {
    return report_error("no SQLite store at " + from->sqlite_file.string());
  }
  auto to = store::parse_storage_url(o.to, ".");
  if (!to || to->kind != store::StorageLocation::Kind::kPostgres) {
    return report_error("--to must be a postgresql:// URL");
  }
  fs::path data_dir = o.data_dir.empty() ? from->sqlite_file.parent_path() : fs::path(o.data_dir);
  auto random = Random::secure();
  // The IAM stores (both sides) with the installation's master key, which the replicas share.
  auto source = store::open_store(*from, data_dir, random);
  if (!source) return report_error(source.error().message);
  store::Database* db = (*source)->database();
  if (db == nullptr) return report_error("the source store has no SQLite database");
  if (auto migrated = migrate_sqlite_domains(*db); !migrated) {
    return report_error(migrated.error().message);
  }
  auto target = store::open_store(*to, data_dir, random, {.url = to->postgres_url, .size = 2});
  if (!target) return report_error(target.error().message);
  std::shared_ptr<pg::Pool> pool = (*target)->pg_pool();
  if (!pool) return report_error("the target store has no PostgreSQL pool");
  if (auto migrated = migrate_postgres_domains(pool); !migrated) {
    return report_error(migrated.error().message);
  }
  int64_t rows = 0;
  store::CopyOptions copy;
  copy.batch_rows = o.batch_rows;
  copy.on_table = [&rows](const store::TableCopy& t) {
    rows += t.target_rows;
    std::printf("%-32s %10lld rows in SQLite, %10lld in PostgreSQL (%lld new)\n", t.table.c_str(),
                static_cast<long long>(t.source_rows), static_cast<long long>(t.target_rows),
                static_cast<long long>(t.inserted));
  };
  auto copied = store::copy_sqlite_to_postgres(*db, *pool, copy);
  if (!copied) {
    return report_error(copied.error().message +
                        " (run the same command again: it resumes where it stopped)");
  }
  std::printf("count check passed: %zu tables, %lld rows\n", copied->size(),
              static_cast<long long>(rows));
  return 0;
}

}  // namespace

void add_store_commands(CLI::App& app, Action* action) {
  auto* store = app.add_subcommand("store", "The storage backends");
  store->require_subcommand(1);
  auto o = std::make_shared<MigrateOptions>();
  auto* migrate = store->add_subcommand(
      "migrate", "Copy a single-node SQLite store into PostgreSQL (idempotent, resumable)");
  migrate->add_option("--from", o->from, "sqlite:PATH of the single-node store")->required();
  migrate->add_option("--to", o->to, "postgresql://… of the replicas' database")->required();
  migrate->add_option("--data-dir", o->data_dir,
                      "Data dir holding master.key (default: the SQLite file's folder)");
  migrate->add_option("--batch-rows", o->batch_rows, "Rows per PostgreSQL transaction (500)")
      ->check(CLI::Range(1, 100000));
  migrate->callback([o, action] { *action = [o] { return run_migrate(*o); }; });
}

}  // namespace plinth::cli
