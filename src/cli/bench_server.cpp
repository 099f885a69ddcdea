// A `plinth serve` child for the HTTP benchmarks, and signing their requests.
#include "bench_server.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

#include "plinth/auth/sigv4.h"
#include "plinth/core/clock.h"

namespace plinth::cli {
namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kAccessKey = "AKIAPLINTHLOADBENCH1";
constexpr const char* kSecret = "plinth-load-bench-secret-0123456789abcdef";

}  // namespace

long rss_kib(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(field)) return std::atol(line.c_str() + std::strlen(field));
  }
  return 0;
}

http::Request plain_request(std::string method, std::string target) {
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  return request;
}

http::ClientOptions with_timeout(std::chrono::seconds timeout) {
  http::ClientOptions options;
  options.timeout = timeout;
  return options;
}

Result<ServedPlinth> start_plinth_serve(const fs::path& model, const fs::path& dir,
                                        const std::string& extra_config) {
  if (!fs::exists(model)) return fail(ErrorCode::kNotFound, "no model at " + model.string());
  fs::create_directories(dir / "data");
  std::ofstream config(dir / "plinth.toml");
  config << "listen = \"127.0.0.1:0\"\nregion = \"us-east-1\"\nlog_level = \"warn\"\n"
         << extra_config << "\n[[models]]\nid = \"small\"\nfile = \""
         << fs::absolute(model).string() << "\"\nkind = \"text\"\ntier = \"small\"\n";
  config.close();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("PLINTH_ROOT_ACCESS_KEY_ID", kAccessKey, 1);
    ::setenv("PLINTH_ROOT_SECRET_ACCESS_KEY", kSecret, 1);
    std::string config_path = (dir / "plinth.toml").string();
    std::string data_path = (dir / "data").string();
    std::freopen((dir / "serve.log").c_str(), "w", stderr);
    ::execl("/proc/self/exe", "plinth", "serve", "--config", config_path.c_str(), "--data-dir",
            data_path.c_str(), static_cast<char*>(nullptr));
    std::_Exit(127);
  }
  auto deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (SteadyClock::now() < deadline) {
    std::ifstream address(dir / "data" / "listen-address");
    std::string text;
    if (address >> text) {
      uint16_t port = static_cast<uint16_t>(std::atoi(text.substr(text.rfind(':') + 1).c_str()));
      http::Request health = plain_request("GET", "/health");
      if (auto r = http::request("127.0.0.1", port, health); r && r->status == 200) {
        return ServedPlinth{pid, port};
      }
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return fail(ErrorCode::kUnavailable,
              "plinth serve did not start; see " + (dir / "serve.log").string());
}

void stop_plinth_serve(const ServedPlinth& served) {
  ::kill(served.pid, SIGTERM);
  ::waitpid(served.pid, nullptr, 0);
}

http::Request signed_post(uint16_t port, const std::string& target, const std::string& body) {
  auth::SignableRequest signable{
      "POST",
      target,
      "",
      {{"host", "127.0.0.1:" + std::to_string(port)}, {"content-type", "application/json"}},
      body};
  auth::SignerOptions signer;
  signer.region = "us-east-1";
  signer.service = "bedrock";
  signer.time = plinth::Clock::real()->now();
  auto signed_request = auth::sign_request(signable, {kAccessKey, kSecret, ""}, signer);
  http::Request request = plain_request("POST", target);
  for (auto& [k, v] : signed_request.request.headers) request.headers.push_back({k, v});
  request.body = body;
  return request;
}

}  // namespace plinth::cli
