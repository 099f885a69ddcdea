// The usage ledger: one durable record per model call (who, which model, tokens, cost) and the
// grouped usage report built from it.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::store {
class Database;
}

namespace plinth::ledger {

// The request header a caller sets to attribute a call to one of its applications.
inline constexpr std::string_view kApplicationTagHeader = "x-plinth-application-tag";

struct UsageRecord {
  int64_t time_ms = 0;  // Unix time in milliseconds, when the call ended
  std::string account_id;
  std::string principal_arn;
  std::string role_session;     // assumed-role session name; empty otherwise
  std::string application_tag;  // kApplicationTagHeader or an application profile id; may be empty
  // Converse, ConverseStream, InvokeModel, InvokeModelWithResponseStream, ChatCompletions,
  // Embeddings.
  std::string operation;
  std::string model_requested;  // as the caller named it (id, alias or ARN)
  std::string model_used;       // catalog id of the model that answered; empty if none resolved
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t latency_ms = 0;
  int64_t cost_micro_usd = 0;  // catalog::compute_cost(...).micro_usd()
  bool escalated = false;
  std::string escalation_reason;
  std::string status;  // HTTP status ("200", "400") or, after a stream started, the error code name
  std::string request_id;
};

enum class GroupBy { kModel, kPrincipal, kTag, kDay, kOperation };

// "model", "principal", "tag", "day" (UTC, YYYY-MM-DD), "operation"; kInvalidArgument otherwise.
Result<GroupBy> parse_group_by(std::string_view text);
std::string_view to_string(GroupBy group_by);

// A time bound as Unix milliseconds: Unix seconds ("1764065503") or ISO 8601 UTC
// ("2025-11-25", "2025-11-25T10:11:43Z", with optional fraction and +HH:MM offset).
Result<int64_t> parse_time_bound(std::string_view text);

struct UsageQuery {
  GroupBy group_by = GroupBy::kModel;
  int64_t from_ms = 0;                                  // inclusive
  int64_t to_ms = std::numeric_limits<int64_t>::max();  // exclusive
};

struct UsageTotals {
  int64_t requests = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cost_micro_usd = 0;
  int64_t escalations = 0;

  double cost_usd() const { return static_cast<double>(cost_micro_usd) / 1e6; }
};

// Cost booked for one (account, principal, tag) on one UTC day (budgets rebuild from these).
struct SpendRow {
  std::string account_id;
  std::string principal_arn;
  std::string application_tag;
  int64_t day_start_ms = 0;
  int64_t cost_micro_usd = 0;
};

struct UsageGroup {
  std::string key;
  UsageTotals totals;
};

struct UsageReport {
  std::vector<UsageGroup> groups;  // sorted by key (byte order)
  UsageTotals total;
};

// {"groups":[{"key","requests","input_tokens","output_tokens","cost_usd","escalations"}],
//  "total":{"requests",...}} — the /v1/usage body and `plinth usage --json`.
std::string usage_report_json(const UsageReport& report);

class Ledger {
 public:
  virtual ~Ledger() = default;
  // Enqueues; never blocks on the disk. Thread-safe.
  virtual void record(UsageRecord record) = 0;
  // Waits until every record enqueued before the call is committed; reports a failed write.
  virtual Status flush() = 0;
  // Sees every record() that returned before it (flushes first).
  virtual Result<UsageReport> query(const UsageQuery& query) = 0;
  // The newest `limit` records, newest first.
  virtual Result<std::vector<UsageRecord>> recent(int limit) = 0;
  // Cost of the records at or after from_ms, by account, principal, tag and UTC day.
  virtual Result<std::vector<SpendRow>> spend_since(int64_t from_ms) = 0;
};

// A ledger in table ledger_usage of `db` (migrated on open), which must outlive it. A writer
// thread commits queued records in batches, one transaction per batch; the destructor flushes.
Result<std::unique_ptr<Ledger>> open_sqlite_ledger(store::Database& db);

}  // namespace plinth::ledger
