// The SQLite ledger: batches from BatchingLedger committed to ledger_usage and its hourly roll-up.
#include <chrono>
#include <condition_variable>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <tuple>

#include "batching_ledger.h"
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
-- Hourly roll-up written in the same transaction as the rows: reports over whole hours read it
-- instead of every call. time_ms is the hour's start.
CREATE TABLE ledger_usage_hourly (
  time_ms INTEGER NOT NULL,
  model_used TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  application_tag TEXT NOT NULL,
  operation TEXT NOT NULL,
  requests INTEGER NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_micro_usd INTEGER NOT NULL,
  escalated INTEGER NOT NULL,
  PRIMARY KEY (time_ms, model_used, principal_arn, application_tag, operation)
) WITHOUT ROWID;
)"},
                                                   // A request id is recorded once: a stage of a
                                                   // redelivered job re-records the same id.
                                                   {2, R"(
CREATE UNIQUE INDEX ledger_usage_request_id ON ledger_usage(request_id) WHERE request_id <> '';
)"},
                                                   // Application inference profiles: the ARN,
                                                   // its tags and Converse requestMetadata, the
                                                   // two as JSON objects (grouped with json_each).
                                                   {3, R"(
ALTER TABLE ledger_usage ADD COLUMN inference_profile TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_usage ADD COLUMN profile_tags TEXT NOT NULL DEFAULT '{}';
ALTER TABLE ledger_usage ADD COLUMN request_metadata TEXT NOT NULL DEFAULT '{}';
)"},
                                                   // Upstream providers and prompt caches.
                                                   {4, R"(
ALTER TABLE ledger_usage ADD COLUMN provider TEXT NOT NULL DEFAULT '';
ALTER TABLE ledger_usage ADD COLUMN cache_read_input_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger_usage ADD COLUMN cache_write_input_tokens INTEGER NOT NULL DEFAULT 0;
)"}};

constexpr std::string_view kColumns =
    "time_ms, account_id, principal_arn, role_session, application_tag, operation, "
    "model_requested, model_used, input_tokens, output_tokens, latency_ms, cost_micro_usd, "
    "escalated, escalation_reason, status, request_id, inference_profile, profile_tags, "
    "request_metadata, provider, cache_read_input_tokens, cache_write_input_tokens";
constexpr int kColumnCount = 22;

// Rows per INSERT statement: 19 columns each stays far below SQLite's parameter limit.
constexpr size_t kRowsPerInsert = 256;

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
    case GroupBy::kProfile:
      return "inference_profile";
    // ?9 is the label key (bound, never spliced); absent keys group under "".
    case GroupBy::kProfileTag:
      return "COALESCE((SELECT value FROM json_each(profile_tags) WHERE key = ?9), '')";
    case GroupBy::kMetadata:
      return "COALESCE((SELECT value FROM json_each(request_metadata) WHERE key = ?9), '')";
  }
  return "model_used";
}

std::string insert_sql(size_t rows) {
  std::string sql = "INSERT INTO ledger_usage (" + std::string(kColumns) + ") VALUES ";
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "" : ",";
    sql += "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
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
      .bind(first + 15, r.request_id)
      .bind(first + 16, r.inference_profile)
      .bind(first + 17, labels_json(r.profile_tags))
      .bind(first + 18, labels_json(r.request_metadata))
      .bind(first + 19, r.provider)
      .bind(first + 20, r.cache_read_input_tokens)
      .bind(first + 21, r.cache_write_input_tokens);
}

class SqliteLedger final : public BatchingLedger {
 public:
  explicit SqliteLedger(store::Database& db) : db_(db) { start(); }
  ~SqliteLedger() override { stop(); }

  Result<UsageReport> query(const UsageQuery& query) override {
    wait_committed();  // a dropped batch is flush()'s to report, not a reason to fail a report
    // Whole hours [first_hour, end_hour) come from the roll-up; the partial hours at either end
    // ([from, first_hour) and [end_hour, to)) from the rows themselves.
    auto [from, first_hour, end_hour, to] = split_hours(query.from_ms, query.to_ms);
    if (reads_rows_only(query.group_by)) {
      from = query.from_ms;
      first_hour = end_hour = to;  // every row comes from ledger_usage, none from the roll-up
    }
    std::string key = std::string(key_expression(query.group_by));
    // The roll-up's half of the union; the row-only groupings name columns it lacks, so for them
    // it is a constant empty select.
    std::string hourly =
        reads_rows_only(query.group_by)
            ? " SELECT '', 0, 0, 0, 0, 0 WHERE ?2 < ?3"
            : " SELECT " + key +
                  ", requests, input_tokens, output_tokens, cost_micro_usd, escalated"
                  " FROM ledger_usage_hourly WHERE time_ms >= ?2 AND time_ms < ?3";
    std::string sql =
        "SELECT k, SUM(n), SUM(i), SUM(o), SUM(c), SUM(e) FROM ("
        " SELECT " +
        key +
        " AS k, 1 AS n, input_tokens AS i, output_tokens AS o,"
        " cost_micro_usd AS c, escalated AS e FROM ledger_usage"
        " WHERE (time_ms >= ?1 AND time_ms < ?2) OR (time_ms >= ?3 AND time_ms < ?4)"
        " UNION ALL" +
        hourly + ") GROUP BY k ORDER BY k";
    auto guard = db_.lock();
    auto statement = db_.prepare(sql);
    if (!statement) return std::unexpected(statement.error());
    statement->bind(1, from).bind(2, first_hour).bind(3, end_hour).bind(4, to);
    if (query.group_by == GroupBy::kProfileTag || query.group_by == GroupBy::kMetadata) {
      statement->bind(9, query.label_key);
    }
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
      records.push_back(UsageRecord{s.column_int(0),
                                    s.column_text(1),
                                    s.column_text(2),
                                    s.column_text(3),
                                    s.column_text(4),
                                    s.column_text(5),
                                    s.column_text(6),
                                    s.column_text(7),
                                    s.column_int(8),
                                    s.column_int(9),
                                    s.column_int(10),
                                    s.column_int(11),
                                    s.column_int(12) != 0,
                                    s.column_text(13),
                                    s.column_text(14),
                                    s.column_text(15),
                                    s.column_text(16),
                                    parse_labels_json(s.column_text(17)),
                                    parse_labels_json(s.column_text(18)),
                                    s.column_text(19),
                                    s.column_int(20),
                                    s.column_int(21)});
    }
    return records;
  }

  Result<UsageSeries> series(const SeriesQuery& query) override {
    auto layout = series_layout(query);
    if (!layout) return std::unexpected(layout.error());
    const auto [width, first_bucket, count] = *layout;
    wait_committed();
    auto [from, first_hour, end_hour, to] = split_hours(query.from_ms, query.to_ms);
    std::string key = std::string(key_expression(query.by));
    // ?5 is the first bucket's start and ?6 the bucket width: (time_ms - ?5) / ?6 is a row's
    // bucket index (never negative, since time_ms >= from >= ?5).
    std::string sql =
        "SELECT k, b, SUM(n), SUM(i), SUM(o), SUM(c), SUM(e) FROM ("
        " SELECT " +
        key +
        " AS k, (time_ms - ?5) / ?6 AS b, 1 AS n, input_tokens AS i, output_tokens AS o,"
        " cost_micro_usd AS c, escalated AS e FROM ledger_usage"
        " WHERE (time_ms >= ?1 AND time_ms < ?2) OR (time_ms >= ?3 AND time_ms < ?4)"
        " UNION ALL"
        " SELECT " +
        key +
        ", (time_ms - ?5) / ?6, requests, input_tokens, output_tokens, cost_micro_usd, escalated"
        " FROM ledger_usage_hourly WHERE time_ms >= ?2 AND time_ms < ?3"
        ") GROUP BY k, b ORDER BY k, b";
    auto guard = db_.lock();
    auto statement = db_.prepare(sql);
    if (!statement) return std::unexpected(statement.error());
    statement->bind(1, from).bind(2, first_hour).bind(3, end_hour).bind(4, to);
    statement->bind(5, first_bucket).bind(6, width);
    UsageSeries series;
    series.bucket = query.bucket;
    series.buckets.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) series.buckets.push_back(first_bucket + i * width);
    while (true) {
      auto row = statement->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      std::string line_key = statement->column_text(0);
      int64_t index = statement->column_int(1);
      if (index < 0 || index >= count) continue;  // cannot happen: the WHERE bounds the range
      if (series.series.empty() || series.series.back().key != line_key) {
        series.series.push_back({std::move(line_key), std::vector<UsageTotals>(count)});
      }
      series.series.back().points[index] = {statement->column_int(2), statement->column_int(3),
                                            statement->column_int(4), statement->column_int(5),
                                            statement->column_int(6)};
    }
    return series;
  }

  Result<std::vector<SpendRow>> spend_since(int64_t from_ms) override {
    wait_committed();
    auto guard = db_.lock();
    // A range scan on ledger_usage_time; the hourly roll-up has no account column.
    auto statement = db_.prepare(
        "SELECT account_id, principal_arn, application_tag, time_ms / 86400000 * 86400000 AS day,"
        " SUM(cost_micro_usd), profile_tags FROM ledger_usage WHERE time_ms >= ?1"
        " GROUP BY 1, 2, 3, 4, 6");
    if (!statement) return std::unexpected(statement.error());
    statement->bind(1, std::max<int64_t>(from_ms, 0));
    std::vector<SpendRow> rows;
    while (true) {
      auto row = statement->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) break;
      const store::Statement& s = *statement;
      rows.push_back(SpendRow{s.column_text(0), s.column_text(1), s.column_text(2), s.column_int(3),
                              s.column_int(4), parse_labels_json(s.column_text(5))});
    }
    return rows;
  }

 private:
  Status write_batch(const std::vector<UsageRecord>& queued) override {
    auto transaction = store::Transaction::begin(db_);
    if (!transaction) return std::unexpected(transaction.error());
    auto unrecorded = drop_recorded(queued);
    if (!unrecorded) return std::unexpected(unrecorded.error());
    const std::vector<UsageRecord>& batch = *unrecorded;
    for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      size_t rows = std::min(kRowsPerInsert, batch.size() - start);
      auto statement = db_.prepare(insert_sql(rows));
      if (!statement) return std::unexpected(statement.error());
      for (size_t i = 0; i < rows; ++i) {
        bind_record(*statement, static_cast<int>(i * kColumnCount + 1), batch[start + i]);
      }
      if (auto run = statement->run(); !run) return std::unexpected(run.error());
    }
    if (auto rolled = roll_up(batch); !rolled) return rolled;
    return transaction->commit();
  }

  // The records whose request id is empty or not yet in the table (nor earlier in the batch).
  Result<std::vector<UsageRecord>> drop_recorded(const std::vector<UsageRecord>& batch) {
    // The `<> ''` term lets SQLite use the partial unique index (a bare `= ?1` scans the table).
    auto exists =
        db_.prepare("SELECT 1 FROM ledger_usage WHERE request_id = ?1 AND request_id <> ''");
    if (!exists) return std::unexpected(exists.error());
    std::vector<UsageRecord> kept;
    kept.reserve(batch.size());
    std::set<std::string_view> seen;
    for (const UsageRecord& r : batch) {
      if (!r.request_id.empty()) {
        if (!seen.insert(r.request_id).second) continue;
        auto found = exists->bind(1, r.request_id).step();
        if (!found) return std::unexpected(found.error());
        exists->reset();
        if (*found) continue;
      }
      kept.push_back(r);
    }
    return kept;
  }

  // Adds the batch to the hourly roll-up (inside write_batch's transaction).
  Status roll_up(const std::vector<UsageRecord>& batch) {
    std::map<HourKey, UsageTotals> hours;
    for (const UsageRecord& r : batch) add_to_hour(hours, r);
    for (const auto& [key, t] : hours) {
      auto statement = db_.prepare(
          "INSERT INTO ledger_usage_hourly (time_ms, model_used, principal_arn, application_tag,"
          " operation, requests, input_tokens, output_tokens, cost_micro_usd, escalated)"
          " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
          " ON CONFLICT (time_ms, model_used, principal_arn, application_tag, operation) DO UPDATE"
          " SET requests = requests + excluded.requests,"
          " input_tokens = input_tokens + excluded.input_tokens,"
          " output_tokens = output_tokens + excluded.output_tokens,"
          " cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd,"
          " escalated = escalated + excluded.escalated");
      if (!statement) return std::unexpected(statement.error());
      statement->bind(1, std::get<0>(key))
          .bind(2, std::get<1>(key))
          .bind(3, std::get<2>(key))
          .bind(4, std::get<3>(key))
          .bind(5, std::get<4>(key))
          .bind(6, t.requests)
          .bind(7, t.input_tokens)
          .bind(8, t.output_tokens)
          .bind(9, t.cost_micro_usd)
          .bind(10, t.escalations);
      if (auto run = statement->run(); !run) return std::unexpected(run.error());
    }
    return ok();
  }

  store::Database& db_;
};

}  // namespace

Result<std::unique_ptr<Ledger>> open_sqlite_ledger(store::Database& db) {
  if (auto migrated = db.migrate("ledger", kMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<SqliteLedger>(db);
}

}  // namespace plinth::ledger
