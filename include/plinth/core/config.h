// Server configuration: the TOML file, its defaults, and validation with clear messages.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "plinth/core/result.h"

namespace plinth {

struct ModelConfig {
  std::string id;
  std::filesystem::path file;  // absolute after loading (resolved against the config file)
  std::string kind = "text";   // text | embedding
  std::vector<std::string> aliases;
  std::string tier = "small";  // small | large
  double price_input_per_mtok = 0;
  double price_output_per_mtok = 0;
  // Prompt-cache reads and checkpoint writes, per million tokens; absent: the input price.
  std::optional<double> price_cache_read_per_mtok;
  std::optional<double> price_cache_write_per_mtok;
  int context_length = 0;  // 0: the model file's own
  // KV caches of recent prompts kept for reuse by prompts sharing their prefix; 0 turns it off.
  int prefix_cache_mib = 256;
  // The weights read into transparent huge pages (faster decode); false maps the file instead,
  // which processes serving the same file share.
  bool huge_pages = true;
  // An upstream model: the [[providers]] id that answers it (empty: the local engine, and `file`
  // is required), the model name that provider knows it by (default: id), and the catalog models
  // tried in order when this one's provider fails retryably or its circuit breaker is open.
  std::string provider;
  std::string upstream_model;
  std::vector<std::string> fallbacks;
};

// An upstream provider ([[providers]]): plinth::upstream answers the models that name its id.
struct ProviderConfig {
  std::string id;
  std::string kind;          // bedrock | openai | anthropic
  std::string region;        // bedrock: default the server's region
  std::string endpoint;      // bedrock: default https://bedrock-runtime.REGION.amazonaws.com
  std::string profile;       // bedrock: a shared-config profile; empty = the default chain
  int timeout_seconds = 60;  // connect and each read of the upstream's answer
  int max_retries = 2;       // on 429, 5xx and connection errors, with backoff and full jitter
  std::string base_url;      // openai / anthropic: e.g. http://127.0.0.1:8000/v1
  std::string api_key_env;   // the environment variable holding the API key, or
  std::filesystem::path api_key_file;  // a file holding it (at most one of the two)
};

// A prompt router ([[routers]]): small model first, escalation to the large one (plinth::router).
struct RouterConfig {
  std::string id;
  std::string small;
  std::string large;
  std::vector<std::string> escalate_on = {"invalid_output", "max_tokens", "checks"};
  std::vector<std::string> fallbacks;  // same-tier models tried on provider errors
  int max_retries = 2;                 // provider-error retries per tier
};

struct LimitsConfig {
  size_t max_body_bytes = 8 * 1024 * 1024;
  size_t max_header_bytes = 64 * 1024;
  size_t max_headers = 100;
  int max_concurrent_requests = 256;
  int max_concurrent_per_principal = 64;
  int request_timeout_seconds = 300;
  int idle_timeout_seconds = 60;
  int max_tokens = 4096;  // upper bound a caller may ask for
};

// [server]: connection slots, timeouts, body memory and load shedding (plinth::http).
struct ServerConfig {
  int max_connections = 1024;  // keep below `ulimit -n`
  int header_timeout_seconds = 10;
  size_t min_body_bytes_per_second = 240;  // after 5 s; 0 = no check
  size_t connection_body_budget_bytes = 32 * 1024 * 1024;
  size_t total_body_budget_bytes = 512 * 1024 * 1024;
  int max_concurrent_streams = 100;  // per HTTP/2 connection
  int max_queued_requests = 16;      // waiting for a worker; beyond it 429 at once
  int max_queue_wait_ms = 2000;      // waited longer for a worker: 429 instead of running
  int long_lived_threads = 16;       // and open event streams at most (429 beyond)
  int control_threads = 2;           // /health and /metrics only
};

// [documents]: the document pipeline's workers and limits.
struct DocumentsConfig {
  int workers = 2;  // worker threads in the server; 0 = accept documents but process none
  int visibility_timeout_seconds = 60;
  int max_receive_count = 5;
  size_t max_document_bytes = 20 * 1024 * 1024;  // the server's limits.max_body_bytes also applies
  int chunk_words = 200;  // chunks for embeddings, in words (approximate tokens)
  int chunk_overlap_words = 40;
  int extract_max_tokens = 512;
  int analysis_max_tokens = 512;
};

struct TlsConfig {
  std::filesystem::path certificate;  // PEM
  std::filesystem::path private_key;  // PEM
  bool enabled() const { return !certificate.empty(); }
};

// A spending limit ([[budgets]]): per account, principal or application tag, per UTC day or month.
// At least one of limit_usd (hard: requests are refused once it is reached) and soft_limit_usd
// (a warning and a metric when crossed) is set.
struct BudgetConfig {
  std::string id;
  std::string scope = "account";  // account | principal | tag
  std::string match = "*";        // account id / principal ARN / tag value; "*": each separately
  std::string period = "day";     // day | month (UTC)
  std::optional<double> limit_usd;
  std::optional<double> soft_limit_usd;
};

// An OpenID Connect identity provider trusted by STS AssumeRoleWithWebIdentity
// ([[oidc_providers]]): tokens whose iss is `issuer` and whose aud is one of `audiences`, signed
// by a key from jwks_url (fetched, cached) or jwks_file (exactly one of the two).
struct OidcProviderConfig {
  std::string issuer;  // e.g. https://token.actions.githubusercontent.com
  std::vector<std::string> audiences;
  std::string jwks_url;
  std::filesystem::path jwks_file;
};

struct MetricsConfig {
  // GET /metrics is open by default (Prometheus scrapers do not sign SigV4); when true it needs
  // a SigV4 signature (service "plinth") and the plinth:GetMetrics action.
  bool require_auth = false;
};

// [storage]: where Plinth keeps its state. `sqlite:PATH` (the default, empty:
// sqlite:DATA_DIR/plinth.db) or `postgresql://…` / `postgres://…` / libpq key=value conninfo
// beginning with `host=` … read by libpq (PGPASSFILE, PGSSLMODE and the other PG* variables apply).
// `plinth serve --storage-url`.
struct StorageConfig {
  std::string url;
  int pool_size = 16;  // PostgreSQL connections per replica
  int pool_acquire_timeout_ms = 5000;
};

struct Config {
  std::string listen = "127.0.0.1:4000";
  std::filesystem::path data_dir = "plinth-data";
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string log_level = "info";
  // An IAM role whose temporary credentials GET /v1/container-credentials hands out (the ECS
  // container-credentials protocol); empty: the endpoint is off. `plinth serve --task-role`.
  std::string task_role;
  int worker_threads = 0;  // 0: max(cores * 4, 16 + cores * 2) (serve_command.cpp)
  int engine_threads = 0;  // 0: hardware concurrency
  std::vector<ModelConfig> models;
  std::vector<ProviderConfig> providers;
  std::vector<RouterConfig> routers;
  LimitsConfig limits;
  ServerConfig server;
  TlsConfig tls;
  DocumentsConfig documents;
  std::vector<BudgetConfig> budgets;
  std::vector<OidcProviderConfig> oidc_providers;
  MetricsConfig metrics;
  StorageConfig storage;

  // host and port parsed from `listen`.
  Result<std::pair<std::string, uint16_t>> listen_endpoint() const;
};

// Parse a TOML document; relative model paths resolve against base_dir.
Result<Config> parse_config(std::string_view toml_text, const std::filesystem::path& base_dir);
// Read and parse a config file.
Result<Config> load_config(const std::filesystem::path& file);
// Checks that hold across fields (unique ids and aliases, known kinds and tiers, files exist).
Status validate_config(const Config& config);

}  // namespace plinth
