// One server connection over an in-memory byte stream, for fuzzers and tests: the real HTTP/1.1
// and HTTP/2 connection code, limits and lanes, without sockets.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "plinth/http/server.h"

namespace plinth::http {

class MemoryServer {
 public:
  MemoryServer(ServerOptions options, Handler handler);
  ~MemoryServer();
  MemoryServer(const MemoryServer&) = delete;
  MemoryServer& operator=(const MemoryServer&) = delete;

  // Delivers `input` as one connection's bytes, `chunk` bytes per read, then end of stream;
  // returns once the connection closed, with every byte the server wrote. Input starting with
  // the HTTP/2 preface is HTTP/2, anything else HTTP/1.1 (as the listener sniffs).
  std::string serve(std::string_view input, size_t chunk = 4096);
  ServerStats stats() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace plinth::http
