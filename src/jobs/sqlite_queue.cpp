// The SQLite job queue: tables jobs / job_events, claims as one UPDATE … RETURNING, and waits on a
// condition variable that this process's writers notify, polling for other processes' writes.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "plinth/core/ids.h"
#include "plinth/core/log.h"
#include "plinth/core/random.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"

namespace plinth::jobs {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// visible_at is when a job can next be received: a queued job's available_at (due time) and a
// running job's visible_until (its visibility expiry) share one column, so a claim is one range
// scan of one partial index in (visible_at, rowid) order. It is NULL once a job is terminal.
const std::vector<store::Migration> kMigrations = {{1, R"(
CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  account_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  receive_count INTEGER NOT NULL,
  receipt TEXT NOT NULL,
  visible_at INTEGER,
  error TEXT NOT NULL,
  result TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL
);
CREATE INDEX jobs_visible ON jobs(queue, visible_at) WHERE visible_at IS NOT NULL;
CREATE INDEX jobs_account_created ON jobs(account_id, created_ms);
CREATE INDEX jobs_created ON jobs(created_ms);
CREATE TABLE job_events (
  job_id TEXT NOT NULL REFERENCES jobs(id),
  sequence INTEGER NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  time_ms INTEGER NOT NULL,
  PRIMARY KEY (job_id, sequence)
) WITHOUT ROWID;
)"}};

constexpr std::string_view kJobColumns =
    "id, queue, account_id, payload, status, receive_count, error, result, created_ms, updated_ms";
constexpr int kJobColumnCount = 10;

// Receiving a job whose receive count already reached ?5 (max_receive_count) dead-letters it
// instead: same statement, so the choice and the move are atomic against every other claimer,
// in this process or another one on the same file.
const std::string kClaimSql =
    "UPDATE jobs SET"
    " status = CASE WHEN receive_count >= ?5 THEN 'dead' ELSE 'running' END,"
    " receive_count = CASE WHEN receive_count >= ?5 THEN receive_count ELSE receive_count + 1 END,"
    " receipt = CASE WHEN receive_count >= ?5 THEN '' ELSE ?2 END,"
    " visible_at = CASE WHEN receive_count >= ?5 THEN NULL ELSE ?4 END,"
    " error = CASE WHEN receive_count >= ?5 THEN 'received ' || receive_count ||"
    "   ' times without finishing (max_receive_count ' || ?5 || ')' ELSE error END,"
    " updated_ms = ?3"
    " WHERE id = (SELECT id FROM jobs WHERE queue = ?1 AND visible_at <= ?3"
    "   ORDER BY visible_at, rowid LIMIT 1)"
    " RETURNING " +
    std::string(kJobColumns) + ", receipt, visible_at";

constexpr milliseconds kPollInterval{100};  // how soon another process's writes are noticed
constexpr int kMaxListed = 1000;
constexpr int kMaxEventsPerRead = 1000;

JobRecord read_job(const store::Statement& s) {
  JobRecord job;
  job.id = s.column_text(0);
  job.queue = s.column_text(1);
  job.account_id = s.column_text(2);
  job.payload = s.column_text(3);
  job.status = parse_job_status(s.column_text(4)).value_or(JobStatus::kQueued);
  job.receive_count = static_cast<int>(s.column_int(5));
  job.error = s.column_text(6);
  job.result = s.column_text(7);
  job.created_ms = s.column_int(8);
  job.updated_ms = s.column_int(9);
  return job;
}

// Steps a statement that returns at most one row to completion, so its autocommit transaction
// commits (and reports a failed commit) before we act on the row.
Status finish(store::Statement& statement) {
  auto done = statement.run();
  if (!done) return std::unexpected(done.error());
  return ok();
}

class SqliteQueue final : public Queue {
 public:
  SqliteQueue(store::Database& db, const Clock& clock, QueueOptions options)
      : db_(db), clock_(clock), options_(options), random_(Random::secure()) {}

  Result<std::string> enqueue(const NewJob& job) override {
    if (job.queue.empty())
      return plinth::fail(ErrorCode::kInvalidArgument, "a job needs a queue name");
    std::string id = job.id.empty() ? new_uuid(*random_) : job.id;
    {
      auto guard = db_.lock();
      auto insert = db_.prepare(
          "INSERT INTO jobs (id, queue, account_id, payload, status, receive_count, receipt,"
          " visible_at, error, result, created_ms, updated_ms)"
          " VALUES (?1, ?2, ?3, ?4, 'queued', 0, '', ?5, '', '', ?5, ?5)");
      if (!insert) return std::unexpected(insert.error());
      insert->bind(1, id).bind(2, job.queue).bind(3, job.account_id).bind(4, job.payload);
      insert->bind(5, now_ms());
      if (auto done = insert->run(); !done) return std::unexpected(done.error());
    }
    notify();
    ++enqueued_;
    return id;
  }

  QueueStats stats() const override {
    return {enqueued_.load(), claimed_.load(), dead_lettered_.load(), 0};
  }

  Result<std::optional<JobLease>> claim(std::string_view queue) override {
    while (true) {
      auto guard = db_.lock();
      int64_t now = now_ms();
      std::string receipt = new_base32_id(*random_, "", 32);
      auto update = db_.prepare(kClaimSql);
      if (!update) return std::unexpected(update.error());
      update->bind(1, queue).bind(2, receipt).bind(3, now);
      update->bind(4, now + options_.visibility_timeout.count());
      update->bind(5, static_cast<int64_t>(options_.max_receive_count));
      auto row = update->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return std::nullopt;
      JobLease lease;
      lease.job = read_job(*update);
      lease.receipt = update->column_text(kJobColumnCount);
      lease.visible_until_ms = update->column_int(kJobColumnCount + 1);
      if (auto done = finish(*update); !done) return std::unexpected(done.error());
      if (lease.job.status == JobStatus::kRunning) {
        ++claimed_;
        return lease;
      }
      ++dead_lettered_;
      log::warn("jobs: dead-lettered job {} of queue {}: {}", lease.job.id, lease.job.queue,
                lease.job.error);
    }
  }

  Result<std::optional<JobLease>> claim_wait(std::string_view queue, milliseconds wait) override {
    return wait_for<std::optional<JobLease>>(
        wait, [&] { return claim(queue); },
        [](const std::optional<JobLease>& lease) { return lease.has_value(); });
  }

  Status extend(JobLease& lease) override {
    auto guard = db_.lock();
    int64_t now = now_ms();
    int64_t until = now + options_.visibility_timeout.count();
    auto changed = update_held(lease, "visible_at = ?3, updated_ms = ?4",
                               [&](auto& s) { s.bind(3, until).bind(4, now); });
    if (!changed) return std::unexpected(changed.error());
    lease.visible_until_ms = until;
    return ok();
  }

  Status complete(const JobLease& lease, std::string_view result) override {
    auto guard = db_.lock();
    int64_t now = now_ms();
    auto changed = update_held(
        lease,
        "status = 'succeeded', result = ?3, receipt = '', visible_at = NULL, updated_ms = ?4",
        [&](auto& s) { s.bind(3, result).bind(4, now); });
    if (!changed) return std::unexpected(changed.error());
    return ok();
  }

  Status fail(const JobLease& lease, std::string_view reason, bool retryable) override {
    // The receipt identifies one receive, so lease.job.receive_count is the row's own count.
    JobStatus next = status_after_failure(options_, lease.job.receive_count, retryable);
    {
      auto guard = db_.lock();
      int64_t now = now_ms();
      auto changed = update_held(
          lease, "status = ?3, error = ?4, receipt = '', visible_at = ?5, updated_ms = ?6",
          [&](auto& s) {
            s.bind(3, to_string(next)).bind(4, reason).bind(6, now);
            if (next == JobStatus::kQueued) {
              s.bind(5, now + retry_delay(options_, lease.job.receive_count).count());
            } else {
              s.bind_value(5, nullptr);
            }
          });
      if (!changed) return std::unexpected(changed.error());
    }
    if (next == JobStatus::kQueued) notify();
    return ok();
  }

  Result<JobRecord> get(std::string_view job_id, std::string_view account_id) override {
    auto guard = db_.lock();
    auto select = db_.prepare("SELECT " + std::string(kJobColumns) +
                              " FROM jobs WHERE id = ?1 AND (?2 = '' OR account_id = ?2)");
    if (!select) return std::unexpected(select.error());
    select->bind(1, job_id).bind(2, account_id);
    auto row = select->step();
    if (!row) return std::unexpected(row.error());
    if (!*row)
      return plinth::fail(ErrorCode::kNotFound, "job " + std::string(job_id) + " not found");
    return read_job(*select);
  }

  Result<std::vector<JobRecord>> list(std::string_view account_id, int limit) override {
    JobFilter filter;
    filter.account_id = account_id;
    filter.limit = limit;
    return list_matching(filter);
  }

  Result<std::vector<JobRecord>> list_matching(const JobFilter& filter) override {
    // Only the conditions asked for, so SQLite can use the account's index.
    std::string sql = "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE 1";
    std::vector<std::string> values;
    auto where = [&](std::string_view column, std::string value) {
      values.push_back(std::move(value));
      sql += " AND " + std::string(column) + " = ?" + std::to_string(values.size());
    };
    if (!filter.account_id.empty()) where("account_id", filter.account_id);
    if (!filter.queue.empty()) where("queue", filter.queue);
    if (filter.status) where("status", std::string(to_string(*filter.status)));
    sql += " ORDER BY created_ms DESC, rowid DESC LIMIT " +
           std::to_string(std::clamp(filter.limit, 1, kMaxListed));
    return select_jobs(sql, values);
  }

  Result<std::vector<JobRecord>> list_dead(std::string_view queue) override {
    std::string sql = "SELECT " + std::string(kJobColumns) + " FROM jobs WHERE status = 'dead'";
    std::vector<std::string> values;
    if (!queue.empty()) {
      sql += " AND queue = ?1";
      values.emplace_back(queue);
    }
    sql += " ORDER BY updated_ms, rowid LIMIT " + std::to_string(kMaxListed);
    return select_jobs(sql, values);
  }

  Result<int> redrive(std::string_view queue, std::string_view job_id) override {
    int moved = 0;
    {
      auto guard = db_.lock();
      auto update = db_.prepare(
          "UPDATE jobs SET status = 'queued', receive_count = 0, receipt = '', visible_at = ?3,"
          " updated_ms = ?3"
          " WHERE status = 'dead' AND (?1 = '' OR queue = ?1) AND (?2 = '' OR id = ?2)");
      if (!update) return std::unexpected(update.error());
      update->bind(1, queue).bind(2, job_id).bind(3, now_ms());
      auto changed = update->run();
      if (!changed) return std::unexpected(changed.error());
      moved = *changed;
    }
    if (moved > 0) notify();
    return moved;
  }

  Result<int64_t> depth(std::string_view queue) override {
    auto guard = db_.lock();
    auto count =
        db_.prepare("SELECT COUNT(*) FROM jobs WHERE queue = ?1 AND visible_at IS NOT NULL");
    if (!count) return std::unexpected(count.error());
    count->bind(1, queue);
    auto row = count->step();
    if (!row) return std::unexpected(row.error());
    return *row ? count->column_int(0) : 0;
  }

  Result<int64_t> append_event(std::string_view job_id, std::string_view type,
                               std::string_view data) override {
    if (type.empty()) return plinth::fail(ErrorCode::kInvalidArgument, "an event needs a type");
    int64_t sequence = 0;
    {
      auto guard = db_.lock();
      // One statement: the next sequence is computed and written under SQLite's write lock.
      auto insert = db_.prepare(
          "INSERT INTO job_events (job_id, sequence, type, data, time_ms)"
          " SELECT id, (SELECT COALESCE(MAX(sequence), 0) + 1 FROM job_events WHERE job_id = ?1),"
          " ?2, ?3, ?4 FROM jobs WHERE id = ?1 RETURNING sequence");
      if (!insert) return std::unexpected(insert.error());
      insert->bind(1, job_id).bind(2, type).bind(3, data).bind(4, now_ms());
      auto row = insert->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) {
        return plinth::fail(ErrorCode::kNotFound, "job " + std::string(job_id) + " not found");
      }
      sequence = insert->column_int(0);
      if (auto done = finish(*insert); !done) return std::unexpected(done.error());
    }
    notify();
    return sequence;
  }

  Result<std::vector<JobEvent>> events_after(std::string_view job_id, int64_t after,
                                             milliseconds wait) override {
    if (auto job = get(job_id, ""); !job) return std::unexpected(job.error());
    return wait_for<std::vector<JobEvent>>(
        wait, [&] { return read_events(job_id, after); },
        [](const std::vector<JobEvent>& events) { return !events.empty(); });
  }

 private:
  int64_t now_ms() const {
    return std::chrono::duration_cast<milliseconds>(clock_.now().time_since_epoch()).count();
  }

  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // Runs `attempt` until `found` accepts its value or `wait` has passed, sleeping between tries
  // until a writer in this process notifies or the poll interval passes. Real time, not clock_:
  // a ManualClock never advances on its own, and a wait is for the caller's thread, not the data.
  template <typename T, typename Attempt, typename Found>
  Result<T> wait_for(milliseconds wait, Attempt attempt, Found found) {
    auto deadline = steady_clock::now() + wait;
    while (true) {
      uint64_t seen = 0;
      {
        std::lock_guard lock(mutex_);
        seen = generation_;
      }
      Result<T> value = attempt();  // takes and releases the database lock itself
      if (!value || found(*value)) return value;
      auto now = steady_clock::now();
      if (now >= deadline) return value;
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, std::min(deadline, now + kPollInterval),
                          [&] { return generation_ != seen; });
    }
  }

  // UPDATE jobs SET <assignments> for the job the lease holds: ?1 id, ?2 receipt. No row means
  // the receipt is stale (kConflict) or the job is gone (kNotFound). Caller holds db_.lock().
  template <typename Bind>
  Status update_held(const JobLease& lease, std::string_view assignments, Bind bind) {
    auto update = db_.prepare("UPDATE jobs SET " + std::string(assignments) +
                              " WHERE id = ?1 AND receipt = ?2 AND status = 'running'");
    if (!update) return std::unexpected(update.error());
    update->bind(1, lease.job.id).bind(2, lease.receipt);
    bind(*update);
    auto changed = update->run();
    if (!changed) return std::unexpected(changed.error());
    if (*changed > 0) return ok();
    auto job = get(lease.job.id, "");
    if (!job) return std::unexpected(job.error());
    return plinth::fail(ErrorCode::kConflict, "stale receipt for job " + lease.job.id + ": it is " +
                                                  std::string(to_string(job->status)) +
                                                  ", received " +
                                                  std::to_string(job->receive_count) + " times");
  }

  Result<std::vector<JobRecord>> select_jobs(const std::string& sql,
                                             const std::vector<std::string>& values) {
    auto guard = db_.lock();
    auto select = db_.prepare(sql);
    if (!select) return std::unexpected(select.error());
    for (size_t i = 0; i < values.size(); ++i) select->bind(static_cast<int>(i + 1), values[i]);
    std::vector<JobRecord> jobs;
    while (true) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return jobs;
      jobs.push_back(read_job(*select));
    }
  }

  Result<std::vector<JobEvent>> read_events(std::string_view job_id, int64_t after) {
    auto guard = db_.lock();
    auto select = db_.prepare(
        "SELECT sequence, type, data, time_ms FROM job_events"
        " WHERE job_id = ?1 AND sequence > ?2 ORDER BY sequence LIMIT ?3");
    if (!select) return std::unexpected(select.error());
    select->bind(1, job_id).bind(2, after).bind(3, static_cast<int64_t>(kMaxEventsPerRead));
    std::vector<JobEvent> events;
    while (true) {
      auto row = select->step();
      if (!row) return std::unexpected(row.error());
      if (!*row) return events;
      events.push_back({select->column_int(0), select->column_text(1), select->column_text(2),
                        select->column_int(3)});
    }
  }

  store::Database& db_;
  const Clock& clock_;
  const QueueOptions options_;
  std::shared_ptr<Random> random_;  // thread-safe (OpenSSL)

  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t generation_ = 0;  // guarded by mutex_; bumped by every write a waiter may want
  std::atomic<uint64_t> enqueued_{0}, claimed_{0}, dead_lettered_{0};
};

}  // namespace

Result<std::unique_ptr<Queue>> open_sqlite_queue(store::Database& db, const Clock& clock,
                                                 QueueOptions options) {
  if (auto valid = validate(options); !valid) return std::unexpected(valid.error());
  if (auto migrated = db.migrate("jobs", kMigrations); !migrated) {
    return std::unexpected(migrated.error());
  }
  return std::make_unique<SqliteQueue>(db, clock, options);
}

}  // namespace plinth::jobs
