// The pipeline part of `plinth bench documents`: the documents service assembled in-process the
// way `plinth serve` assembles it (SQLite store, ledger, queue, vector store, local provider), a
// burst of generated multi-page PDFs, and the time from submit to job succeeded.
#include "pipeline_bench.h"

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "plinth/catalog/catalog.h"
#include "plinth/core/clock.h"
#include "plinth/core/random.h"
#include "plinth/documents/document_service.h"
#include "plinth/documents/pg_document_store.h"
#include "plinth/jobs/queue.h"
#include "plinth/ledger/ledger.h"
#include "plinth/pg/pool.h"
#include "plinth/providers/local_provider.h"
#include "plinth/store/database.h"
#include "plinth/vectors/pg_vector_store.h"
#include "plinth/vectors/vector_store.h"
#include "test_pdf.h"  // tests/documents: the tiny PDF writer the documents tests use

namespace plinth::bench {
namespace {

namespace json = boost::json;
using Steady = std::chrono::steady_clock;

constexpr const char* kAccount = "000000000000";
constexpr std::chrono::minutes kGiveUpAfter{15};

// A small extraction schema, three labels and a short analysis: every stage runs.
// Bounded strings keep the extracted facts, which the analysis prompt repeats, short.
constexpr const char* kPipeline = R"({"name":"bench",
  "extract":{"schema":{"type":"object","properties":{
    "vendor":{"type":"string","maxLength":40},"invoice_number":{"type":"string","maxLength":16},
    "total":{"type":"number"},"currency":{"type":"string","enum":["EUR","USD","GBP"]}},
    "required":["vendor","invoice_number","total","currency"],"additionalProperties":false}},
  "classify":{"labels":["invoice","receipt","contract"]},
  "analyze":{"instructions":"Summarize the document in one sentence and flag anything unusual."}})";

// Invoice-like pages, different for every document: a header, ~30 item lines a page, a total.
std::vector<std::vector<std::string>> sample_pages(int index, int pages) {
  static const char* const kVendors[] = {"ACME Industrial Supply", "Northwind Traders",
                                         "Globex Logistics",       "Initech Software",
                                         "Umbrella Facilities",    "Stark Components"};
  static const char* const kItems[] = {
      "steel brackets", "packing crates", "consulting hours", "forklift rental", "network cabling",
      "office chairs",  "safety gloves",  "server upkeep",    "label printers",  "pallet wrapping"};
  std::mt19937 rng(static_cast<uint32_t>(index) + 1);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  char line[160];
  std::snprintf(line, sizeof line, "INV-2026-%04d", index + 1);
  const std::string number = line;
  const char* vendor = kVendors[index % 6];
  double total = 0;
  int item = 0;
  std::vector<std::vector<std::string>> out(static_cast<size_t>(pages));
  for (int p = 0; p < pages; ++p) {
    auto& lines = out[static_cast<size_t>(p)];
    if (p == 0) {
      lines.push_back("INVOICE " + number);
      lines.push_back(std::string("Vendor: ") + vendor + ", 12 Dock Road, Rotterdam");
      lines.push_back("Bill to: Plinth Benchmarks Ltd, 1 Harbour Street, Leith");
      std::snprintf(line, sizeof line, "Date: 2026-11-%02d   Currency: EUR   Terms: 30 days",
                    1 + index % 28);
      lines.push_back(line);
    }
    std::snprintf(line, sizeof line, "Page %d of %d - %s - continued", p + 1, pages,
                  number.c_str());
    lines.push_back(line);
    for (int i = 0; i < 30; ++i) {
      int quantity = 1 + pick(40);
      double price = (50 + pick(20'000)) / 100.0;
      total += quantity * price;
      std::snprintf(line, sizeof line, "Line %d: %d x %s at %.2f EUR = %.2f EUR, delivered %s",
                    ++item, quantity, kItems[pick(10)], price, quantity * price,
                    pick(2) ? "on schedule" : "one day late");
      lines.push_back(line);
    }
    if (p == pages - 1) {
      std::snprintf(line, sizeof line, "Total due: %.2f EUR", total);
      lines.push_back(line);
      lines.push_back("Please pay by bank transfer quoting " + number + ".");
    }
  }
  return out;
}

int64_t unix_ms(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.now().time_since_epoch())
      .count();
}

bool is_terminal(jobs::JobStatus status) {
  return status == jobs::JobStatus::kSucceeded || status == jobs::JobStatus::kFailed ||
         status == jobs::JobStatus::kDead;
}

struct SubmittedJob {
  std::string document_id;
  std::string job_id;
  int64_t submitted_ms = 0;
  int64_t ended_ms = 0;
  jobs::JobStatus status = jobs::JobStatus::kQueued;
  std::string error;
};

// Adds each stage's started → finished (or failed) time of the job to `by_stage`.
Status collect_stage_times(jobs::Queue& queue, const std::string& job_id,
                           std::map<std::string, std::vector<double>>& by_stage) {
  std::map<std::string, int64_t> started;
  int64_t after = 0;
  while (true) {
    auto events = queue.events_after(job_id, after, std::chrono::milliseconds(0));
    if (!events) return std::unexpected(events.error());
    if (events->empty()) return ok();
    for (const jobs::JobEvent& event : *events) {
      after = event.sequence;
      if (!event.type.starts_with("stage.")) continue;
      boost::system::error_code ec;
      json::value data = json::parse(event.data, ec);
      if (ec || !data.is_object() || !data.as_object().contains("stage")) continue;
      const json::value& stage = data.as_object().at("stage");
      if (!stage.is_string()) continue;
      std::string name(stage.as_string());
      if (event.type == "stage.started") {
        started[name] = event.time_ms;
      } else if (auto it = started.find(name); it != started.end()) {
        by_stage[name].push_back(static_cast<double>(event.time_ms - it->second));
        started.erase(it);
      }
    }
  }
}

// The parsed page and chunk counts of one document (proof that the PDFs have a text layer).
std::string document_stats(documents::DocumentService& service, const std::string& id) {
  auto text = service.document(kAccount, id);
  if (!text) return "unavailable: " + text.error().message;
  boost::system::error_code ec;
  json::value doc = json::parse(*text, ec);
  if (ec || !doc.is_object() || !doc.as_object().contains("stats")) return "unavailable";
  return json::serialize(doc.as_object().at("stats"));
}

}  // namespace

Status run_pipeline_part(const DocumentsBenchOptions& o, const Config& config,
                         const std::filesystem::path& dir) {
  std::shared_ptr<Clock> clock = Clock::real();
  auto random = Random::secure();
  auto db = store::Database::open(dir / "documents.db");
  if (!db) return std::unexpected(db.error());
  auto catalog = catalog::Catalog::from_config(config);
  if (!catalog) return std::unexpected(catalog.error());
  int engine_threads = config.engine_threads > 0
                           ? config.engine_threads
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto load_start = Steady::now();
  auto provider = providers::LocalProvider::load(config.models, engine_threads);
  if (!provider) return std::unexpected(provider.error());
  double load_s = std::chrono::duration<double>(Steady::now() - load_start).count();
  auto document_options = documents::DocumentOptions::from_config(config);
  document_options.workers = o.workers;
  jobs::QueueOptions queue_options;
  queue_options.visibility_timeout = document_options.visibility_timeout;
  queue_options.max_receive_count = document_options.max_receive_count;
  std::unique_ptr<ledger::Ledger> ledger;
  std::unique_ptr<vectors::VectorStore> vector_store;
  std::unique_ptr<jobs::Queue> queue;
  std::unique_ptr<documents::DocumentStore> document_tables;
  if (!o.storage_url.empty()) {  // as a replica on PostgreSQL assembles it
    auto pool = pg::Pool::open({o.storage_url, 8});
    if (!pool) return std::unexpected(pool.error());
    auto opened_ledger = ledger::open_postgres_ledger(*pool);
    if (!opened_ledger) return std::unexpected(opened_ledger.error());
    ledger = std::move(*opened_ledger);
    auto opened_vectors = vectors::open_postgres_vector_store(*pool);
    if (!opened_vectors) return std::unexpected(opened_vectors.error());
    vector_store = std::move(*opened_vectors);
    auto opened_queue = jobs::open_postgres_queue(*pool, *clock, queue_options);
    if (!opened_queue) return std::unexpected(opened_queue.error());
    queue = std::move(*opened_queue);
    auto opened_tables = documents::open_postgres_document_store(*pool);
    if (!opened_tables) return std::unexpected(opened_tables.error());
    document_tables = std::move(*opened_tables);
    std::printf("storage: PostgreSQL %s\n", pg::redact(o.storage_url).c_str());
  } else {
    auto opened_ledger = ledger::open_sqlite_ledger(**db);
    if (!opened_ledger) return std::unexpected(opened_ledger.error());
    ledger = std::move(*opened_ledger);
    auto opened_vectors = vectors::open_sqlite_vector_store(**db);
    if (!opened_vectors) return std::unexpected(opened_vectors.error());
    vector_store = std::move(*opened_vectors);
    auto opened_queue = jobs::open_sqlite_queue(**db, *clock, queue_options);
    if (!opened_queue) return std::unexpected(opened_queue.error());
    queue = std::move(*opened_queue);
    std::printf("storage: SQLite %s\n", (dir / "documents.db").c_str());
  }
  auto service = documents::DocumentService::open(
      document_options, documents::DocumentServices{.database = db->get(),
                                                    .queue = *queue,
                                                    .vectors = *vector_store,
                                                    .provider = **provider,
                                                    .catalog = *catalog,
                                                    .ledger = ledger.get(),
                                                    .clock = *clock,
                                                    .random = *random,
                                                    .documents = document_tables.get()});
  if (!service) return std::unexpected(service.error());
  if (auto created = (*service)->create_pipeline(kAccount, kPipeline); !created) {
    return std::unexpected(created.error());
  }

  std::vector<std::string> pdfs;
  size_t pdf_bytes = 0;
  for (int i = 0; i < o.documents; ++i) {
    pdfs.push_back(documents::testing::make_pdf(sample_pages(i, o.pages)));
    pdf_bytes += pdfs.back().size();
  }
  std::printf("models: ");
  for (const ModelConfig& m : config.models) {
    std::printf("%s (%s, %s) ", m.id.c_str(), m.kind.c_str(), m.tier.c_str());
  }
  std::printf("loaded in %.1f s, %d engine threads\n", load_s, engine_threads);
  std::printf(
      "%d documents x %d pages (PDF with a text layer, %.0f KB in all), %d workers, "
      "extract max %d tokens, analysis max %d tokens, %d related passages\n",
      o.documents, o.pages, static_cast<double>(pdf_bytes) / 1024.0, o.workers,
      document_options.extract_max_tokens, document_options.analysis_max_tokens,
      document_options.related_chunks);
  std::fflush(stdout);

  // A burst arriving at a running server: workers first, then every document at once.
  (*service)->start_workers();
  std::vector<SubmittedJob> jobs;
  for (int i = 0; i < o.documents; ++i) {
    SubmittedJob job;
    job.submitted_ms = unix_ms(*clock);
    auto submitted = (*service)->submit({kAccount, "arn:aws:iam::000000000000:root", "bench",
                                         "application/pdf", std::move(pdfs[i]), ""});
    if (!submitted) return std::unexpected(submitted.error());
    job.document_id = submitted->document_id;
    job.job_id = submitted->job_id;
    jobs.push_back(std::move(job));
  }
  const auto deadline = Steady::now() + kGiveUpAfter;
  size_t ended = 0;
  while (ended < jobs.size() && Steady::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (SubmittedJob& job : jobs) {
      if (job.ended_ms != 0) continue;
      auto record = queue->get(job.job_id, kAccount);
      if (!record) return std::unexpected(record.error());
      if (!is_terminal(record->status)) continue;
      job.status = record->status;
      job.ended_ms = record->updated_ms;
      job.error = record->error;
      ++ended;
    }
  }
  (*service)->stop_workers();

  std::vector<double> latency_s;
  std::map<std::string, std::vector<double>> stage_ms;
  int64_t first_submit = jobs.empty() ? 0 : jobs.front().submitted_ms, last_end = first_submit;
  int failed = 0;
  std::string first_error;
  for (const SubmittedJob& job : jobs) {
    if (job.status != jobs::JobStatus::kSucceeded) {
      ++failed;
      if (first_error.empty()) {
        first_error = job.ended_ms == 0 ? "not finished in time" : job.error;
      }
      continue;
    }
    latency_s.push_back(static_cast<double>(job.ended_ms - job.submitted_ms) / 1000.0);
    last_end = std::max(last_end, job.ended_ms);
    if (auto st = collect_stage_times(*queue, job.job_id, stage_ms); !st) return st;
  }
  double elapsed_s = static_cast<double>(last_end - first_submit) / 1000.0;
  Percentiles p = percentiles(latency_s);
  std::printf("succeeded %zu of %d in %.1f s; parsed stats of the first: %s\n", latency_s.size(),
              o.documents, elapsed_s,
              jobs.empty() ? "-" : document_stats(**service, jobs.front().document_id).c_str());
  std::printf("documents/s                  %8.2f   (target: reported; %d-page PDFs, %d workers)\n",
              elapsed_s > 0 ? static_cast<double>(latency_s.size()) / elapsed_s : 0.0, o.pages,
              o.workers);
  std::printf("submit -> succeeded  p50 %7.2f s  p99 %7.2f s  max %7.2f s   (target: reported)\n",
              p.p50, p.p99, p.max);
  std::printf("stage mean (ms, per job):");
  for (std::string_view stage : {"parse", "extract", "classify", "embed", "index", "analyze"}) {
    auto it = stage_ms.find(std::string(stage));
    std::printf("  %.*s %.0f", static_cast<int>(stage.size()), stage.data(),
                it == stage_ms.end() ? 0.0 : percentiles(it->second).mean);
  }
  std::printf("\n");
  if (failed > 0) {
    return fail(ErrorCode::kInternal,
                std::to_string(failed) + " document(s) did not succeed; first: " + first_error);
  }
  return ok();
}

}  // namespace plinth::bench
