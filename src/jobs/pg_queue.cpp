// The PostgreSQL job queue shared by replicas: claims with FOR UPDATE SKIP LOCKED, enqueue and
// event appends NOTIFY in the same statement, and one LISTEN connection wakes this replica's
// waiters within milliseconds of a write on any replica.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>

#include "plinth/core/ids.h"
#include "plinth/core/log.h"
#include "plinth/core/random.h"
#include "plinth/jobs/queue.h"
#include "plinth/pg/listener.h"
#include "plinth/pg/migrations.h"
#include "plinth/pg/pool.h"

namespace plinth::jobs {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// As in SQLite, visible_at is the due time of a queued job and the visibility expiry of a
// running one (NULL once terminal); seq orders jobs due at the same millisecond as rowid does.
// last_event is the job's event counter, so appends serialize on the job row, not on MAX().
const std::vector<pg::Migration> kMigrations = {{1, R"(
CREATE TABLE jobs (
  seq BIGSERIAL NOT NULL,
  id TEXT PRIMARY KEY,
  queue TEXT NOT NULL,
  account_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  status TEXT NOT NULL,
  receive_count INTEGER NOT NULL,
  receipt TEXT NOT NULL,
  visible_at BIGINT,
  error TEXT NOT NULL,
  result TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  last_event BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX jobs_visible ON jobs(queue, visible_at, seq)
  WHERE visible_at IS NOT NULL;
CREATE INDEX jobs_account_created ON jobs(account_id, created_ms);
CREATE INDEX jobs_created ON jobs(created_ms);
CREATE TABLE job_events (
  job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
  sequence BIGINT NOT NULL,
  type TEXT NOT NULL,
  data TEXT NOT NULL,
  time_ms BIGINT NOT NULL,
  PRIMARY KEY (job_id, sequence)
);
)"}};

constexpr std::string_view kJobsChannel = "plinth_jobs";          // payload: the queue name
constexpr std::string_view kEventsChannel = "plinth_job_events";  // payload: the job id

constexpr std::string_view kJobColumns =
    "id, queue, account_id, payload, status, receive_count, error, result, created_ms, updated_ms";
constexpr int kJobColumnCount = 10;

// The same choice as SQLite's claim (run or dead-letter) in one statement; SKIP LOCKED lets
// concurrent claimers on every replica each take a different row without waiting.
const std::string kClaimSql =
    "WITH next AS (SELECT id FROM jobs WHERE queue = $1 AND visible_at <= $3::bigint"
    "   ORDER BY visible_at, seq LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET"
    " status = CASE WHEN j.receive_count >= $5::int THEN 'dead' ELSE 'running' END,"
    " receive_count = CASE WHEN j.receive_count >= $5::int THEN j.receive_count"
    "   ELSE j.receive_count + 1 END,"
    " receipt = CASE WHEN j.receive_count >= $5::int THEN '' ELSE $2 END,"
    " visible_at = CASE WHEN j.receive_count >= $5::int THEN NULL ELSE $4::bigint END,"
    " error = CASE WHEN j.receive_count >= $5::int THEN 'received ' || j.receive_count ||"
    "   ' times without finishing (max_receive_count ' || $5::int || ')' ELSE j.error END,"
    " updated_ms = $3::bigint"
    " FROM next WHERE j.id = next.id RETURNING j.id, j.queue, j.account_id, j.payload, j.status,"
    " j.receive_count, j.error, j.result, j.created_ms, j.updated_ms, j.receipt, j.visible_at";

constexpr milliseconds kPollInterval{1'000};  // a safety net only: NOTIFY wakes waiters
constexpr int kMaxListed = 1000;
constexpr int kMaxEventsPerRead = 1000;

JobRecord read_job(const pg::Rows& rows, int row) {
  JobRecord job;
  job.id = rows.text(row, 0);
  job.queue = rows.text(row, 1);
  job.account_id = rows.text(row, 2);
  job.payload = rows.text(row, 3);
  job.status = parse_job_status(rows.text(row, 4)).value_or(JobStatus::kQueued);
  job.receive_count = static_cast<int>(rows.int64(row, 5));
  job.error = rows.text(row, 6);
  job.result = rows.text(row, 7);
  job.created_ms = rows.int64(row, 8);
  job.updated_ms = rows.int64(row, 9);
  return job;
}

std::string num(int64_t value) { return std::to_string(value); }

class PgQueue final : public Queue {
 public:
  PgQueue(std::shared_ptr<pg::Pool> pool, const Clock& clock, QueueOptions options)
      : pool_(std::move(pool)), clock_(clock), options_(options), random_(Random::secure()) {}

  // Returns once LISTEN is in force, so that no enqueue after open() goes unnoticed.
  Status start_listening() {
    pg::ListenerOptions listen;
    listen.url = pool_->options().url;
    listen.channels = {std::string(kJobsChannel), std::string(kEventsChannel)};
    listen.on_notify = [this](const std::string&, const std::string&) {
      ++notifications_;
      notify();
    };
    listen.on_connect = [this] {
      {
        std::lock_guard lock(mutex_);
        listening_ = true;
      }
      notify();  // waiters look again: what was sent while disconnected is lost
    };
    auto listener = pg::Listener::start(std::move(listen));
    if (!listener) return std::unexpected(listener.error());
    listener_ = std::move(*listener);
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::seconds(10), [&] { return listening_; })) {
      return plinth::fail(ErrorCode::kUnavailable, "jobs: the LISTEN connection did not start");
    }
    return ok();
  }

  ~PgQueue() override { listener_.reset(); }  // its thread calls notify() on this

  Result<std::string> enqueue(const NewJob& job) override {
    if (job.queue.empty())
      return plinth::fail(ErrorCode::kInvalidArgument, "a job needs a queue name");
    std::string id = job.id.empty() ? new_uuid(*random_) : job.id;
    // pg_notify in the statement: delivered when it commits, to every replica's listener.
    auto done = exec(
        "INSERT INTO jobs (id, queue, account_id, payload, status, receive_count, receipt,"
        " visible_at, error, result, created_ms, updated_ms)"
        " SELECT $1, $2, $3, $4, 'queued', 0, '', $5::bigint, '', '', $5::bigint, $5::bigint"
        " FROM (SELECT pg_notify('" +
            std::string(kJobsChannel) + "', $2)) AS woken",
        {id, job.queue, job.account_id, job.payload, num(now_ms())});
    if (!done) return std::unexpected(done.error());
    ++enqueued_;
    return id;
  }

  QueueStats stats() const override {
    return {enqueued_.load(), claimed_.load(), dead_lettered_.load(), notifications_.load()};
  }

  Result<std::optional<JobLease>> claim(std::string_view queue) override {
    while (true) {
      int64_t now = now_ms();
      std::string receipt = new_base32_id(*random_, "", 32);
      auto rows = exec(kClaimSql, {std::string(queue), receipt, num(now),
                                   num(now + options_.visibility_timeout.count()),
                                   num(options_.max_receive_count)});
      if (!rows) return std::unexpected(rows.error());
      if (rows->size() == 0) return std::nullopt;
      JobLease lease;
      lease.job = read_job(*rows, 0);
      lease.receipt = rows->text(0, kJobColumnCount);
      lease.visible_until_ms =
          rows->is_null(0, kJobColumnCount + 1) ? 0 : rows->int64(0, kJobColumnCount + 1);
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
    int64_t now = now_ms();
    int64_t until = now + options_.visibility_timeout.count();
    auto changed = update_held(lease, "visible_at = $3::bigint, updated_ms = $4::bigint",
                               {num(until), num(now)});
    if (!changed) return std::unexpected(changed.error());
    lease.visible_until_ms = until;
    return ok();
  }

  Status complete(const JobLease& lease, std::string_view result) override {
    return update_held(lease,
                       "status = 'succeeded', result = $3, receipt = '', visible_at = NULL,"
                       " updated_ms = $4::bigint",
                       {std::string(result), num(now_ms())});
  }

  Status fail(const JobLease& lease, std::string_view reason, bool retryable) override {
    JobStatus next = status_after_failure(options_, lease.job.receive_count, retryable);
    int64_t now = now_ms();
    pg::Param visible_at = nullptr;
    if (next == JobStatus::kQueued)
      visible_at = num(now + retry_delay(options_, lease.job.receive_count).count());
    return update_held(lease,
                       "status = $3, error = $4, receipt = '', visible_at = $5::bigint,"
                       " updated_ms = $6::bigint",
                       {std::string(to_string(next)), std::string(reason), visible_at, num(now)});
  }

  Result<JobRecord> get(std::string_view job_id, std::string_view account_id) override {
    auto rows = exec("SELECT " + std::string(kJobColumns) +
                         " FROM jobs WHERE id = $1 AND ($2::text = '' OR account_id = $2::text)",
                     {std::string(job_id), std::string(account_id)});
    if (!rows) return std::unexpected(rows.error());
    if (rows->size() == 0)
      return plinth::fail(ErrorCode::kNotFound, "job " + std::string(job_id) + " not found");
    return read_job(*rows, 0);
  }

  Result<std::vector<JobRecord>> list(std::string_view account_id, int limit) override {
    JobFilter filter;
    filter.account_id = account_id;
    filter.limit = limit;
    return list_matching(filter);
  }

  Result<std::vector<JobRecord>> list_matching(const JobFilter& filter) override {
    return select_jobs(
        "SELECT " + std::string(kJobColumns) +
            " FROM jobs WHERE ($1::text = '' OR account_id = $1::text)"
            " AND ($2::text = '' OR queue = $2::text) AND ($3::text = '' OR status = $3::text)"
            " ORDER BY created_ms DESC, seq DESC LIMIT $4::int",
        {filter.account_id, filter.queue,
         filter.status ? std::string(to_string(*filter.status)) : std::string(),
         num(std::clamp(filter.limit, 1, kMaxListed))});
  }

  Result<std::vector<JobRecord>> list_dead(std::string_view queue) override {
    return select_jobs(
        "SELECT " + std::string(kJobColumns) +
            " FROM jobs WHERE status = 'dead' AND ($1::text = '' OR queue = $1::text)"
            " ORDER BY updated_ms, seq LIMIT " +
            num(kMaxListed),
        {std::string(queue)});
  }

  Result<int> redrive(std::string_view queue, std::string_view job_id) override {
    auto rows = exec(
        "UPDATE jobs SET status = 'queued', receive_count = 0, receipt = '',"
        " visible_at = $3::bigint, updated_ms = $3::bigint WHERE status = 'dead'"
        " AND ($1::text = '' OR queue = $1::text) AND ($2::text = '' OR id = $2::text)",
        {std::string(queue), std::string(job_id), num(now_ms())});
    if (!rows) return std::unexpected(rows.error());
    int moved = static_cast<int>(rows->affected());
    if (moved > 0) {
      auto woke =
          exec("SELECT pg_notify('" + std::string(kJobsChannel) + "', $1)", {std::string(queue)});
      if (!woke) return std::unexpected(woke.error());
    }
    return moved;
  }

  Result<int64_t> depth(std::string_view queue) override {
    auto rows = exec("SELECT COUNT(*) FROM jobs WHERE queue = $1 AND visible_at IS NOT NULL",
                     {std::string(queue)});
    if (!rows) return std::unexpected(rows.error());
    return rows->int64(0, 0);
  }

  Result<int64_t> append_event(std::string_view job_id, std::string_view type,
                               std::string_view data) override {
    if (type.empty()) return plinth::fail(ErrorCode::kInvalidArgument, "an event needs a type");
    // The counter bump takes the job's row lock, so concurrent appends get consecutive numbers;
    // GREATEST covers events copied in by `plinth store migrate` (which leaves the counter 0).
    auto rows = exec(
        "WITH counted AS (UPDATE jobs SET last_event = GREATEST(last_event, (SELECT"
        " COALESCE(MAX(sequence), 0) FROM job_events WHERE job_id = $1)) + 1 WHERE id = $1"
        "   RETURNING id, last_event)"
        " INSERT INTO job_events (job_id, sequence, type, data, time_ms)"
        " SELECT id, last_event, $2, $3, $4::bigint FROM counted,"
        " (SELECT pg_notify('" +
            std::string(kEventsChannel) + "', $1)) AS woken RETURNING sequence",
        {std::string(job_id), std::string(type), std::string(data), num(now_ms())});
    if (!rows) return std::unexpected(rows.error());
    if (rows->size() == 0)
      return plinth::fail(ErrorCode::kNotFound, "job " + std::string(job_id) + " not found");
    return rows->int64(0, 0);
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

  // Prepared on each connection under a name derived from the text (statements are constants
  // of this file, built from constants).
  Result<pg::Rows> exec(std::string_view sql, const pg::Params& params) {
    char name[32];
    std::snprintf(name, sizeof name, "jobs_%016zx", std::hash<std::string_view>{}(sql));
    return pool_->exec_prepared(name, sql, params);
  }

  void notify() {
    {
      std::lock_guard lock(mutex_);
      ++generation_;
    }
    changed_.notify_all();
  }

  // As SqliteQueue::wait_for; the listener's notify() makes the poll interval a fallback only.
  template <typename T, typename Attempt, typename Found>
  Result<T> wait_for(milliseconds wait, Attempt attempt, Found found) {
    auto deadline = steady_clock::now() + wait;
    while (true) {
      uint64_t seen = 0;
      {
        std::lock_guard lock(mutex_);
        seen = generation_;
      }
      Result<T> value = attempt();
      if (!value || found(*value)) return value;
      auto now = steady_clock::now();
      if (now >= deadline) return value;
      std::unique_lock lock(mutex_);
      changed_.wait_until(lock, std::min(deadline, now + kPollInterval),
                          [&] { return generation_ != seen; });
    }
  }

  // UPDATE jobs SET <assignments> ($3 … from `values`) for the job the lease holds ($1 id,
  // $2 receipt); no row: a stale receipt (kConflict) or a vanished job (kNotFound).
  Status update_held(const JobLease& lease, std::string_view assignments, pg::Params values) {
    values.insert(values.begin(), {pg::Param(lease.job.id), pg::Param(lease.receipt)});
    auto rows = exec("UPDATE jobs SET " + std::string(assignments) +
                         " WHERE id = $1 AND receipt = $2 AND status = 'running'",
                     values);
    if (!rows) return std::unexpected(rows.error());
    if (rows->affected() > 0) {
      if (values[2].value() == std::optional<std::string>("queued")) {
        if (auto woke = exec("SELECT pg_notify('" + std::string(kJobsChannel) + "', $1)",
                             {lease.job.queue});
            !woke) {
          return std::unexpected(woke.error());
        }
      }
      return ok();
    }
    auto job = get(lease.job.id, "");
    if (!job) return std::unexpected(job.error());
    return plinth::fail(ErrorCode::kConflict, "stale receipt for job " + lease.job.id + ": it is " +
                                                  std::string(to_string(job->status)) +
                                                  ", received " +
                                                  std::to_string(job->receive_count) + " times");
  }

  Result<std::vector<JobRecord>> select_jobs(const std::string& sql, const pg::Params& values) {
    auto rows = exec(sql, values);
    if (!rows) return std::unexpected(rows.error());
    std::vector<JobRecord> jobs;
    for (int i = 0; i < rows->size(); ++i) jobs.push_back(read_job(*rows, i));
    return jobs;
  }

  Result<std::vector<JobEvent>> read_events(std::string_view job_id, int64_t after) {
    auto rows = exec(
        "SELECT sequence, type, data, time_ms FROM job_events"
        " WHERE job_id = $1 AND sequence > $2::bigint ORDER BY sequence LIMIT $3::int",
        {std::string(job_id), num(after), num(kMaxEventsPerRead)});
    if (!rows) return std::unexpected(rows.error());
    std::vector<JobEvent> events;
    for (int i = 0; i < rows->size(); ++i) {
      events.push_back({rows->int64(i, 0), rows->text(i, 1), rows->text(i, 2), rows->int64(i, 3)});
    }
    return events;
  }

  std::shared_ptr<pg::Pool> pool_;
  const Clock& clock_;
  const QueueOptions options_;
  std::shared_ptr<Random> random_;  // thread-safe (OpenSSL)

  std::mutex mutex_;
  std::condition_variable changed_;
  bool listening_ = false;   // guarded by mutex_: the listener's first LISTEN is in force
  uint64_t generation_ = 0;  // guarded by mutex_; bumped by every notification
  std::atomic<uint64_t> enqueued_{0}, claimed_{0}, dead_lettered_{0}, notifications_{0};
  std::unique_ptr<pg::Listener> listener_;  // last: stopped first
};

}  // namespace

Result<std::unique_ptr<Queue>> open_postgres_queue(std::shared_ptr<pg::Pool> pool,
                                                   const Clock& clock, QueueOptions options) {
  if (auto valid = validate(options); !valid) return std::unexpected(valid.error());
  {
    auto conn = pool->acquire();
    if (!conn) return std::unexpected(conn.error());
    if (auto migrated = pg::migrate(**conn, "jobs", kMigrations); !migrated) {
      return std::unexpected(migrated.error());
    }
  }
  auto queue = std::make_unique<PgQueue>(std::move(pool), clock, options);
  if (auto listening = queue->start_listening(); !listening) {
    return std::unexpected(listening.error());
  }
  return queue;
}

}  // namespace plinth::jobs
