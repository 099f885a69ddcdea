// TOML configuration: parsing with toml++, defaults, and cross-field validation.
#include "plinth/core/config.h"

#include <fmt/format.h>
#include <toml++/toml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <utility>

namespace plinth {
namespace {

Error bad(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

// Reads an optional key of type T into out; a present key of the wrong type is an error.
template <typename T>
Status read(const toml::table& t, std::string_view key, T& out, std::string_view where) {
  const toml::node* node = t.get(key);
  if (!node) return ok();
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto v = node->value<std::string>()) {
      out = *v;
      return ok();
    }
  } else if constexpr (std::is_same_v<T, double>) {
    if (auto v = node->value<double>()) {
      out = *v;
      return ok();
    }
  } else if constexpr (std::is_same_v<T, bool>) {
    // Only a TOML boolean: value<bool>() also converts integers (1 would read as true).
    if (const auto* b = node->as_boolean()) {
      out = b->get();
      return ok();
    }
  } else {
    // toml++ converts a whole float to int64_t without a range check (undefined behaviour for
    // 1e30): refuse those first.
    if (const auto* f = node->as_floating_point()) {
      const double d = f->get();
      if (std::isfinite(d) && !(d > -0x1p63 && d < 0x1p63))
        return std::unexpected(bad(fmt::format("{}{} is out of range", where, key)));
    }
    if (auto v = node->value<int64_t>()) {
      if (*v < 0) return std::unexpected(bad(fmt::format("{}{} must not be negative", where, key)));
      if (std::cmp_greater(*v, std::numeric_limits<T>::max()))
        return std::unexpected(bad(fmt::format("{}{} is too large", where, key)));
      out = static_cast<T>(*v);
      return ok();
    }
  }
  return std::unexpected(bad(fmt::format("{}{} has the wrong type", where, key)));
}

Status read_path(const toml::table& t, std::string_view key, std::filesystem::path& out,
                 const std::filesystem::path& base, std::string_view where) {
  std::string s;
  if (auto st = read(t, key, s, where); !st) return st;
  if (s.empty()) return ok();
  std::filesystem::path p(s);
  out = p.is_absolute() ? p : (base / p).lexically_normal();
  return ok();
}

#define PLINTH_TRY(expr)                                              \
  do {                                                                \
    if (auto _st = (expr); !_st) return std::unexpected(_st.error()); \
  } while (0)

Status read_strings(const toml::table& t, std::string_view key, std::vector<std::string>& out,
                    const std::string& where);

Result<ModelConfig> parse_model(const toml::table& t, const std::filesystem::path& base,
                                size_t index) {
  ModelConfig m;
  std::string where = fmt::format("models[{}].", index);
  PLINTH_TRY(read(t, "id", m.id, where));
  PLINTH_TRY(read_path(t, "file", m.file, base, where));
  PLINTH_TRY(read(t, "kind", m.kind, where));
  PLINTH_TRY(read(t, "tier", m.tier, where));
  PLINTH_TRY(read(t, "price_input_per_mtok", m.price_input_per_mtok, where));
  PLINTH_TRY(read(t, "price_output_per_mtok", m.price_output_per_mtok, where));
  for (auto [key, price] :
       {std::pair{"price_cache_read_per_mtok", &m.price_cache_read_per_mtok},
        std::pair{"price_cache_write_per_mtok", &m.price_cache_write_per_mtok}}) {
    if (!t.contains(key)) continue;
    double value = 0;
    PLINTH_TRY(read(t, key, value, where));
    *price = value;
  }
  PLINTH_TRY(read(t, "context_length", m.context_length, where));
  PLINTH_TRY(read(t, "prefix_cache_mib", m.prefix_cache_mib, where));
  PLINTH_TRY(read(t, "huge_pages", m.huge_pages, where));
  PLINTH_TRY(read(t, "provider", m.provider, where));
  PLINTH_TRY(read(t, "upstream_model", m.upstream_model, where));
  PLINTH_TRY(read_strings(t, "fallbacks", m.fallbacks, where));
  if (m.prefix_cache_mib < 0 || m.prefix_cache_mib > 1 << 20)
    return std::unexpected(bad(where + "prefix_cache_mib must be between 0 and 1048576"));
  if (const toml::node* a = t.get("aliases")) {
    const toml::array* arr = a->as_array();
    if (!arr) return std::unexpected(bad(where + "aliases must be an array of strings"));
    for (const auto& item : *arr) {
      auto s = item.value<std::string>();
      if (!s) return std::unexpected(bad(where + "aliases must be an array of strings"));
      m.aliases.push_back(*s);
    }
  }
  if (m.id.empty()) return std::unexpected(bad(where + "id is required"));
  if (m.provider.empty() && m.file.empty()) {
    return std::unexpected(bad(where + "file is required (or provider, for an upstream model)"));
  }
  if (m.provider.empty() && !m.upstream_model.empty()) {
    return std::unexpected(bad(where + "upstream_model needs provider"));
  }
  if (!m.provider.empty() && m.upstream_model.empty()) m.upstream_model = m.id;
  return m;
}

// The keys a [[providers]] table may have: a misspelt one is an error, not a silent default.
constexpr std::string_view kProviderKeys[] = {
    "id",          "kind",     "region",      "endpoint",    "profile", "timeout_seconds",
    "max_retries", "base_url", "api_key_env", "api_key_file"};

Result<ProviderConfig> parse_provider(const toml::table& t, const std::filesystem::path& base,
                                      size_t index) {
  ProviderConfig p;
  std::string where = fmt::format("providers[{}].", index);
  for (const auto& [key, value] : t) {
    if (std::find(std::begin(kProviderKeys), std::end(kProviderKeys), key.str()) ==
        std::end(kProviderKeys)) {
      return std::unexpected(bad(fmt::format("{}{} is not a provider key", where, key.str())));
    }
  }
  PLINTH_TRY(read(t, "id", p.id, where));
  PLINTH_TRY(read(t, "kind", p.kind, where));
  PLINTH_TRY(read(t, "region", p.region, where));
  PLINTH_TRY(read(t, "endpoint", p.endpoint, where));
  PLINTH_TRY(read(t, "profile", p.profile, where));
  PLINTH_TRY(read(t, "timeout_seconds", p.timeout_seconds, where));
  PLINTH_TRY(read(t, "max_retries", p.max_retries, where));
  PLINTH_TRY(read(t, "base_url", p.base_url, where));
  PLINTH_TRY(read(t, "api_key_env", p.api_key_env, where));
  PLINTH_TRY(read_path(t, "api_key_file", p.api_key_file, base, where));
  if (p.id.empty()) return std::unexpected(bad(where + "id is required"));
  where = "provider " + p.id + ": ";
  if (p.kind != "bedrock" && p.kind != "openai" && p.kind != "anthropic") {
    return std::unexpected(
        bad(where + "kind must be 'bedrock', 'openai' or 'anthropic', got '" + p.kind + "'"));
  }
  if (p.timeout_seconds <= 0 || p.timeout_seconds > 3600) {
    return std::unexpected(bad(where + "timeout_seconds must be between 1 and 3600"));
  }
  if (p.max_retries > 10) return std::unexpected(bad(where + "max_retries must be 0..10"));
  if (p.kind == "bedrock") {
    if (!p.base_url.empty() || !p.api_key_env.empty() || !p.api_key_file.empty()) {
      return std::unexpected(
          bad(where + "base_url, api_key_env and api_key_file are for openai and anthropic; "
                      "a bedrock provider takes region, endpoint and profile"));
    }
  } else {
    if (p.base_url.empty()) return std::unexpected(bad(where + "base_url is required"));
    if (!p.base_url.starts_with("http://") && !p.base_url.starts_with("https://")) {
      return std::unexpected(bad(where + "base_url must start with http:// or https://"));
    }
    if (!p.region.empty() || !p.endpoint.empty() || !p.profile.empty()) {
      return std::unexpected(bad(where + "region, endpoint and profile are for kind bedrock"));
    }
    if (!p.api_key_env.empty() && !p.api_key_file.empty()) {
      return std::unexpected(bad(where + "set at most one of api_key_env and api_key_file"));
    }
  }
  return p;
}

Result<BudgetConfig> parse_budget(const toml::table& t, size_t index) {
  BudgetConfig b;
  std::string where = fmt::format("budgets[{}].", index);
  PLINTH_TRY(read(t, "id", b.id, where));
  PLINTH_TRY(read(t, "scope", b.scope, where));
  PLINTH_TRY(read(t, "match", b.match, where));
  PLINTH_TRY(read(t, "period", b.period, where));
  for (auto [key, out] :
       {std::pair{"limit_usd", &b.limit_usd}, std::pair{"soft_limit_usd", &b.soft_limit_usd}}) {
    if (!t.get(key)) continue;
    double value = 0;
    PLINTH_TRY(read(t, key, value, where));
    *out = value;
  }
  if (b.id.empty()) return std::unexpected(bad(where + "id is required"));
  return b;
}

Status read_strings(const toml::table& t, std::string_view key, std::vector<std::string>& out,
                    const std::string& where) {
  const toml::node* node = t.get(key);
  if (!node) return ok();
  const toml::array* arr = node->as_array();
  if (!arr) return std::unexpected(bad(where + std::string(key) + " must be an array of strings"));
  out.clear();  // a present key replaces the default
  for (const auto& item : *arr) {
    auto s = item.value<std::string>();
    if (!s) return std::unexpected(bad(where + std::string(key) + " must be an array of strings"));
    out.push_back(*s);
  }
  return ok();
}

Result<RouterConfig> parse_router(const toml::table& t, size_t index) {
  RouterConfig r;
  std::string where = fmt::format("routers[{}].", index);
  PLINTH_TRY(read(t, "id", r.id, where));
  PLINTH_TRY(read(t, "small", r.small, where));
  PLINTH_TRY(read(t, "large", r.large, where));
  PLINTH_TRY(read(t, "max_retries", r.max_retries, where));
  PLINTH_TRY(read_strings(t, "escalate_on", r.escalate_on, where));
  PLINTH_TRY(read_strings(t, "fallbacks", r.fallbacks, where));
  if (r.id.empty()) return std::unexpected(bad(where + "id is required"));
  if (r.small.empty() || r.large.empty()) {
    return std::unexpected(bad(where + "small and large are required"));
  }
  return r;
}

// An array of tables ([[key]]): each table parsed by parse(table, index) into out; absent: none.
template <typename T, typename Parse>
Status read_table_array(const toml::table& root, std::string_view key, std::vector<T>& out,
                        Parse parse) {
  const toml::node* node = root.get(key);
  if (!node) return ok();
  std::string shape =
      std::string(key) + " must be an array of tables ([[" + std::string(key) + "]])";
  const toml::array* arr = node->as_array();
  if (!arr) return fail(ErrorCode::kInvalidArgument, shape);
  for (size_t i = 0; i < arr->size(); ++i) {
    const toml::table* t = (*arr)[i].as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, shape);
    auto parsed = parse(*t, i);
    if (!parsed) return std::unexpected(parsed.error());
    out.push_back(std::move(*parsed));
  }
  return ok();
}
}  // namespace

Result<std::pair<std::string, uint16_t>> Config::listen_endpoint() const {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "listen must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  auto port_text = std::string_view(listen).substr(colon + 1);
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc() || ptr != port_text.data() + port_text.size() || port > 65535 ||
      host.empty()) {
    return fail(ErrorCode::kInvalidArgument, "listen must be HOST:PORT, got '" + listen + "'");
  }
  return std::pair{host, static_cast<uint16_t>(port)};
}

Result<Config> parse_config(std::string_view toml_text, const std::filesystem::path& base_dir) {
  toml::table root;
  try {
    root = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "config: " << e.description() << " at line " << e.source().begin.line;
    return fail(ErrorCode::kInvalidArgument, msg.str());
  }
  Config c;
  PLINTH_TRY(read(root, "listen", c.listen, ""));
  PLINTH_TRY(read_path(root, "data_dir", c.data_dir, base_dir, ""));
  PLINTH_TRY(read(root, "region", c.region, ""));
  PLINTH_TRY(read(root, "account_id", c.account_id, ""));
  PLINTH_TRY(read(root, "log_level", c.log_level, ""));
  PLINTH_TRY(read(root, "task_role", c.task_role, ""));
  PLINTH_TRY(read(root, "worker_threads", c.worker_threads, ""));
  PLINTH_TRY(read(root, "engine_threads", c.engine_threads, ""));
  if (const toml::node* l = root.get("limits")) {
    const toml::table* t = l->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "limits must be a table");
    auto& L = c.limits;
    PLINTH_TRY(read(*t, "max_body_bytes", L.max_body_bytes, "limits."));
    PLINTH_TRY(read(*t, "max_header_bytes", L.max_header_bytes, "limits."));
    PLINTH_TRY(read(*t, "max_headers", L.max_headers, "limits."));
    PLINTH_TRY(read(*t, "max_concurrent_requests", L.max_concurrent_requests, "limits."));
    PLINTH_TRY(read(*t, "max_concurrent_per_principal", L.max_concurrent_per_principal, "limits."));
    PLINTH_TRY(read(*t, "request_timeout_seconds", L.request_timeout_seconds, "limits."));
    PLINTH_TRY(read(*t, "idle_timeout_seconds", L.idle_timeout_seconds, "limits."));
    PLINTH_TRY(read(*t, "max_tokens", L.max_tokens, "limits."));
  }
  if (const toml::node* n = root.get("server")) {
    const toml::table* t = n->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "server must be a table");
    auto& S = c.server;
    PLINTH_TRY(read(*t, "max_connections", S.max_connections, "server."));
    PLINTH_TRY(read(*t, "header_timeout_seconds", S.header_timeout_seconds, "server."));
    PLINTH_TRY(read(*t, "min_body_bytes_per_second", S.min_body_bytes_per_second, "server."));
    PLINTH_TRY(read(*t, "connection_body_budget_bytes", S.connection_body_budget_bytes, "server."));
    PLINTH_TRY(read(*t, "total_body_budget_bytes", S.total_body_budget_bytes, "server."));
    PLINTH_TRY(read(*t, "max_concurrent_streams", S.max_concurrent_streams, "server."));
    PLINTH_TRY(read(*t, "max_queued_requests", S.max_queued_requests, "server."));
    PLINTH_TRY(read(*t, "max_queue_wait_ms", S.max_queue_wait_ms, "server."));
    PLINTH_TRY(read(*t, "long_lived_threads", S.long_lived_threads, "server."));
    PLINTH_TRY(read(*t, "control_threads", S.control_threads, "server."));
  }
  if (const toml::node* d = root.get("documents")) {
    const toml::table* t = d->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "documents must be a table");
    auto& D = c.documents;
    PLINTH_TRY(read(*t, "workers", D.workers, "documents."));
    PLINTH_TRY(read(*t, "visibility_timeout_seconds", D.visibility_timeout_seconds, "documents."));
    PLINTH_TRY(read(*t, "max_receive_count", D.max_receive_count, "documents."));
    PLINTH_TRY(read(*t, "max_document_bytes", D.max_document_bytes, "documents."));
    PLINTH_TRY(read(*t, "chunk_words", D.chunk_words, "documents."));
    PLINTH_TRY(read(*t, "chunk_overlap_words", D.chunk_overlap_words, "documents."));
    PLINTH_TRY(read(*t, "extract_max_tokens", D.extract_max_tokens, "documents."));
    PLINTH_TRY(read(*t, "analysis_max_tokens", D.analysis_max_tokens, "documents."));
  }
  if (const toml::node* l = root.get("tls")) {
    const toml::table* t = l->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "tls must be a table");
    PLINTH_TRY(read_path(*t, "certificate", c.tls.certificate, base_dir, "tls."));
    PLINTH_TRY(read_path(*t, "private_key", c.tls.private_key, base_dir, "tls."));
  }
  PLINTH_TRY(read_table_array(root, "models", c.models, [&](const toml::table& t, size_t i) {
    return parse_model(t, base_dir, i);
  }));
  if (const toml::node* m = root.get("metrics")) {
    const toml::table* t = m->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "metrics must be a table");
    PLINTH_TRY(read(*t, "require_auth", c.metrics.require_auth, "metrics."));
  }
  if (const toml::node* n = root.get("storage")) {
    const toml::table* t = n->as_table();
    if (!t) return fail(ErrorCode::kInvalidArgument, "storage must be a table");
    PLINTH_TRY(read(*t, "url", c.storage.url, "storage."));
    PLINTH_TRY(read(*t, "pool_size", c.storage.pool_size, "storage."));
    PLINTH_TRY(read(*t, "pool_acquire_timeout_ms", c.storage.pool_acquire_timeout_ms, "storage."));
  }
  PLINTH_TRY(read_table_array(root, "providers", c.providers, [&](const toml::table& t, size_t i) {
    return parse_provider(t, base_dir, i);
  }));
  PLINTH_TRY(read_table_array(root, "budgets", c.budgets, parse_budget));
  PLINTH_TRY(read_table_array(
      root, "oidc_providers", c.oidc_providers,
      [&](const toml::table& t, size_t i) -> Result<OidcProviderConfig> {
        OidcProviderConfig p;
        std::string where = fmt::format("oidc_providers[{}].", i);
        PLINTH_TRY(read(t, "issuer", p.issuer, where));
        PLINTH_TRY(read_strings(t, "audiences", p.audiences, where));
        PLINTH_TRY(read(t, "jwks_url", p.jwks_url, where));
        PLINTH_TRY(read_path(t, "jwks_file", p.jwks_file, base_dir, where));
        if (p.issuer.empty() || p.audiences.empty()) {
          return std::unexpected(bad(where + "issuer and audiences are required"));
        }
        if (p.jwks_url.empty() == p.jwks_file.empty()) {
          return std::unexpected(bad(where + "set exactly one of jwks_url and jwks_file"));
        }
        return p;
      }));
  PLINTH_TRY(read_table_array(root, "routers", c.routers, parse_router));
  return c;
}

Result<Config> load_config(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(ErrorCode::kIo, "config: cannot read " + file.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto base = std::filesystem::absolute(file).parent_path();
  return parse_config(ss.str(), base);
}

Status validate_config(const Config& config) {
  if (auto ep = config.listen_endpoint(); !ep) return std::unexpected(ep.error());
  std::set<std::string> names;
  for (const auto& m : config.models) {
    if (m.kind != "text" && m.kind != "embedding") {
      return fail(ErrorCode::kInvalidArgument,
                  "model " + m.id + ": kind must be 'text' or 'embedding', got '" + m.kind + "'");
    }
    if (m.tier != "small" && m.tier != "large") {
      return fail(ErrorCode::kInvalidArgument,
                  "model " + m.id + ": tier must be 'small' or 'large', got '" + m.tier + "'");
    }
    if (m.price_input_per_mtok < 0 || m.price_output_per_mtok < 0 ||
        m.price_cache_read_per_mtok.value_or(0) < 0 ||
        m.price_cache_write_per_mtok.value_or(0) < 0) {
      return fail(ErrorCode::kInvalidArgument, "model " + m.id + ": prices must not be negative");
    }
    std::error_code ec;
    if (!m.provider.empty()) {
      auto named = [&](const ProviderConfig& p) { return p.id == m.provider; };
      if (std::none_of(config.providers.begin(), config.providers.end(), named)) {
        return fail(ErrorCode::kInvalidArgument,
                    "model " + m.id + ": provider '" + m.provider + "' is not in [[providers]]");
      }
    } else if (!std::filesystem::is_regular_file(m.file, ec)) {
      return fail(ErrorCode::kInvalidArgument,
                  "model " + m.id + ": file not found: " + m.file.string());
    }
    if (!names.insert(m.id).second) {
      return fail(ErrorCode::kInvalidArgument, "model id or alias used twice: " + m.id);
    }
    for (const auto& a : m.aliases) {
      if (!names.insert(a).second) {
        return fail(ErrorCode::kInvalidArgument, "model id or alias used twice: " + a);
      }
    }
  }
  std::set<std::string> provider_ids;
  for (const auto& p : config.providers) {
    if (!provider_ids.insert(p.id).second) {
      return fail(ErrorCode::kInvalidArgument, "provider id used twice: " + p.id);
    }
  }
  for (const auto& m : config.models) {
    for (const auto& f : m.fallbacks) {
      if (!names.contains(f) || f == m.id) {
        return fail(ErrorCode::kInvalidArgument,
                    "model " + m.id + ": fallback '" + f + "' is not another configured model");
      }
    }
  }
  if (config.limits.max_body_bytes == 0 || config.limits.max_concurrent_requests <= 0) {
    return fail(ErrorCode::kInvalidArgument, "limits must be positive");
  }
  const ServerConfig& s = config.server;
  if (s.max_connections <= 0 || s.header_timeout_seconds <= 0 ||
      s.connection_body_budget_bytes == 0 || s.total_body_budget_bytes == 0 ||
      s.max_concurrent_streams <= 0 || s.long_lived_threads <= 0 || s.control_threads <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                "server: max_connections, header_timeout_seconds, the body budgets, "
                "max_concurrent_streams, long_lived_threads and control_threads must be positive");
  }
  const DocumentsConfig& d = config.documents;
  if (d.workers < 0 || d.workers > 64 || d.visibility_timeout_seconds <= 0 ||
      d.max_receive_count <= 0 || d.max_document_bytes == 0 || d.chunk_words <= 0 ||
      d.chunk_overlap_words < 0 || d.chunk_overlap_words >= d.chunk_words ||
      d.extract_max_tokens <= 0 || d.analysis_max_tokens <= 0) {
    return fail(ErrorCode::kInvalidArgument,
                "documents: workers must be 0..64, chunk_overlap_words below chunk_words, and "
                "the other values positive");
  }
  if (config.storage.pool_size < 1 || config.storage.pool_size > 1000 ||
      config.storage.pool_acquire_timeout_ms < 1) {
    return fail(ErrorCode::kInvalidArgument,
                "storage: pool_size must be 1..1000 and pool_acquire_timeout_ms positive");
  }
  if (config.tls.certificate.empty() != config.tls.private_key.empty()) {
    return fail(ErrorCode::kInvalidArgument, "tls needs both certificate and private_key");
  }
  std::set<std::string> budget_ids;
  for (const auto& b : config.budgets) {
    auto invalid = [&](std::string what) {
      return fail(ErrorCode::kInvalidArgument, "budget " + b.id + ": " + what);
    };
    if (!budget_ids.insert(b.id).second) return invalid("id used twice");
    if (b.scope != "account" && b.scope != "principal" && b.scope != "tag") {
      return invalid("scope must be 'account', 'principal' or 'tag', got '" + b.scope + "'");
    }
    if (b.period != "day" && b.period != "month") {
      return invalid("period must be 'day' or 'month', got '" + b.period + "'");
    }
    if (b.match.empty()) return invalid("match must not be empty (use \"*\" for each one)");
    if (!b.limit_usd && !b.soft_limit_usd) return invalid("set limit_usd, soft_limit_usd or both");
    if ((b.limit_usd && !(*b.limit_usd >= 0)) || (b.soft_limit_usd && !(*b.soft_limit_usd >= 0))) {
      return invalid("limits must not be negative");
    }
    if (b.limit_usd && b.soft_limit_usd && *b.soft_limit_usd > *b.limit_usd) {
      return invalid("soft_limit_usd must not exceed limit_usd");
    }
  }
  return ok();
}

}  // namespace plinth
