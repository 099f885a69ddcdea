// What the HTTP benchmarks share: a real `plinth serve` child on a model, and SigV4-signed
// requests to it with the bench's root key.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

#include "plinth/core/result.h"
#include "plinth/http/client.h"

namespace plinth::cli {

struct ServedPlinth {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Writes DIR/plinth.toml (a text model "small" from `model`, then `extra_config`), starts
// `plinth serve` on a free loopback port with its log in DIR/serve.log, and waits for /health.
Result<ServedPlinth> start_plinth_serve(const std::filesystem::path& model,
                                        const std::filesystem::path& dir,
                                        const std::string& extra_config);
void stop_plinth_serve(const ServedPlinth& served);

// A POST of a JSON body signed with the bench's root key (valid for 15 minutes).
http::Request signed_post(uint16_t port, const std::string& target, const std::string& body);
http::Request plain_request(std::string method, std::string target);
http::ClientOptions with_timeout(std::chrono::seconds timeout);
// A field of /proc/PID/status in KiB ("VmRSS:", "VmHWM:").
long rss_kib(pid_t pid, const char* field);

}  // namespace plinth::cli
