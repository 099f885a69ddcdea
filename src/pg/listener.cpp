// The LISTEN/NOTIFY thread: waits on the connection's socket (and a wake pipe), hands each
// notification to the callback, reconnects after a pause when the connection drops.
#include "plinth/pg/listener.h"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include "plinth/core/log.h"

namespace plinth::pg {
namespace {

bool plain_identifier(const std::string& name) {
  if (name.empty() || name.size() > 63) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

Result<std::unique_ptr<Listener>> Listener::start(ListenerOptions options) {
  for (const auto& channel : options.channels) {
    if (!plain_identifier(channel)) {
      return fail(ErrorCode::kInvalidArgument,
                  "listen channel is not a plain identifier: " + channel);
    }
  }
  std::unique_ptr<Listener> listener(new Listener(std::move(options)));
  if (pipe2(listener->wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
    return fail(ErrorCode::kIo, "listener: pipe failed");
  }
  listener->thread_ = std::thread([raw = listener.get()] { raw->run(); });
  return listener;
}

Listener::Listener(ListenerOptions options) : options_(std::move(options)) {}

Listener::~Listener() {
  stop_.store(true);
  if (wake_[1] >= 0) (void)!write(wake_[1], "x", 1);
  if (thread_.joinable()) thread_.join();
  for (int fd : wake_) {
    if (fd >= 0) close(fd);
  }
}

void Listener::run() {
  bool first = true;
  while (!stop_.load()) {
    if (!first) {
      // Sleep on the wake pipe so that stopping is not delayed by the pause.
      pollfd wake{wake_[0], POLLIN, 0};
      poll(&wake, 1, static_cast<int>(options_.reconnect_delay.count()));
      if (stop_.load()) break;
      reconnects_.fetch_add(1);
    }
    first = false;
    auto conn = Connection::open(options_.url);
    if (!conn) {
      log::warn("pg listener: {}", conn.error().message);
      continue;
    }
    bool listening = true;
    for (const auto& channel : options_.channels) {
      if (auto status = (*conn)->exec_script("LISTEN " + channel); !status) {
        log::warn("pg listener: {}", status.error().message);
        listening = false;
        break;
      }
    }
    if (!listening) continue;
    connected_.store(true);
    if (options_.on_connect) options_.on_connect();
    serve(**conn);
    connected_.store(false);
  }
}

void Listener::serve(Connection& conn) {
  pg_conn* raw = conn.raw();
  while (!stop_.load()) {
    // Drained first: a statement on this connection (the keep-alive below) may have read some.
    while (pgNotify* note = PQnotifies(raw)) {
      notifications_.fetch_add(1);
      if (options_.on_notify) options_.on_notify(note->relname, note->extra ? note->extra : "");
      PQfreemem(note);
    }
    pollfd fds[2] = {{PQsocket(raw), POLLIN, 0}, {wake_[0], POLLIN, 0}};
    int ready = poll(fds, 2, 1000);
    if (stop_.load()) return;
    if (ready < 0) continue;
    if (ready == 0) {
      // Idle for a second: a trivial round trip detects a server that went away silently.
      if (auto alive = conn.exec_script("SELECT 1"); !alive) {
        log::warn("pg listener: connection lost: {}", alive.error().message);
        return;
      }
      continue;
    }
    if (PQconsumeInput(raw) == 0 || PQstatus(raw) != CONNECTION_OK) {
      log::warn("pg listener: connection lost: {}", PQerrorMessage(raw));
      return;
    }
  }
}

Status notify(Connection& conn, const std::string& channel, const std::string& payload) {
  auto done =
      conn.exec_prepared("plinth_pg_notify", "SELECT pg_notify($1, $2)", {channel, payload});
  if (!done) return std::unexpected(done.error());
  return ok();
}

}  // namespace plinth::pg
