// plinth bench gateway: the HTTP + SigV4 + policy + routing path with a provider that answers at
// once (inside this benchmark only), so the figures are the gateway's own overhead.
#include "bench_gateway.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

#include "bench_stats.h"
#include "plinth/api/gateway.h"
#include "plinth/auth/authenticator.h"
#include "plinth/auth/iam.h"
#include "plinth/auth/policy.h"
#include "plinth/auth/sigv4.h"
#include "plinth/auth/sts.h"
#include "plinth/catalog/catalog.h"
#include "plinth/http/client.h"
#include "plinth/http/server.h"
#include "plinth/store/store.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
using Micros = std::chrono::duration<double, std::micro>;

// Answers every request at once with a fixed reply: the benchmark measures everything else.
class InstantProvider final : public providers::Provider {
 public:
  Result<providers::InferenceResponse> infer(const providers::InferenceRequest& r,
                                             const providers::StreamCallback&) override {
    providers::InferenceResponse out;
    out.model_id = r.model_id;
    out.content.push_back({.text = "ok"});
    out.usage = {12, 1};
    return out;
  }
  Result<providers::EmbeddingResponse> embed(const providers::EmbeddingRequest& r) override {
    return providers::EmbeddingResponse{r.model_id, std::vector<float>(8, 0.f), 3};
  }
};

constexpr const char* kBody =
    R"({"messages":[{"role":"user","content":[{"text":"Hello"}]}],"inferenceConfig":{"maxTokens":8}})";

}  // namespace

int run_gateway_bench(const GatewayBenchOptions& o) {
  fs::path dir = fs::temp_directory_path() / ("plinth-bench-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto random = Random::secure();
  std::shared_ptr<Clock> clock = Clock::real();
  auto store = store::open_sqlite_store(
      {.file = dir / "plinth.db", .master_key = std::string(32, 'k'), .random = random});
  if (!store) {
    std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
    return 1;
  }
  auth::RootCredentials root{"AKIABENCHROOT0000001", "bench-root-secret-0123456789abcdefghij"};
  auto codec = std::make_shared<auth::SessionTokenCodec>(std::string(32, 's'), random);
  auto resolver = std::make_shared<auth::StoreCredentialResolver>(root, "000000000000",
                                                                  (*store)->iam(), codec, clock);
  auth::Authenticator authenticator(resolver, clock, resolver);
  auth::StsService sts((*store)->iam(), "000000000000", codec, clock, random);
  auth::IamService iam((*store)->iam(), "000000000000", random, clock);
  // A role session with a realistic policy: the path verifies a session token and evaluates it.
  (void)iam.create_role("bench",
                        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":)"
                        R"({"AWS":"arn:aws:iam::000000000000:root"},"Action":"sts:AssumeRole"}]})");
  (void)iam.put_role_policy(
      "bench", "invoke",
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["bedrock:InvokeModel",)"
      R"("bedrock:InvokeModelWithResponseStream"],"Resource":"arn:aws:bedrock:us-east-1::foundation-model/echo*"},)"
      R"({"Effect":"Deny","Action":"bedrock:*","Resource":"*","Condition":{"StringNotEquals":{"aws:RequestedRegion":"us-east-1"}}}]})");
  auth::RequestContext ctx{"us-east-1", false, clock->now(), "127.0.0.1"};
  auto assumed = sts.assume_role(
      resolver->root_principal(),
      {.role_arn = "arn:aws:iam::000000000000:role/bench", .role_session_name = "bench"}, ctx);
  if (!assumed) {
    std::fprintf(stderr, "bench: %s\n", assumed.error().message.c_str());
    return 1;
  }
  auth::SigningCredentials creds{assumed->credentials.access_key_id,
                                 assumed->credentials.secret_access_key,
                                 assumed->credentials.session_token};

  std::vector<catalog::ModelEntry> entries{{.id = "echo", .aliases = {"echo.alias-v1:0"}}};
  auto catalog = catalog::Catalog::from_entries(entries);
  InstantProvider provider;
  api::GatewayOptions gopts;
  api::Gateway gateway(gopts, {.authenticator = authenticator,
                               .clock = *clock,
                               .random = *random,
                               .catalog = *catalog,
                               .provider = provider,
                               .sts = &sts,
                               .iam = &iam});

  // 1. SigV4 verification + policy + routing, in process.
  auto sign = [&](uint16_t port) {
    auth::SignableRequest req{
        "POST",
        "/model/echo/converse",
        "",
        {{"host", "127.0.0.1:" + std::to_string(port)}, {"content-type", "application/json"}},
        kBody};
    return auth::sign_request(req, creds,
                              {.region = "us-east-1", .service = "bedrock", .time = clock->now()});
  };
  {
    auto signed_req = sign(1);
    std::vector<double> sig, full;
    sig.reserve(o.iterations);
    full.reserve(o.iterations);
    for (int i = 0; i < o.iterations; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto p = authenticator.authenticate(signed_req.request, "bedrock");
      auto t1 = std::chrono::steady_clock::now();
      auto model = catalog->resolve("echo");
      auto d = auth::authorize(*p, "bedrock:InvokeModel",
                               catalog::foundation_model_arn("us-east-1", (*model)->id), ctx);
      auto t2 = std::chrono::steady_clock::now();
      if (!p || d != auth::Decision::kAllow) {
        std::fprintf(stderr, "bench: authentication failed in the benchmark itself\n");
        return 1;
      }
      sig.push_back(Micros(t1 - t0).count());
      full.push_back(Micros(t2 - t0).count());
    }
    bench::Percentiles verify = bench::percentiles(std::move(sig));
    bench::Percentiles routed = bench::percentiles(std::move(full));
    std::printf("sigv4 verify (session token)     p50 %7.1f us   p99 %7.1f us\n", verify.p50,
                verify.p99);
    std::printf(
        "sigv4 + policy + routing         p50 %7.1f us   p99 %7.1f us   (target < 50 us p50)\n",
        routed.p50, routed.p99);
  }

  // 2. Real HTTP on loopback: keep-alive HTTP/1.1 clients at concurrency 1 and 64.
  http::ServerOptions sopts;
  sopts.worker_threads = o.worker_threads;
  sopts.max_concurrent_requests = 1024;
  auto server = http::Server::start(sopts, gateway.handler());
  if (!server) {
    std::fprintf(stderr, "bench: %s\n", server.error().message.c_str());
    return 1;
  }
  uint16_t port = (*server)->port();
  auto signed_req = sign(port);
  http::Request request;
  request.method = "POST";
  request.target = "/model/echo/converse";
  for (auto& [k, v] : signed_req.request.headers) request.headers.push_back({k, v});
  request.body = kBody;

  for (int concurrency : {1, 64}) {
    std::atomic<bool> stop{false};
    std::atomic<int64_t> errors{0};
    std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
    std::vector<std::thread> clients;
    auto started = std::chrono::steady_clock::now();
    for (int c = 0; c < concurrency; ++c) {
      clients.emplace_back([&, c] {
        http::Client client("127.0.0.1", port);
        auto& lat = latencies[static_cast<size_t>(c)];
        while (!stop.load(std::memory_order_relaxed)) {
          auto t0 = std::chrono::steady_clock::now();
          auto r = client.send(request);
          auto t1 = std::chrono::steady_clock::now();
          if (!r || r->status != 200) {
            errors.fetch_add(1);
            continue;
          }
          lat.push_back(Micros(t1 - t0).count());
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(o.duration_ms));
    stop = true;
    for (auto& t : clients) t.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::vector<double> all;
    for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
    double requests = static_cast<double>(all.size());
    bench::Percentiles latency = bench::percentiles(std::move(all));
    std::printf(
        "http converse, concurrency %3d  %8.0f req/s   p50 %7.1f us   p99 %8.1f us   errors %lld\n",
        concurrency, requests / seconds, latency.p50, latency.p99,
        static_cast<long long>(errors.load()));
  }
  (*server)->stop();
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace plinth::cli
