// The SQLite ledger: a queue that record() fills and a writer thread that commits it in batches.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "plinth/core/log.h"
#include "plinth/ledger/ledger.h"
#include "plinth/store/database.h"

namespace plinth::ledger {
namespace {

const std::vector<store::Migration> kMigrations = {{1, R"(
CREATE TABLE ledger_usage (
  id INTEGER PRIMARY KEY,
  time_ms INTEGER NOT NULL,
  account_id TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  role_session TEXT NOT NULL,
  application_tag TEXT NOT NULL,
  operation TEXT NOT NULL,
  model_requested TEXT NOT NULL,
  model_used TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  cost_micro_usd INTEGER NOT NULL,
  escalated INTEGER NOT NULL,
  escalation_reason TEXT NOT NULL,
  status TEXT NOT NULL,
  request_id TEXT NOT NULL
);
CREATE INDEX ledger_usage_time ON ledger_usage(time_ms);
)"}};

constexpr std::string_view kColumns =
    "time_ms, account_id, principal_arn, role_session, application_tag, operation, "
    "model_requested, model_used, input_tokens, output_tokens, latency_ms, cost_micro_usd, "
    "escalated, escalation_reason, status, request_id";

// Rows per INSERT statement: 16 columns each stays far below SQLite's parameter limit.
constexpr size_t kRowsPerInsert = 256;
constexpr int kWriteAttempts = 3;

// The SQL expression each grouping keys on. Fixed strings: nothing from the caller is spliced.
std::string_view key_expression(GroupBy group_by) {
  switch (group_by) {
    case GroupBy::kModel:
      return "model_used";
    case GroupBy::kPrincipal:
      return "principal_arn";
    case GroupBy::kTag:
      return "application_tag";
    case GroupBy::kDay:
      return "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')";
    case GroupBy::kOperation:
      return "operation";
  }
  return "model_used";
}

std::string insert_sql(size_t rows) {
  std::string sql = "INSERT INTO ledger_usage (" + std::string(kColumns) + ") VALUES ";
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "" : ",";
    sql += "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  }
  return sql;
}

void bind_record(store::Statement& statement, int first, const UsageRecord& r) {
  statement.bind(first + 0, r.time_ms)
      .bind(first + 1, r.account_id)
      .bind(first + 2, r.principal_arn)
      .bind(first + 3, r.role_session)
      .bind(first + 4, r.application_tag)
      .bind(first + 5, r.operation)
      .bind(first + 6, r.model_requested)
      .bind(first + 7, r.model_used)
      .bind(first + 8, r.input_tokens)
      .bind(first + 9, r.output_tokens)
      .bind(first + 10, r.latency_ms)
      .bind(first + 11, r.cost_micro_usd)
      .bind(first + 12, static_cast<int64_t>(r.escalated ? 1 : 0))
      .bind(first + 13, r.escalation_reason)
      .bind(first + 14, r.status)
      .bind(first + 15, r.request_id);
}

class SqliteLedger final : public Ledger {
 public:
  explicit SqliteLedger(store::Database& db) : db_(db) {
    writer_ = std::thread([this] { write_loop(); });
  }

  ~SqliteLedger() override {
    if (auto flushed = flush(); !flushed) {
      log::error("ledger: records lost at shutdown: {}", flushed.error().message);
    }
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    work_.notify_one();
    writer_.join();
  }

  void record(UsageRecord record) override {
    {
      std::lock_guard lock(mutex_);
      pending_.push_back(std::move(record));
      ++enqueued_;
    }
    work_.notify_one();
  }

  Status flush() override {
    std::unique_lock lock = wait_committed();
    if (write_error_) {
      Error error = *write_error_;
      write_error_.reset();
      return std::unexpected(error);
    }
    return ok();
  }

  Result<UsageReport> query(const UsageQuery& query) override {
    wait_committed();  // a dropped batch is flush()'s to report, not a reason to fail a report
    std::string sql = "SELECT " + std::string(key_expression(query.group_by)) +
                      ", COUNT(*), SUM(input_tokens), SUM(output_tokens), SUM(cost_micro_usd), "
                      "SUM(escalated) FROM ledger_usage WHERE time_ms >= ?1 AND time_ms < ?2 "
                      "GROUP BY 1 ORDER BY 1";
    auto guard = db_.lock();
    auto statement = db_.prepare(sql);
    if (!statement) return std::unexpected(statement.error());
    statement->bind(1, query.from_ms).bind(2, query.to_ms);
    UsageReport report;
    while (true) {
      auto row = statement->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      UsageGroup group;
      group.key = statement->column_text(0);
      group.totals = {statement->column_int(1), statement->column_int(2), statement->column_int(3),
                      statement->column_int(4), statement->column_int(5)};
      UsageTotals& total = report.total;
      total.requests += group.totals.requests;
      total.input_tokens += group.totals.input_tokens;
      total.output_tokens += group.totals.output_tokens;
      total.cost_micro_usd += group.totals.cost_micro_usd;
      total.escalations += group.totals.escalations;
      report.groups.push_back(std::move(group));
    }
    return report;
  }

  Result<std::vector<UsageRecord>> recent(int limit) override {
    wait_committed();
    auto guard = db_.lock();
    auto statement = db_.prepare("SELECT " + std::string(kColumns) +
                                 " FROM ledger_usage ORDER BY id DESC LIMIT ?1");
    if (!statement) return std::unexpected(statement.error());
    statement->bind(1, static_cast<int64_t>(limit));
    std::vector<UsageRecord> records;
    while (true) {
      auto row = statement->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const store::Statement& s = *statement;
      records.push_back(UsageRecord{
          s.column_int(0), s.column_text(1), s.column_text(2), s.column_text(3), s.column_text(4),
          s.column_text(5), s.column_text(6), s.column_text(7), s.column_int(8), s.column_int(9),
          s.column_int(10), s.column_int(11), s.column_int(12) != 0, s.column_text(13),
          s.column_text(14), s.column_text(15)});
    }
    return records;
  }

 private:
  // Blocks until everything enqueued so far is committed (or dropped); returns the held lock.
  std::unique_lock<std::mutex> wait_committed() {
    std::unique_lock lock(mutex_);
    uint64_t target = enqueued_;
    committed_changed_.wait(lock, [&] { return committed_ >= target; });
    return lock;
  }

  // Writer thread: takes everything queued, commits it in one transaction, repeats. Records that
  // arrive during a commit form the next batch, so batches grow with the load.
  void write_loop() {
    std::vector<UsageRecord> batch;
    while (true) {
      uint64_t target = 0;
      {
        std::unique_lock lock(mutex_);
        work_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;  // stopping, nothing left
        batch.swap(pending_);
        target = enqueued_;
      }
      Status written = ok();
      for (int attempt = 1; attempt <= kWriteAttempts; ++attempt) {
        written = write_batch(batch);
        if (written) break;
        log::warn("ledger: write of {} record(s) failed (attempt {}): {}", batch.size(), attempt,
                  written.error().message);
        std::this_thread::sleep_for(std::chrono::milliseconds(50 * attempt));
      }
      if (!written) {
        log::error("ledger: dropped {} record(s): {}", batch.size(), written.error().message);
      }
      batch.clear();
      {
        std::lock_guard lock(mutex_);
        committed_ = target;
        if (!written) write_error_ = written.error();
      }
      committed_changed_.notify_all();
    }
  }

  Status write_batch(const std::vector<UsageRecord>& batch) {
    auto transaction = store::Transaction::begin(db_);
    if (!transaction) return std::unexpected(transaction.error());
    for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      size_t rows = std::min(kRowsPerInsert, batch.size() - start);
      auto statement = db_.prepare(insert_sql(rows));
      if (!statement) return std::unexpected(statement.error());
      for (size_t i = 0; i < rows; ++i) {
        bind_record(*statement, static_cast<int>(i * 16 + 1), batch[start + i]);
      }
      if (auto run = statement->run(); !run) return std::unexpected(run.error());
    }
    return transaction->commit();
  }

  store::Database& db_;
  std::mutex mutex_;
  std::condition_variable work_;               // pending_ gained records, or stopping_
  std::condition_variable committed_changed_;  // committed_ advanced
  std::vector<UsageRecord> pending_;           // guarded by mutex_
  uint64_t enqueued_ = 0;                      // guarded by mutex_: records ever queued
  uint64_t committed_ = 0;                     // guarded by mutex_: records written (or dropped)
  std::optional<Error> write_error_;           // guarded by mutex_: last dropped batch's error
  bool stopping_ = false;                      // guarded by mutex_
  std::thread writer_;                         // runs write_loop(); started last
};

}  // namespace

Result<std::unique_ptr<Ledger>> open_sqlite_ledger(store::Database& db) {
  if (auto migrated = db.migrate("ledger", kMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<SqliteLedger>(db);
}

}  // namespace plinth::ledger
