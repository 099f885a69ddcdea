// Fuzzes HTTP/2 frames and HPACK through the server's connection code (nghttp2 session, stream
// limits, body budgets) over an in-memory transport. The client preface is added when missing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "plinth/http/memory_server.h"

namespace {

constexpr std::string_view kPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

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
        options.max_concurrent_streams = 8;
        return options;
      }(),
      [](const plinth::http::Request& request, plinth::http::Exchange& exchange) {
        exchange.respond({200, {{"x-path", request.target.substr(0, 32)}}, "ok"});
      });
  return instance;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  std::string input;
  if (!bytes.starts_with(kPreface)) input.assign(kPreface);
  input.append(bytes);
  size_t chunk = 1 + (size * 2654435761u) % 4096;
  server().serve(input, chunk);
  return 0;
}
