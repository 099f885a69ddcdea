// plinth serve: assembles the store, auth, catalog, engine provider, gateway and HTTP server.
#include <signal.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "commands.h"
#include "container_credentials.h"
#include "http_document_fetcher.h"
#include "plinth/api/gateway.h"
#include "plinth/api/request_class.h"
#include "plinth/auth/authenticator.h"
#include "plinth/auth/iam.h"
#include "plinth/auth/root_credentials.h"
#include "plinth/auth/sts.h"
#include "plinth/auth/web_identity.h"
#include "plinth/catalog/catalog.h"
#include "plinth/core/clock.h"
#include "plinth/core/config.h"
#include "plinth/core/log.h"
#include "plinth/documents/document_service.h"
#include "plinth/documents/pg_document_store.h"
#include "plinth/http/server.h"
#include "plinth/jobs/queue.h"
#include "plinth/ledger/budgets.h"
#include "plinth/ledger/ledger.h"
#include "plinth/ledger/metrics.h"
#include "plinth/providers/local_provider.h"
#include "plinth/router/router.h"
#include "plinth/store/inference_profiles.h"
#include "plinth/store/sealed_box.h"
#include "plinth/store/store.h"
#include "plinth/upstream/bedrock_passthrough.h"
#include "plinth/upstream/upstream.h"
#include "plinth/vectors/pg_vector_store.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;

// The models `plinth serve` offers when no config file is given (files in PLINTH_MODELS_DIR, or
// the repository's models/ folder).
constexpr const char* kDefaultModels = R"(
[[models]]
id = "qwen2-small"
file = "qwen2-32-tied-q8_0.gguf"
kind = "text"
tier = "small"
aliases = ["anthropic.claude-3-haiku-20240307-v1:0", "meta.llama3-8b-instruct-v1:0"]
price_input_per_mtok = 0.25
price_output_per_mtok = 1.25
[[models]]
id = "llama-large"
file = "llama-spm-256-tied-q4_k_m.gguf"
kind = "text"
tier = "large"
aliases = ["anthropic.claude-3-5-sonnet-20240620-v1:0"]
price_input_per_mtok = 3.0
price_output_per_mtok = 15.0
[[models]]
id = "bge-embed"
file = "bert-bge-1024-mean-q8_0.gguf"
kind = "embedding"
tier = "small"
aliases = ["amazon.titan-embed-text-v2:0", "cohere.embed-english-v3", "cohere.embed-multilingual-v3"]
price_input_per_mtok = 0.02
[[routers]]
id = "router.default"
small = "qwen2-small"
large = "llama-large"
escalate_on = ["invalid_output", "max_tokens", "checks"]
max_retries = 2
)";

// The real clock shifted by PLINTH_CLOCK_OFFSET_SECONDS. For tests that need a server living
// in the future (token expiry across replicas); never set in production.
class OffsetClock final : public Clock {
 public:
  OffsetClock(std::shared_ptr<Clock> base, std::chrono::seconds offset)
      : base_(std::move(base)), offset_(offset) {}
  std::chrono::system_clock::time_point now() const override { return base_->now() + offset_; }
  std::chrono::steady_clock::time_point steady_now() const override { return base_->steady_now(); }

 private:
  std::shared_ptr<Clock> base_;
  std::chrono::seconds offset_;
};

struct ServeOptions {
  std::string config_file;
  std::string listen;
  std::string data_dir;
  std::string task_role;
  std::string storage_url;
};

// What this replica's queue did since start (enqueues, claims, dead letters, wake-ups heard):
// counters, as Prometheus names them.
void add_queue_counters(ledger::Metrics& metrics, const jobs::Queue& queue) {
  auto counter = [&](std::string name, std::string help, auto field) {
    metrics.add_counter(std::move(name), std::move(help), {},
                        [&queue, field] { return static_cast<double>(field(queue.stats())); });
  };
  counter("plinth_queue_enqueued_total", "Jobs this replica enqueued since start.",
          [](const jobs::QueueStats& s) { return s.enqueued; });
  counter("plinth_queue_claimed_total", "Jobs this replica claimed since start.",
          [](const jobs::QueueStats& s) { return s.claimed; });
  counter("plinth_queue_dead_lettered_total", "Jobs this replica dead-lettered since start.",
          [](const jobs::QueueStats& s) { return s.dead_lettered; });
  counter("plinth_queue_notifications_total", "Queue wake-ups (LISTEN/NOTIFY) heard since start.",
          [](const jobs::QueueStats& s) { return s.notifications; });
}

int fail_start(const std::string& what) {
  std::fprintf(stderr, "plinth serve: %s\n", what.c_str());
  return 2;
}

Result<Config> load_serve_config(const ServeOptions& o) {
  Result<Config> config = load_cli_config(o.config_file);
  if (!config) return config;
  if (!o.listen.empty()) config->listen = o.listen;
  if (!o.data_dir.empty()) config->data_dir = o.data_dir;
  if (!o.task_role.empty()) config->task_role = o.task_role;
  if (!o.storage_url.empty()) config->storage.url = o.storage_url;
  if (auto st = validate_config(*config); !st) return std::unexpected(st.error());
  return config;
}

// Written once the server listens, so scripts and tests that asked for port 0 can find it.
Status write_listen_address(const fs::path& data_dir, const std::string& host, uint16_t port) {
  fs::path tmp = data_dir / "listen-address.tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << (host.find(':') != std::string::npos ? "[" + host + "]" : host) << ":" << port << "\n";
    if (!out) return fail(ErrorCode::kIo, "cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, data_dir / "listen-address", ec);
  if (ec) return fail(ErrorCode::kIo, "cannot write listen-address: " + ec.message());
  return ok();
}

int run_serve(const ServeOptions& o) {
  // Block the stop signals before any thread starts, so that every thread inherits the mask and
  // the main thread alone receives them through sigwait.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto config = load_serve_config(o);
  if (!config) return fail_start(config.error().message);
  log::init(config->log_level);
  auto endpoint = config->listen_endpoint();
  if (!endpoint) return fail_start(endpoint.error().message);

  std::error_code ec;
  fs::create_directories(config->data_dir, ec);
  if (ec)
    return fail_start("cannot create data dir " + config->data_dir.string() + ": " + ec.message());
  ::chmod(config->data_dir.c_str(), 0700);

  std::shared_ptr<Clock> clock = Clock::real();
  if (const char* offset = std::getenv("PLINTH_CLOCK_OFFSET_SECONDS")) {
    clock = std::make_shared<OffsetClock>(clock, std::chrono::seconds(std::atoll(offset)));
    log::warn("clock offset of {} s in effect (PLINTH_CLOCK_OFFSET_SECONDS)", std::atoll(offset));
  }
  auto random = Random::secure();

  auto root = auth::ensure_root_credentials(config->data_dir, *random);
  if (!root) return fail_start(root.error().message);
  auto location = store::parse_storage_url(config->storage.url, config->data_dir);
  if (!location) return fail_start(location.error().message);
  pg::PoolOptions pool_options{location->postgres_url, config->storage.pool_size,
                               std::chrono::milliseconds(config->storage.pool_acquire_timeout_ms)};
  auto store = store::open_store(*location, config->data_dir, random, pool_options);
  if (!store) return fail_start(store.error().message);
  auto session_key = store::load_or_create_key_file(config->data_dir / "session.key", *random,
                                                    "PLINTH_SESSION_KEY");
  if (!session_key) return fail_start(session_key.error().message);
  auto codec = std::make_shared<auth::SessionTokenCodec>(*session_key, random);
  auto resolver = std::make_shared<auth::StoreCredentialResolver>(*root, config->account_id,
                                                                  (*store)->iam(), codec, clock);
  auth::Authenticator authenticator(resolver, clock, resolver);
  auth::StsService sts((*store)->iam(), config->account_id, codec, clock, random);
  auth::IamService iam((*store)->iam(), config->account_id, random, clock);

  auto catalog = catalog::Catalog::from_config(*config);
  if (!catalog) return fail_start(catalog.error().message);
  auto routers = router::RouterSet::from_config(*config, *catalog);
  if (!routers) return fail_start(routers.error().message);
  int engine_threads = config->engine_threads > 0
                           ? config->engine_threads
                           : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  log::info("loading {} model(s)", config->models.size());
  auto local_provider = providers::LocalProvider::load(config->models, engine_threads);
  if (!local_provider) return fail_start(local_provider.error().message);
  // Every caller asks the catalog provider: each model answered by its local engine or its
  // [[providers]] upstream, with the model's fallbacks.
  upstream::ProviderDeps provider_deps;
  provider_deps.clock = clock;
  provider_deps.random = random;
  provider_deps.default_region = config->region;
  auto provider =
      upstream::CatalogProvider::create(*config, *catalog, **local_provider, provider_deps);
  if (!provider) return fail_start(provider.error().message);
  if (!config->providers.empty()) {
    log::info("{} upstream provider(s) configured", config->providers.size());
  }

  // Every model call is metered into the store: on PostgreSQL one ledger for every replica.
  std::shared_ptr<pg::Pool> pg_pool = (*store)->pg_pool();
  std::unique_ptr<ledger::Ledger> usage_ledger;
  if (pg_pool) {
    auto opened = ledger::open_postgres_ledger(pg_pool);
    if (!opened) return fail_start(opened.error().message);
    usage_ledger = std::move(*opened);
  } else if (store::Database* database = (*store)->database()) {
    auto opened = ledger::open_sqlite_ledger(*database);
    if (!opened) return fail_start(opened.error().message);
    usage_ledger = std::move(*opened);
  } else {
    log::warn("the store has no SQLite database: usage is not recorded");
  }
  // Knowledge-base vectors live in the same database; their indexes are loaded or rebuilt here
  // (on PostgreSQL each replica keeps its own in its data directory and follows the others'
  // changes).
  std::unique_ptr<vectors::VectorStore> vector_store;
  if (pg_pool) {
    auto opened = vectors::open_postgres_vector_store(
        pg_pool, vectors::IndexOptions{.index_dir = config->data_dir / "vector-index"});
    if (!opened) return fail_start(opened.error().message);
    vector_store = std::move(*opened);
  } else if (store::Database* database = (*store)->database()) {
    auto opened = vectors::open_sqlite_vector_store(*database);
    if (!opened) return fail_start(opened.error().message);
    vector_store = std::move(*opened);
  } else {
    log::warn("the store has no SQLite database: knowledge bases are not available");
  }

  // Application inference profiles and their tags live in the same database.
  std::unique_ptr<store::InferenceProfileStore> inference_profiles;
  if (pg_pool) {
    auto opened = store::open_postgres_inference_profiles(pg_pool);
    if (!opened) return fail_start(opened.error().message);
    inference_profiles = std::move(*opened);
  } else if (store::Database* database = (*store)->database()) {
    auto opened = store::open_sqlite_inference_profiles(*database);
    if (!opened) return fail_start(opened.error().message);
    inference_profiles = std::move(*opened);
  }

  // Budgets rebuild this period's spend from the ledger, the one durable record of cost.
  std::vector<ledger::BudgetSpec> budget_specs;
  for (const BudgetConfig& budget : config->budgets) {
    budget_specs.push_back(ledger::BudgetSpec::from_config(budget));
  }
  ledger::Budgets budgets(std::move(budget_specs), *clock);
  if (!budgets.empty()) {
    if (!usage_ledger) return fail_start("budgets need the usage ledger");
    // Replicas on one PostgreSQL database reserve against the same rows.
    if (pg_pool) {
      if (auto shared = budgets.share_through(pg_pool); !shared) {
        return fail_start("cannot share budgets through PostgreSQL: " + shared.error().message);
      }
    }
    if (auto restored = budgets.restore(*usage_ledger); !restored) {
      return fail_start("cannot rebuild budget spend: " + restored.error().message);
    }
  }
  ledger::Metrics metrics;
  metrics.attach_budgets(budgets);
  if (pg_pool) ledger::add_pool_metrics(metrics, pg_pool);
  budgets.on_soft_limit(
      [&metrics](const ledger::BudgetState& state) { metrics.count_soft_limit_crossing(state); });

  // The document pipeline: a durable queue in the same database (on PostgreSQL shared by every
  // replica), indexing into the same vector store Retrieve searches; workers start once the
  // server listens.
  std::unique_ptr<jobs::Queue> job_queue;
  std::unique_ptr<documents::DocumentStore> document_tables;
  std::unique_ptr<documents::DocumentService> document_service;
  store::Database* database = (*store)->database();
  if ((database != nullptr || pg_pool) && vector_store) {
    auto document_options = documents::DocumentOptions::from_config(*config);
    jobs::QueueOptions queue_options;
    queue_options.visibility_timeout = document_options.visibility_timeout;
    queue_options.max_receive_count = document_options.max_receive_count;
    auto queue = pg_pool ? jobs::open_postgres_queue(pg_pool, *clock, queue_options)
                         : jobs::open_sqlite_queue(*database, *clock, queue_options);
    if (!queue) return fail_start(queue.error().message);
    job_queue = std::move(*queue);
    if (pg_pool) {
      auto tables = documents::open_postgres_document_store(pg_pool);
      if (!tables) return fail_start(tables.error().message);
      document_tables = std::move(*tables);
    }
    auto service = documents::DocumentService::open(
        document_options, documents::DocumentServices{.database = database,
                                                      .queue = *job_queue,
                                                      .vectors = *vector_store,
                                                      .provider = **provider,
                                                      .catalog = *catalog,
                                                      .ledger = usage_ledger.get(),
                                                      .clock = *clock,
                                                      .random = *random,
                                                      .budgets = &budgets,
                                                      .metrics = &metrics,
                                                      .documents = document_tables.get()});
    if (!service) return fail_start(service.error().message);
    document_service = std::move(*service);
    jobs::Queue* queue_for_metrics = job_queue.get();
    metrics.add_gauge("plinth_queue_depth", "Jobs queued or running.", {{"queue", "documents"}},
                      [queue_for_metrics] {
                        auto depth = queue_for_metrics->depth("documents");
                        return depth ? static_cast<double>(*depth) : 0.0;
                      });
    add_queue_counters(metrics, *job_queue);
  }

  auth::WebIdentityService web_identity((*store)->iam(), config->account_id, config->oidc_providers,
                                        std::make_shared<HttpDocumentFetcher>(), sts, clock);
  api::GatewayOptions gateway_options = api::GatewayOptions::from_config(*config);
  std::optional<ContainerCredentialsToken> task_token;
  if (!config->task_role.empty()) {
    auto written = write_container_credentials_token(config->data_dir, *random);
    if (!written) return fail_start(written.error().message);
    task_token = std::move(*written);
    gateway_options.container_credentials_token = task_token->token;
    if (!iam.get_role(config->task_role)) {
      log::warn(
          "task role {} does not exist yet; the container-credentials endpoint answers 404 "
          "until it is created",
          config->task_role);
    }
  }
  // Bedrock inbound calls to a bedrock upstream's model are forwarded as they came.
  auto bedrock_passthrough = [catalog_provider = provider->get()](const std::string& id) {
    return dynamic_cast<upstream::BedrockPassthrough*>(catalog_provider->upstream(id));
  };
  api::Gateway gateway(std::move(gateway_options),
                       api::GatewayServices{.authenticator = authenticator,
                                            .clock = *clock,
                                            .random = *random,
                                            .catalog = *catalog,
                                            .provider = **provider,
                                            .sts = &sts,
                                            .iam = &iam,
                                            .web_identity = &web_identity,
                                            .ledger = usage_ledger.get(),
                                            .budgets = &budgets,
                                            .metrics = &metrics,
                                            .routers = &*routers,
                                            .vectors = vector_store.get(),
                                            .documents = document_service.get(),
                                            .profiles = inference_profiles.get(),
                                            .storage = store->get(),
                                            .bedrock_passthrough = bedrock_passthrough});

  http::ServerOptions server_options;
  server_options.host = endpoint->first;
  server_options.port = endpoint->second;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // A model call holds its worker for the whole generation, and the engine decodes up to
  // max_sequences (16) of them per model in one batch: fewer workers than that would leave the
  // batch half empty while calls queue. Idle workers cost only their stacks.
  server_options.worker_threads =
      config->worker_threads > 0 ? config->worker_threads : std::max(cores * 4, 16 + cores * 2);
  server_options.max_body_bytes = config->limits.max_body_bytes;
  server_options.max_header_bytes = config->limits.max_header_bytes;
  server_options.max_headers = config->limits.max_headers;
  server_options.max_concurrent_requests = config->limits.max_concurrent_requests;
  server_options.request_timeout = std::chrono::seconds(config->limits.request_timeout_seconds);
  server_options.idle_timeout = std::chrono::seconds(config->limits.idle_timeout_seconds);
  const ServerConfig& sc = config->server;
  server_options.max_connections = sc.max_connections;
  server_options.header_timeout = std::chrono::seconds(sc.header_timeout_seconds);
  server_options.min_body_bytes_per_second = sc.min_body_bytes_per_second;
  server_options.connection_body_budget = sc.connection_body_budget_bytes;
  server_options.total_body_budget = sc.total_body_budget_bytes;
  server_options.max_concurrent_streams = static_cast<uint32_t>(sc.max_concurrent_streams);
  server_options.max_queued_requests = sc.max_queued_requests;
  server_options.max_queue_wait = std::chrono::milliseconds(sc.max_queue_wait_ms);
  server_options.long_lived_threads = sc.long_lived_threads;
  server_options.control_threads = sc.control_threads;
  server_options.classify = api::classify_request;
  server_options.tls_certificate_file = config->tls.certificate.string();
  server_options.tls_private_key_file = config->tls.private_key.string();
  server_options.error_response = [&gateway](int status, std::string_view message) {
    return gateway.error_response(status, message);
  };
  auto server = http::Server::start(server_options, gateway.handler());
  if (!server) return fail_start(server.error().message);
  uint16_t port = (*server)->port();
  if (auto st = write_listen_address(config->data_dir, endpoint->first, port); !st) {
    return fail_start(st.error().message);
  }

  std::string scheme = config->tls.enabled() ? "https" : "http";
  std::string url = scheme + "://" + endpoint->first + ":" + std::to_string(port);
  bool root_from_env = std::getenv("PLINTH_ROOT_ACCESS_KEY_ID") != nullptr;
  std::fprintf(stderr,
               "\nPlinth is listening on %s (HTTP/1.1 and HTTP/2)\n"
               "  region %s, account %s, data in %s\n"
               "  root credentials: %s\n"
               "  models:",
               url.c_str(), config->region.c_str(), config->account_id.c_str(),
               fs::absolute(config->data_dir).c_str(),
               root_from_env ? "from PLINTH_ROOT_ACCESS_KEY_ID / PLINTH_ROOT_SECRET_ACCESS_KEY"
                             : (fs::absolute(config->data_dir) / "root-credentials.json").c_str());
  for (const auto& m : config->models) {
    std::fprintf(stderr, " %s%s", m.id.c_str(),
                 m.aliases.empty() ? "" : (" (" + m.aliases.front() + ")").c_str());
  }
  std::fprintf(
      stderr,
      "\n\nTry it (with the root credentials exported as AWS_ACCESS_KEY_ID and "
      "AWS_SECRET_ACCESS_KEY):\n"
      "  aws --endpoint-url %s --region %s bedrock-runtime converse \\\n"
      "    --model-id anthropic.claude-3-haiku-20240307-v1:0 \\\n"
      "    --messages '[{\"role\":\"user\",\"content\":[{\"text\":\"Hello\"}]}]'\n"
      "Documents (Plinth's REST API, SigV4 service \"plinth\"):\n"
      "  curl --aws-sigv4 aws:amz:%s:plinth -u \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" \\\n"
      "    -H 'content-type: application/json' %s/v1/pipelines -d '{\"name\":\"notes\","
      "\"classify\":{\"labels\":[\"invoice\",\"other\"]},\"knowledgeBaseId\":\"kb-notes\"}'\n"
      "  curl --aws-sigv4 aws:amz:%s:plinth -u \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" \\\n"
      "    -H 'content-type: text/plain' %s/v1/pipelines/notes/documents -d 'Invoice 7: 12 EUR'\n"
      "Console: %s/console (sign in with the access key)\n\n",
      url.c_str(), config->region.c_str(), config->region.c_str(), url.c_str(),
      config->region.c_str(), url.c_str(), url.c_str());
  if (task_token) {
    std::fprintf(stderr, "%s\n",
                 container_credentials_instructions(config->task_role, scheme, endpoint->first,
                                                    port, task_token->file)
                     .c_str());
  }
  log::info("ready on {}", url);
  if (document_service) document_service->start_workers();

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  log::info("signal {} received, stopping", signal_number);
  // First, so that event streams end and running stages are left for the next start.
  if (document_service) document_service->stop_workers();
  (*server)->stop();
  return 0;
}

}  // namespace

Result<Config> default_config() {
  const char* dir = std::getenv("PLINTH_MODELS_DIR");
  return parse_config(kDefaultModels, dir ? fs::path(dir) : fs::path(PLINTH_BUNDLED_MODELS_DIR));
}

Result<Config> load_cli_config(const std::string& config_file) {
  if (!config_file.empty()) return load_config(config_file);
  return default_config();
}

void add_serve_command(CLI::App& app, Action* action) {
  auto o = std::make_shared<ServeOptions>();
  auto* serve = app.add_subcommand("serve", "Run the gateway");
  serve->add_option("--config", o->config_file, "TOML config file")->check(CLI::ExistingFile);
  serve->add_option("--listen", o->listen, "HOST:PORT (default 127.0.0.1:4000)");
  serve->add_option("--data-dir", o->data_dir, "State directory (default ./plinth-data)");
  serve->add_option("--task-role", o->task_role,
                    "Serve this IAM role's credentials at /v1/container-credentials (ECS style)");
  serve->add_option("--storage-url", o->storage_url,
                    "sqlite:PATH (default: DATA_DIR/plinth.db) or postgresql://USER@HOST/DB "
                    "(overrides [storage] url)");
  serve->callback([o, action] { *action = [o] { return run_serve(*o); }; });
}

}  // namespace plinth::cli
