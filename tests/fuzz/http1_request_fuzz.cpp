// Fuzzes HTTP/1.1 request parsing through the real connection code (Beast parser, limits, body
// budget, keep-alive and pipelining) over an in-memory transport.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plinth/http/memory_server.h"

namespace {

plinth::http::MemoryServer& server() {
  static plinth::http::MemoryServer instance(
      [] {
        plinth::http::ServerOptions options;
        options.worker_threads = 1;
        options.control_threads = 1;
        options.long_lived_threads = 1;
        options.max_body_bytes = 64 << 10;
        options.max_header_bytes = 8 << 10;
        options.connection_body_budget = 32 << 10;
        options.total_body_budget = 48 << 10;
        return options;
      }(),
      [](const plinth::http::Request& request, plinth::http::Exchange& exchange) {
        exchange.respond({200, {}, request.body.substr(0, 64)});
      });
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The read size varies with the input so that every split point of the parser gets tried.
  size_t chunk = 1 + (size * 2654435761u) % 1024;
  server().serve(input, chunk);
  return 0;
}
