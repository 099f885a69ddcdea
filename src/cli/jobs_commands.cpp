// plinth jobs …: list jobs and list or redrive the dead-letter queue, offline on a data dir.
#include <boost/json.hpp>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <optional>

#include "commands.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/jobs/queue.h"
#include "plinth/store/database.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

struct JobsOptions {
  std::string data_dir;
  std::string config_file;
  std::string queue;
  std::string status;
  std::string account_id;
  std::string job_id;
  int limit = 100;
  bool json = false;
};

int report_error(const std::string& message) {
  std::fprintf(stderr, "plinth jobs: %s\n", message.c_str());
  return 1;
}

// The queue on the data dir's database; the server may be running on it at the same time (WAL).
struct OpenQueue {
  std::unique_ptr<store::Database> db;
  std::unique_ptr<jobs::Queue> queue;
};

Result<OpenQueue> open_queue(const JobsOptions& o) {
  fs::path data_dir = o.data_dir;
  if (data_dir.empty()) {
    data_dir = "plinth-data";
    if (!o.config_file.empty()) {
      auto config = load_config(o.config_file);
      if (!config) return std::unexpected(config.error());
      data_dir = config->data_dir;
    }
  }
  // Opening a database creates one; listing a data dir that was never served is a mistake.
  fs::path file = data_dir / "plinth.db";
  if (!fs::exists(file)) {
    return fail(ErrorCode::kNotFound, "no store at " + file.string() +
                                          " (use --data-dir, or --config naming the data_dir)");
  }
  OpenQueue open;
  auto db = store::Database::open(file);
  if (!db) return std::unexpected(db.error());
  open.db = std::move(*db);
  auto queue = jobs::open_sqlite_queue(*open.db, *Clock::real());
  if (!queue) return std::unexpected(queue.error());
  open.queue = std::move(*queue);
  return open;
}

std::string iso_time(int64_t ms) {
  std::time_t seconds = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

json::object job_json(const jobs::JobRecord& job) {
  return {{"id", job.id},
          {"queue", job.queue},
          {"account_id", job.account_id},
          {"status", jobs::to_string(job.status)},
          {"receive_count", job.receive_count},
          {"error", job.error},
          {"result", job.result},
          {"payload", job.payload},
          {"created_ms", job.created_ms},
          {"updated_ms", job.updated_ms}};
}

// One line per job; a long error is cut so the table stays readable (--json has it whole).
void print_table(const std::vector<jobs::JobRecord>& list) {
  std::printf("%-36s %-12s %-9s %8s %-12s %-20s %-20s %s\n", "ID", "QUEUE", "STATUS", "RECEIVES",
              "ACCOUNT", "CREATED", "UPDATED", "ERROR");
  for (const auto& job : list) {
    std::string error = job.error.size() > 60 ? job.error.substr(0, 57) + "..." : job.error;
    for (char& c : error) c = c == '\n' || c == '\t' ? ' ' : c;
    std::printf("%-36s %-12s %-9s %8d %-12s %-20s %-20s %s\n", job.id.c_str(), job.queue.c_str(),
                std::string(jobs::to_string(job.status)).c_str(), job.receive_count,
                job.account_id.c_str(), iso_time(job.created_ms).c_str(),
                iso_time(job.updated_ms).c_str(), error.c_str());
  }
}

int print_jobs(const Result<std::vector<jobs::JobRecord>>& list, bool as_json) {
  if (!list) return report_error(list.error().message);
  if (as_json) {
    json::array array;
    for (const auto& job : *list) array.push_back(job_json(job));
    std::cout << json::serialize(json::object{{"jobs", array}}) << "\n";
  } else {
    print_table(*list);
  }
  return 0;
}

int run_list(const JobsOptions& o) {
  jobs::JobFilter filter;
  if (!o.status.empty()) {
    auto status = jobs::parse_job_status(o.status);
    if (!status) return report_error(status.error().message);
    filter.status = *status;
  }
  filter.queue = o.queue;
  filter.account_id = o.account_id;
  filter.limit = o.limit;
  auto open = open_queue(o);
  if (!open) return report_error(open.error().message);
  return print_jobs(open->queue->list_matching(filter), o.json);
}

int run_dlq_list(const JobsOptions& o) {
  auto open = open_queue(o);
  if (!open) return report_error(open.error().message);
  return print_jobs(open->queue->list_dead(o.queue), o.json);
}

int run_dlq_redrive(const JobsOptions& o) {
  auto open = open_queue(o);
  if (!open) return report_error(open.error().message);
  auto moved = open->queue->redrive(o.queue, o.job_id);
  if (!moved) return report_error(moved.error().message);
  if (!o.job_id.empty() && *moved == 0) {
    auto job = open->queue->get(o.job_id, "");
    if (!job) return report_error("no job " + o.job_id);
    return report_error("job " + o.job_id + " of queue " + job->queue + " is " +
                        std::string(jobs::to_string(job->status)) + ", not dead in queue " +
                        o.queue);
  }
  if (o.json) {
    std::cout << json::serialize(json::object{{"redriven", *moved}}) << "\n";
  } else {
    std::printf("redrove %d job%s of queue %s\n", *moved, *moved == 1 ? "" : "s", o.queue.c_str());
  }
  return 0;
}

void add_common(CLI::App* sub, JobsOptions& o) {
  sub->add_option("--data-dir", o.data_dir,
                  "State directory (default: the config's, or ./plinth-data)");
  sub->add_option("--config", o.config_file, "TOML config file (its data_dir)")
      ->check(CLI::ExistingFile);
  sub->add_flag("--json", o.json, "Print JSON instead of a table");
}

}  // namespace

void add_jobs_commands(CLI::App& app, Action* action) {
  auto* jobs = app.add_subcommand("jobs", "Inspect the job queue and its dead-letter queue");
  jobs->require_subcommand(1);

  auto list = std::make_shared<JobsOptions>();
  auto* list_cmd = jobs->add_subcommand("list", "List jobs, newest first");
  add_common(list_cmd, *list);
  list_cmd->add_option("--status", list->status, "queued, running, succeeded, failed or dead");
  list_cmd->add_option("--queue", list->queue, "Only this queue");
  list_cmd->add_option("--account-id", list->account_id, "Only this account's jobs");
  list_cmd->add_option("--limit", list->limit, "At most this many (1-1000)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  list_cmd->callback([list, action] { *action = [list] { return run_list(*list); }; });

  auto* dlq = jobs->add_subcommand("dlq", "The dead-letter queue: jobs received too many times");
  dlq->require_subcommand(1);
  auto dead = std::make_shared<JobsOptions>();
  dead->queue = "documents";
  auto* dead_cmd = dlq->add_subcommand("list", "List dead jobs, oldest first");
  add_common(dead_cmd, *dead);
  dead_cmd->add_option("--queue", dead->queue, "The queue")->capture_default_str();
  dead_cmd->callback([dead, action] { *action = [dead] { return run_dlq_list(*dead); }; });

  auto redrive = std::make_shared<JobsOptions>();
  redrive->queue = "documents";
  auto* redrive_cmd =
      dlq->add_subcommand("redrive", "Move dead jobs back to queued with a fresh receive count");
  add_common(redrive_cmd, *redrive);
  redrive_cmd->add_option("--queue", redrive->queue, "The queue")->capture_default_str();
  redrive_cmd->add_option("--job", redrive->job_id, "Only this job (default: every dead job)");
  redrive_cmd->callback(
      [redrive, action] { *action = [redrive] { return run_dlq_redrive(*redrive); }; });
}

}  // namespace plinth::cli
