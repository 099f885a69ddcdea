// The PostgreSQL ledger: batches from BatchingLedger inserted with ON CONFLICT on the request id
// (replicas may record the same redelivered stage), the roll-up built from the rows actually
// inserted, queries as on SQLite with PostgreSQL's SQL.
#include <map>

#include "batching_ledger.h"
#include "plinth/ledger/ledger.h"
#include "plinth/pg/migrations.h"
#include "plinth/pg/pool.h"

namespace plinth::ledger {
namespace {

const std::vector<pg::Migration> kMigrations = {{1, R"(
CREATE TABLE ledger_usage (
  id BIGSERIAL PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  account_id TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  role_session TEXT NOT NULL,
  application_tag TEXT NOT NULL,
  operation TEXT NOT NULL,
  model_requested TEXT NOT NULL,
  model_used TEXT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  latency_ms BIGINT NOT NULL,
  cost_micro_usd BIGINT NOT NULL,
  escalated INT NOT NULL,
  escalation_reason TEXT NOT NULL,
  status TEXT NOT NULL,
  request_id TEXT NOT NULL,
  inference_profile TEXT NOT NULL DEFAULT '',
  profile_tags TEXT NOT NULL DEFAULT '{}',
  request_metadata TEXT NOT NULL DEFAULT '{}',
  provider TEXT NOT NULL DEFAULT '',
  cache_read_input_tokens BIGINT NOT NULL DEFAULT 0,
  cache_write_input_tokens BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ledger_usage_time ON ledger_usage(time_ms);
CREATE UNIQUE INDEX ledger_usage_request_id ON ledger_usage(request_id) WHERE request_id <> '';
CREATE TABLE ledger_usage_hourly (
  time_ms BIGINT NOT NULL,
  model_used TEXT NOT NULL,
  principal_arn TEXT NOT NULL,
  application_tag TEXT NOT NULL,
  operation TEXT NOT NULL,
  requests BIGINT NOT NULL,
  input_tokens BIGINT NOT NULL,
  output_tokens BIGINT NOT NULL,
  cost_micro_usd BIGINT NOT NULL,
  escalated BIGINT NOT NULL,
  PRIMARY KEY (time_ms, model_used, principal_arn, application_tag, operation)
);
)"}};

constexpr std::string_view kColumns =
    "time_ms, account_id, principal_arn, role_session, application_tag, operation, "
    "model_requested, model_used, input_tokens, output_tokens, latency_ms, cost_micro_usd, "
    "escalated, escalation_reason, status, request_id, inference_profile, profile_tags, "
    "request_metadata, provider, cache_read_input_tokens, cache_write_input_tokens";
constexpr int kColumnCount = 22;
// 22 parameters a row: 256 rows stay far below PostgreSQL's 65535 parameters a statement.
constexpr size_t kRowsPerInsert = 256;

// The SQL expression each grouping keys on. Fixed strings: nothing from the caller is spliced;
// $5 is the label key (bound).
std::string_view key_expression(GroupBy group_by) {
  switch (group_by) {
    case GroupBy::kModel:
      return "model_used";
    case GroupBy::kPrincipal:
      return "principal_arn";
    case GroupBy::kTag:
      return "application_tag";
    case GroupBy::kDay:
      return "to_char(to_timestamp(time_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
    case GroupBy::kOperation:
      return "operation";
    case GroupBy::kProfile:
      return "inference_profile";
    case GroupBy::kProfileTag:
      return "COALESCE(profile_tags::jsonb ->> $5::text, '')";
    case GroupBy::kMetadata:
      return "COALESCE(request_metadata::jsonb ->> $5::text, '')";
  }
  return "model_used";
}

std::string insert_sql(size_t rows) {
  std::string sql = "INSERT INTO ledger_usage (" + std::string(kColumns) + ") VALUES ";
  int n = 1;
  for (size_t i = 0; i < rows; ++i) {
    sql += i == 0 ? "(" : ",(";
    for (int c = 0; c < kColumnCount; ++c) sql += (c ? ",$" : "$") + std::to_string(n++);
    sql += ")";
  }
  // A request id recorded by any replica before is skipped; RETURNING names the rows kept.
  return sql +
         " ON CONFLICT (request_id) WHERE request_id <> '' DO NOTHING"
         " RETURNING time_ms, model_used, principal_arn, application_tag, operation,"
         " input_tokens, output_tokens, cost_micro_usd, escalated";
}

void add_params(pg::Params& p, const UsageRecord& r) {
  p.insert(p.end(), {r.time_ms,
                     r.account_id,
                     r.principal_arn,
                     r.role_session,
                     r.application_tag,
                     r.operation,
                     r.model_requested,
                     r.model_used,
                     r.input_tokens,
                     r.output_tokens,
                     r.latency_ms,
                     r.cost_micro_usd,
                     r.escalated ? 1 : 0,
                     r.escalation_reason,
                     r.status,
                     r.request_id,
                     r.inference_profile,
                     labels_json(r.profile_tags),
                     labels_json(r.request_metadata),
                     r.provider,
                     r.cache_read_input_tokens,
                     r.cache_write_input_tokens});
}

UsageTotals totals_at(const pg::Rows& rows, int i, int first) {
  return {rows.int64(i, first), rows.int64(i, first + 1), rows.int64(i, first + 2),
          rows.int64(i, first + 3), rows.int64(i, first + 4)};
}

class PgLedger final : public BatchingLedger {
 public:
  explicit PgLedger(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) { start(); }
  ~PgLedger() override { stop(); }

  Result<UsageReport> query(const UsageQuery& query) override {
    wait_committed();
    auto [from, first_hour, end_hour, to] = split_hours(query.from_ms, query.to_ms);
    if (reads_rows_only(query.group_by)) {
      from = query.from_ms;
      first_hour = end_hour = to;
    }
    std::string key = std::string(key_expression(query.group_by));
    std::string hourly = reads_rows_only(query.group_by)
                             ? " SELECT '', 0, 0, 0, 0, 0 WHERE $2 < $3"
                             : " SELECT " + key +
                                   ", requests, input_tokens, output_tokens, cost_micro_usd,"
                                   " escalated FROM ledger_usage_hourly"
                                   " WHERE time_ms >= $2 AND time_ms < $3";
    std::string sql = "SELECT k, SUM(n), SUM(i), SUM(o), SUM(c), SUM(e) FROM (SELECT " + key +
                      " AS k, 1 AS n, input_tokens AS i, output_tokens AS o, cost_micro_usd AS c,"
                      " escalated AS e FROM ledger_usage"
                      " WHERE (time_ms >= $1 AND time_ms < $2) OR (time_ms >= $3 AND time_ms < $4)"
                      " UNION ALL" +
                      hourly + ") u GROUP BY k ORDER BY k COLLATE \"C\"";
    pg::Params params = {from, first_hour, end_hour, to};
    if (query.group_by == GroupBy::kProfileTag || query.group_by == GroupBy::kMetadata) {
      params.emplace_back(query.label_key);
    }
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    auto rows = (*lease)->exec(sql, params);
    if (!rows) return std::unexpected(rows.error());
    UsageReport report;
    for (int i = 0; i < rows->size(); ++i) {
      UsageGroup group{rows->text(i, 0), totals_at(*rows, i, 1)};
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
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    auto rows = (*lease)->exec_prepared(
        "ledger_recent",
        "SELECT " + std::string(kColumns) + " FROM ledger_usage ORDER BY id DESC LIMIT $1",
        {limit});
    if (!rows) return std::unexpected(rows.error());
    std::vector<UsageRecord> records;
    const pg::Rows& r = *rows;
    for (int i = 0; i < r.size(); ++i) {
      records.push_back(UsageRecord{r.int64(i, 0),
                                    r.text(i, 1),
                                    r.text(i, 2),
                                    r.text(i, 3),
                                    r.text(i, 4),
                                    r.text(i, 5),
                                    r.text(i, 6),
                                    r.text(i, 7),
                                    r.int64(i, 8),
                                    r.int64(i, 9),
                                    r.int64(i, 10),
                                    r.int64(i, 11),
                                    r.int64(i, 12) != 0,
                                    r.text(i, 13),
                                    r.text(i, 14),
                                    r.text(i, 15),
                                    r.text(i, 16),
                                    parse_labels_json(r.text(i, 17)),
                                    parse_labels_json(r.text(i, 18)),
                                    r.text(i, 19),
                                    r.int64(i, 20),
                                    r.int64(i, 21)});
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
    std::string sql =
        "SELECT k, b, SUM(n), SUM(i), SUM(o), SUM(c), SUM(e) FROM (SELECT " + key +
        " AS k, (time_ms - $5) / $6 AS b, 1 AS n, input_tokens AS i, output_tokens AS o,"
        " cost_micro_usd AS c, escalated AS e FROM ledger_usage"
        " WHERE (time_ms >= $1 AND time_ms < $2) OR (time_ms >= $3 AND time_ms < $4)"
        " UNION ALL SELECT " +
        key +
        ", (time_ms - $5) / $6, requests, input_tokens, output_tokens, cost_micro_usd, escalated"
        " FROM ledger_usage_hourly WHERE time_ms >= $2 AND time_ms < $3"
        ") u GROUP BY k, b ORDER BY k COLLATE \"C\", b";
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    auto rows = (*lease)->exec(sql, {from, first_hour, end_hour, to, first_bucket, width});
    if (!rows) return std::unexpected(rows.error());
    UsageSeries series;
    series.bucket = query.bucket;
    series.buckets.reserve(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) series.buckets.push_back(first_bucket + i * width);
    for (int i = 0; i < rows->size(); ++i) {
      std::string line_key = rows->text(i, 0);
      int64_t index = rows->int64(i, 1);
      if (index < 0 || index >= count) continue;  // cannot happen: the WHERE bounds the range
      if (series.series.empty() || series.series.back().key != line_key) {
        series.series.push_back({std::move(line_key), std::vector<UsageTotals>(count)});
      }
      series.series.back().points[index] = totals_at(*rows, i, 2);
    }
    return series;
  }

  Result<std::vector<SpendRow>> spend_since(int64_t from_ms) override {
    wait_committed();
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    auto rows = (*lease)->exec_prepared(
        "ledger_spend_since",
        "SELECT account_id, principal_arn, application_tag, time_ms / 86400000 * 86400000,"
        " SUM(cost_micro_usd), profile_tags FROM ledger_usage WHERE time_ms >= $1"
        " GROUP BY 1, 2, 3, 4, 6",
        {std::max<int64_t>(from_ms, 0)});
    if (!rows) return std::unexpected(rows.error());
    std::vector<SpendRow> out;
    const pg::Rows& r = *rows;
    for (int i = 0; i < r.size(); ++i) {
      out.push_back(SpendRow{r.text(i, 0), r.text(i, 1), r.text(i, 2), r.int64(i, 3), r.int64(i, 4),
                             parse_labels_json(r.text(i, 5))});
    }
    return out;
  }

 private:
  Status write_batch(const std::vector<UsageRecord>& batch) override {
    auto lease = pool_->acquire();
    if (!lease) return std::unexpected(lease.error());
    pg::Connection& conn = **lease;
    auto tx = pg::Transaction::begin(conn);
    if (!tx) return std::unexpected(tx.error());
    std::map<HourKey, UsageTotals> hours;
    for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      size_t count = std::min(kRowsPerInsert, batch.size() - start);
      pg::Params params;
      params.reserve(count * kColumnCount);
      for (size_t i = 0; i < count; ++i) add_params(params, batch[start + i]);
      auto kept = conn.exec(insert_sql(count), params);
      if (!kept) return std::unexpected(kept.error());
      for (int i = 0; i < kept->size(); ++i) {
        UsageRecord r;
        r.time_ms = kept->int64(i, 0);
        r.model_used = kept->text(i, 1);
        r.principal_arn = kept->text(i, 2);
        r.application_tag = kept->text(i, 3);
        r.operation = kept->text(i, 4);
        r.input_tokens = kept->int64(i, 5);
        r.output_tokens = kept->int64(i, 6);
        r.cost_micro_usd = kept->int64(i, 7);
        r.escalated = kept->int64(i, 8) != 0;
        add_to_hour(hours, r);
      }
    }
    // In key order, so that replicas updating the same hours never deadlock.
    for (const auto& [key, t] : hours) {
      auto rolled = conn.exec_prepared(
          "ledger_roll_up",
          "INSERT INTO ledger_usage_hourly AS h (time_ms, model_used, principal_arn,"
          " application_tag, operation, requests, input_tokens, output_tokens, cost_micro_usd,"
          " escalated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
          " ON CONFLICT (time_ms, model_used, principal_arn, application_tag, operation) DO UPDATE"
          " SET requests = h.requests + excluded.requests,"
          " input_tokens = h.input_tokens + excluded.input_tokens,"
          " output_tokens = h.output_tokens + excluded.output_tokens,"
          " cost_micro_usd = h.cost_micro_usd + excluded.cost_micro_usd,"
          " escalated = h.escalated + excluded.escalated",
          {std::get<0>(key), std::get<1>(key), std::get<2>(key), std::get<3>(key), std::get<4>(key),
           t.requests, t.input_tokens, t.output_tokens, t.cost_micro_usd, t.escalations});
      if (!rolled) return std::unexpected(rolled.error());
    }
    return tx->commit();
  }

  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace

Result<std::unique_ptr<Ledger>> open_postgres_ledger(std::shared_ptr<pg::Pool> pool) {
  auto lease = pool->acquire();
  if (!lease) return std::unexpected(lease.error());
  if (auto migrated = pg::migrate(**lease, "ledger", kMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<PgLedger>(std::move(pool));
}

}  // namespace plinth::ledger
