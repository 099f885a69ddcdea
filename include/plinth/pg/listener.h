// LISTEN/NOTIFY: a dedicated connection and thread that delivers notifications to a callback and
// reconnects (and says so) when the connection drops.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/pg/connection.h"

namespace plinth::pg {

struct ListenerOptions {
  std::string url;
  std::vector<std::string> channels;  // plain identifiers ([a-z0-9_]); LISTENed on every connect
  // Called on the listener thread for each notification.
  std::function<void(const std::string& channel, const std::string& payload)> on_notify;
  // Called on the listener thread after each (re)connect, once LISTEN is in force: notifications
  // sent while disconnected are lost, so consumers catch up from the tables here.
  std::function<void()> on_connect;
  std::chrono::milliseconds reconnect_delay{200};
};

class Listener {
 public:
  // Starts the thread; fails when a channel name is not a plain identifier.
  static Result<std::unique_ptr<Listener>> start(ListenerOptions options);
  ~Listener();  // stops and joins the thread

  bool connected() const { return connected_.load(); }
  uint64_t reconnects() const { return reconnects_.load(); }
  uint64_t notifications() const { return notifications_.load(); }

 private:
  explicit Listener(ListenerOptions options);
  void run();
  // Returns when the connection breaks or stop is asked.
  void serve(Connection& conn);

  ListenerOptions options_;
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes to wake poll()
  std::atomic<bool> stop_{false};
  std::atomic<bool> connected_{false};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> notifications_{0};
  std::thread thread_;  // owns the listener connection
};

// NOTIFY `channel` with `payload` (pg_notify; delivered when the surrounding transaction commits).
Status notify(Connection& conn, const std::string& channel, const std::string& payload);

}  // namespace plinth::pg
