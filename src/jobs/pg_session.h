// The jobs module's libpq access: a bounded pool of connections running parameterized statements
// (prepared once per connection), and a LISTEN connection that calls back on notifications.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "plinth/core/result.h"

struct pg_conn;
struct pg_result;

namespace plinth::jobs::pg {

// A text parameter; nullopt is SQL NULL.
using Param = std::optional<std::string>;

// The rows of one statement (text format).
class Rows {
 public:
  explicit Rows(pg_result* result);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();
  int size() const;
  std::string text(int row, int column) const;
  int64_t integer(int row, int column) const;
  bool is_null(int row, int column) const;
  int affected() const;  // rows changed by INSERT/UPDATE/DELETE

 private:
  pg_result* result_ = nullptr;
};

class Connection {
 public:
  explicit Connection(pg_conn* conn) : conn_(conn) {}
  Connection(const Connection&) = delete;
  ~Connection();
  // Prepares `sql` on first use on this connection, then executes it with `params`. SQLSTATE
  // 23505 (unique violation) is kAlreadyExists; a lost connection is kUnavailable.
  Result<Rows> exec(std::string_view sql, const std::vector<Param>& params = {});
  // Several statements, no parameters (migrations).
  Status exec_script(std::string_view sql);
  bool broken() const;

 private:
  pg_conn* conn_;
  std::unordered_map<std::string, std::string> prepared_;  // sql → statement name
};

// At most `size` connections, opened on demand; acquire() waits up to `wait` for a free one.
class Pool {
 public:
  class Lease {
   public:
    Lease(Pool& pool, std::unique_ptr<Connection> conn) : pool_(&pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    ~Lease();
    Connection* operator->() { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  static Result<std::unique_ptr<Pool>> open(std::string url, int size);
  Result<Lease> acquire(std::chrono::milliseconds wait = std::chrono::seconds(10));
  const std::string& url() const { return url_; }

 private:
  Pool(std::string url, int size) : url_(std::move(url)), size_(size) {}
  void give_back(std::unique_ptr<Connection> conn);

  const std::string url_;
  const int size_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<Connection>> idle_;  // guarded by mutex_
  int open_ = 0;                                   // guarded by mutex_: idle + leased
};

Result<std::unique_ptr<Connection>> connect(const std::string& url);

// LISTENs on `channels` from its own thread and calls on_notify(channel, payload) for each
// notification; after a lost connection it reconnects and calls on_notify("", "") so the owner
// re-reads what it may have missed. start() returns once the first LISTEN is in place.
class Listener {
 public:
  using Callback = std::function<void(std::string_view channel, std::string_view payload)>;
  static Result<std::unique_ptr<Listener>> start(std::string url, std::vector<std::string> channels,
                                                 Callback on_notify);
  ~Listener();

 private:
  Listener(std::string url, std::vector<std::string> channels, Callback on_notify);
  void run();
  bool listen_on(pg_conn* conn);

  const std::string url_;
  const std::vector<std::string> channels_;
  const Callback on_notify_;
  int stop_pipe_[2] = {-1, -1};
  std::mutex mutex_;
  std::condition_variable listening_cv_;
  bool listening_ = false;  // guarded by mutex_: the first LISTEN is in place
  std::thread thread_;
};

}  // namespace plinth::jobs::pg
