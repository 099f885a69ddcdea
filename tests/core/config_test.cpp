#include "plinth/core/config.h"

#include <gtest/gtest.h>

namespace plinth {

TEST(Config, DefaultsWhenEmpty) {
  auto c = parse_config("", "/base");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->listen, "127.0.0.1:4000");
  EXPECT_EQ(c->region, "us-east-1");
  auto ep = c->listen_endpoint();
  ASSERT_TRUE(ep);
  EXPECT_EQ(ep->second, 4000);
}

TEST(Config, ParsesModelsAndResolvesRelativePaths) {
  auto c = parse_config(R"(
region = "eu-west-1"
[[models]]
id = "small"
file = "models/a.gguf"
kind = "text"
aliases = ["anthropic.claude-3-haiku-20240307-v1:0"]
tier = "small"
price_input_per_mtok = 0.25
price_output_per_mtok = 1.25
)",
                        "/base");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->models.size(), 1u);
  EXPECT_EQ(c->models[0].file, "/base/models/a.gguf");
  EXPECT_EQ(c->models[0].aliases[0], "anthropic.claude-3-haiku-20240307-v1:0");
  EXPECT_DOUBLE_EQ(c->models[0].price_output_per_mtok, 1.25);
  EXPECT_EQ(c->models[0].prefix_cache_mib, 256);  // the default
  EXPECT_TRUE(c->models[0].huge_pages);           // the default
}

TEST(Config, HugePagesCanBeTurnedOffAndMustBeABoolean) {
  auto off = parse_config("[[models]]\nid = \"a\"\nfile = \"a.gguf\"\nhuge_pages = false\n", "/b");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->models[0].huge_pages);
  EXPECT_FALSE(parse_config("[[models]]\nid = \"a\"\nfile = \"a.gguf\"\nhuge_pages = 1\n", "/b"));
}

TEST(Config, PromptCachePricesAreOptional) {
  auto c = parse_config(
      "[[models]]\nid = \"a\"\nfile = \"a.gguf\"\nprice_input_per_mtok = 3.0\n"
      "price_cache_read_per_mtok = 0.3\n",
      "/b");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->models[0].price_cache_read_per_mtok, 0.3);
  EXPECT_FALSE(c->models[0].price_cache_write_per_mtok);  // absent: billed as input
}

TEST(Config, PrefixCacheSizeIsReadAndBounded) {
  auto off =
      parse_config("[[models]]\nid = \"a\"\nfile = \"a.gguf\"\nprefix_cache_mib = 0\n", "/b");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_EQ(off->models[0].prefix_cache_mib, 0);
  auto negative =
      parse_config("[[models]]\nid = \"a\"\nfile = \"a.gguf\"\nprefix_cache_mib = -1\n", "/b");
  EXPECT_FALSE(negative);
}

TEST(Config, ParsesRouters) {
  auto c = parse_config(R"(
[[routers]]
id = "router.extract"
small = "qwen2-small"
large = "llama-large"
escalate_on = ["invalid_output", "checks"]
fallbacks = ["other-small"]
max_retries = 1
[[routers]]
id = "router.plain"
small = "a"
large = "b"
)",
                        "/base");
  ASSERT_TRUE(c) << c.error().message;
  ASSERT_EQ(c->routers.size(), 2u);
  EXPECT_EQ(c->routers[0].id, "router.extract");
  EXPECT_EQ(c->routers[0].large, "llama-large");
  EXPECT_EQ(c->routers[0].escalate_on, (std::vector<std::string>{"invalid_output", "checks"}));
  EXPECT_EQ(c->routers[0].fallbacks, std::vector<std::string>{"other-small"});
  EXPECT_EQ(c->routers[0].max_retries, 1);
  EXPECT_EQ(c->routers[1].max_retries, 2);
  // Without escalate_on every reason escalates.
  EXPECT_EQ(c->routers[1].escalate_on,
            (std::vector<std::string>{"invalid_output", "max_tokens", "checks"}));
  EXPECT_FALSE(parse_config("[[routers]]\nid = \"r\"\nsmall = \"a\"\n", "/"));
  EXPECT_FALSE(
      parse_config("[[routers]]\nid = \"r\"\nsmall = \"a\"\nlarge = \"b\"\n"
                   "escalate_on = \"checks\"\n",
                   "/"));
}

TEST(Config, SyntaxErrorNamesTheLine) {
  auto c = parse_config("listen = \n", "/");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("line"), std::string::npos);
}

TEST(Config, WrongTypeIsAnError) {
  auto c = parse_config("listen = 4000\n", "/");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("listen"), std::string::npos);
}

TEST(Config, ValidationRejectsMissingFilesAndBadKinds) {
  auto c = parse_config("[[models]]\nid = \"m\"\nfile = \"/nonexistent.gguf\"\n", "/");
  ASSERT_TRUE(c);
  auto st = validate_config(*c);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("file not found"), std::string::npos);
  c->models[0].kind = "image";
  EXPECT_FALSE(validate_config(*c));
}

TEST(Config, IntegerTooLargeForItsFieldIsAnError) {
  // 2^32 + 1 used to wrap to 1 worker thread.
  auto c = parse_config("worker_threads = 4294967297\n", "/");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("worker_threads is too large"), std::string::npos);
  EXPECT_TRUE(parse_config("[limits]\nmax_body_bytes = 4294967297\n", "/"));
}

TEST(Config, FloatBeyondInt64ForAnIntegerIsAnError) {
  // Found by toml_config_fuzz: toml++ cast 8.8e121 to int64_t (undefined behaviour).
  auto c = parse_config("[limits]\nmax_body_bytes = 8.8e121\n", "/");
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("max_body_bytes is out of range"), std::string::npos);
  auto whole = parse_config("[limits]\nmax_body_bytes = 1024.0\n", "/");  // still accepted
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->limits.max_body_bytes, 1024u);
}

TEST(Config, BadListenIsAnError) {
  Config c;
  c.listen = "localhost";
  EXPECT_FALSE(c.listen_endpoint());
  c.listen = "127.0.0.1:99999";
  EXPECT_FALSE(c.listen_endpoint());
}

TEST(Config, ParsesBudgetsAndTheMetricsSwitch) {
  auto c = parse_config(R"(
[metrics]
require_auth = true
[[budgets]]
id = "team-a-daily"
scope = "tag"
match = "team-a"
period = "day"
limit_usd = 5
soft_limit_usd = 4.0
[[budgets]]
id = "watch"
soft_limit_usd = 100.0
)",
                        "/base");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_TRUE(c->metrics.require_auth);
  ASSERT_EQ(c->budgets.size(), 2u);
  EXPECT_EQ(c->budgets[0].scope, "tag");
  EXPECT_EQ(c->budgets[0].match, "team-a");
  EXPECT_EQ(c->budgets[0].limit_usd, 5.0);
  EXPECT_EQ(c->budgets[0].soft_limit_usd, 4.0);
  EXPECT_EQ(c->budgets[1].scope, "account");  // defaults: every account, per day
  EXPECT_EQ(c->budgets[1].match, "*");
  EXPECT_FALSE(c->budgets[1].limit_usd);
  EXPECT_TRUE(validate_config(*c)) << validate_config(*c).error().message;
}

TEST(Config, ValidationRejectsBadBudgets) {
  auto check = [](std::string_view budget, std::string_view expected) {
    auto c = parse_config("[[budgets]]\nid = \"b\"\n" + std::string(budget), "/base");
    ASSERT_TRUE(c) << c.error().message;
    auto st = validate_config(*c);
    ASSERT_FALSE(st) << budget;
    EXPECT_NE(st.error().message.find(expected), std::string::npos) << st.error().message;
  };
  check("limit_usd = 1.0\nscope = \"user\"", "scope");
  check("limit_usd = 1.0\nperiod = \"week\"", "period");
  check("scope = \"tag\"", "set limit_usd");
  check("limit_usd = -1.0", "negative");
  check("limit_usd = 1.0\nsoft_limit_usd = 2.0", "soft_limit_usd must not exceed");
}

TEST(Config, DocumentsTableParsesAndValidates) {
  auto c =
      parse_config("[documents]\nworkers = 3\nchunk_words = 50\nchunk_overlap_words = 10\n", "/");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->documents.workers, 3);
  EXPECT_EQ(c->documents.chunk_words, 50);
  EXPECT_EQ(c->documents.visibility_timeout_seconds, 60);  // default kept
  EXPECT_TRUE(validate_config(*c));
  auto overlap = parse_config("[documents]\nchunk_words = 10\nchunk_overlap_words = 10\n", "/");
  ASSERT_TRUE(overlap);
  auto invalid = validate_config(*overlap);
  ASSERT_FALSE(invalid);
  EXPECT_NE(invalid.error().message.find("documents"), std::string::npos);
}

TEST(Config, ServerTableSetsConnectionAndLoadLimits) {
  auto c = parse_config(R"(
[server]
max_connections = 8
header_timeout_seconds = 3
min_body_bytes_per_second = 1000
connection_body_budget_bytes = 1048576
total_body_budget_bytes = 4194304
max_concurrent_streams = 16
max_queued_requests = 5
max_queue_wait_ms = 250
long_lived_threads = 4
control_threads = 1
)",
                        "/base");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->server.max_connections, 8);
  EXPECT_EQ(c->server.header_timeout_seconds, 3);
  EXPECT_EQ(c->server.min_body_bytes_per_second, 1000u);
  EXPECT_EQ(c->server.connection_body_budget_bytes, 1048576u);
  EXPECT_EQ(c->server.total_body_budget_bytes, 4194304u);
  EXPECT_EQ(c->server.max_concurrent_streams, 16);
  EXPECT_EQ(c->server.max_queued_requests, 5);
  EXPECT_EQ(c->server.max_queue_wait_ms, 250);
  EXPECT_EQ(c->server.long_lived_threads, 4);
  EXPECT_EQ(c->server.control_threads, 1);
  auto zero = parse_config("[server]\nmax_connections = 0\n", "/base");
  ASSERT_TRUE(zero);
  EXPECT_FALSE(validate_config(*zero));
}

}  // namespace plinth

namespace plinth {
namespace {

TEST(Config, ParsesTaskRoleAndOidcProviders) {
  auto c = parse_config(R"(
task_role = "app"
[[oidc_providers]]
issuer = "https://token.actions.githubusercontent.com"
audiences = ["sts.amazonaws.com"]
jwks_url = "https://token.actions.githubusercontent.com/.well-known/jwks"
[[oidc_providers]]
issuer = "https://cognito.example"
audiences = ["client-a", "client-b"]
jwks_file = "keys/jwks.json"
)",
                        "/etc/plinth");
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->task_role, "app");
  ASSERT_EQ(c->oidc_providers.size(), 2u);
  EXPECT_EQ(c->oidc_providers[0].audiences, std::vector<std::string>{"sts.amazonaws.com"});
  EXPECT_EQ(c->oidc_providers[1].jwks_file, std::filesystem::path("/etc/plinth/keys/jwks.json"));
}

TEST(Config, OidcProviderNeedsIssuerAudiencesAndExactlyOneKeySource) {
  for (const char* body : {
           "audiences = [\"a\"]\njwks_url = \"https://x/jwks\"",     // no issuer
           "issuer = \"https://x\"\njwks_url = \"https://x/jwks\"",  // no audiences
           "issuer = \"https://x\"\naudiences = [\"a\"]",            // no key source
           "issuer = \"https://x\"\naudiences = [\"a\"]\njwks_url = \"https://x/j\"\n"
           "jwks_file = \"j.json\"",  // both
       }) {
    auto c = parse_config(std::string("[[oidc_providers]]\n") + body, "/etc/plinth");
    ASSERT_FALSE(c.has_value()) << body;
    EXPECT_NE(c.error().message.find("oidc_providers[0]"), std::string::npos) << c.error().message;
  }
}

}  // namespace
}  // namespace plinth

namespace plinth {
namespace {

TEST(Config, ReadsTheStorageTableAndBoundsThePool) {
  auto c = parse_config(R"(
[storage]
url = "postgresql://plinth@db/plinth?sslmode=require"
pool_size = 24
)",
                        "/base");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->storage.url, "postgresql://plinth@db/plinth?sslmode=require");
  EXPECT_EQ(c->storage.pool_size, 24);
  EXPECT_TRUE(validate_config(*c));
  c->storage.pool_size = 0;
  EXPECT_FALSE(validate_config(*c));
  c->storage.pool_size = 1001;
  EXPECT_FALSE(validate_config(*c));
  EXPECT_FALSE(parse_config("storage = 3\n", "/base"));
}

}  // namespace
}  // namespace plinth
