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
namespace plinth::pg {
class Pool;
}

namespace plinth::ledger {

// The request header a caller sets to attribute a call to one of its applications.
inline constexpr std::string_view kApplicationTagHeader = "x-plinth-application-tag";

// A key and its value: an inference profile's tag or a Converse requestMetadata entry.
struct Label {
  std::string key;
  std::string value;
  bool operator==(const Label&) const = default;
};
using Labels = std::vector<Label>;

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
  // The application inference profile ARN named as modelId (empty otherwise) and its tags when
  // the call ran; the Converse requestMetadata the caller sent.
  std::string inference_profile;
  Labels profile_tags;
  Labels request_metadata;
  // The configured provider id that served the call ("local" for the engine; an upstream's
  // [[providers]] id otherwise), and the input tokens read from / written to a prompt cache
  // (of input_tokens; billed at the catalog's cache prices where it has them).
  std::string provider;
  int64_t cache_read_input_tokens = 0;
  int64_t cache_write_input_tokens = 0;
};

// kProfile groups by inference profile ARN; kProfileTag by the value of one profile tag and
// kMetadata by one requestMetadata key's value (both named in UsageQuery::label_key).
enum class GroupBy { kModel, kPrincipal, kTag, kDay, kOperation, kProfile, kProfileTag, kMetadata };

// "model", "principal", "tag", "day" (UTC, YYYY-MM-DD), "operation", "profile";
// kInvalidArgument otherwise.
Result<GroupBy> parse_group_by(std::string_view text);
std::string_view to_string(GroupBy group_by);

// The longest label key a grouping may name (Bedrock's requestMetadata key limit).
inline constexpr size_t kMaxLabelKeyBytes = 256;

// parse_group_by's names plus "tag:KEY" (a profile tag's value) and "metadata:KEY" (a
// requestMetadata value); kInvalidArgument otherwise.
struct Grouping {
  GroupBy by = GroupBy::kModel;
  std::string label_key;
};
Result<Grouping> parse_grouping(std::string_view text);

// Labels as a JSON object text ({"key":"value",...}) and back; malformed text reads as none.
std::string labels_json(const Labels& labels);
Labels parse_labels_json(std::string_view text);

// A time bound as Unix milliseconds: Unix seconds ("1764065503") or ISO 8601 UTC
// ("2025-11-25", "2025-11-25T10:11:43Z", with optional fraction and +HH:MM offset).
Result<int64_t> parse_time_bound(std::string_view text);

struct UsageQuery {
  GroupBy group_by = GroupBy::kModel;
  int64_t from_ms = 0;                                  // inclusive
  int64_t to_ms = std::numeric_limits<int64_t>::max();  // exclusive
  std::string label_key{};                              // for kProfileTag and kMetadata
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
  Labels profile_tags;  // of the inference profile the calls went through
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

// The width of one time-series bucket. Both are whole UTC hours, so whole-hour stretches of a
// series read the hourly roll-up.
enum class SeriesBucket { kHour, kDay };

// "hour" or "day"; kInvalidArgument otherwise.
Result<SeriesBucket> parse_series_bucket(std::string_view text);
std::string_view to_string(SeriesBucket bucket);
int64_t bucket_ms(SeriesBucket bucket);

// A series query may span at most this many buckets (the answer is dense: one value per bucket).
inline constexpr int64_t kMaxSeriesBuckets = 2000;

struct SeriesQuery {
  SeriesBucket bucket = SeriesBucket::kHour;
  GroupBy by = GroupBy::kModel;
  int64_t from_ms = 0;  // inclusive; the first bucket starts at its bucket's start
  int64_t to_ms = 0;    // exclusive
};

// One line of a series: the totals of one key in each bucket (parallel to UsageSeries::buckets).
struct SeriesLine {
  std::string key;
  std::vector<UsageTotals> points;
};

struct UsageSeries {
  SeriesBucket bucket = SeriesBucket::kHour;
  std::vector<int64_t> buckets;    // bucket starts (Unix ms, UTC), ascending, one per bucket
  std::vector<SeriesLine> series;  // sorted by key (byte order); only keys with a call in range
};

// {"bucket":"hour","buckets":[start_ms...],"series":[{"key","requests":[...],"input_tokens":[...],
//  "output_tokens":[...],"cost_usd":[...],"escalations":[...]}]} — GET /v1/usage/series.
std::string usage_series_json(const UsageSeries& series);

// {"calls":[{"time_ms","principal_arn",...,"cost_usd","escalated",...}]}: every UsageRecord
// field in snake_case, plus cost_usd — GET /v1/usage/recent.
std::string usage_calls_json(const std::vector<UsageRecord>& calls);

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
  // Totals per key and bucket over [from, to); kInvalidArgument when to <= from, the range
  // spans more than kMaxSeriesBuckets buckets, or the grouping is by profile or label. Sees every
  // record() that returned before it.
  virtual Result<UsageSeries> series(const SeriesQuery& query) = 0;
  // Cost of the records at or after from_ms, by account, principal, tag, profile tags and UTC day.
  virtual Result<std::vector<SpendRow>> spend_since(int64_t from_ms) = 0;
};

// A ledger in table ledger_usage of `db` (migrated on open), which must outlive it. A writer
// thread commits queued records in batches, one transaction per batch; the destructor flushes.
Result<std::unique_ptr<Ledger>> open_sqlite_ledger(store::Database& db);

// The same ledger in PostgreSQL through the replica's pool (migrated on open under the advisory
// lock). Replicas share it: a request id recorded by any of them is recorded once.
Result<std::unique_ptr<Ledger>> open_postgres_ledger(std::shared_ptr<pg::Pool> pool);

}  // namespace plinth::ledger
