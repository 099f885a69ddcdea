// Private server pieces shared by the listener and the HTTP/1.1 and HTTP/2 connections.
#pragma once

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "plinth/http/server.h"

namespace plinth::http::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

// A byte stream over plain TCP or TLS; the connections are written once against this.
// All calls happen on the connection's strand.
class Transport {
 public:
  using IoHandler = std::function<void(const error_code&, size_t)>;
  virtual ~Transport() = default;
  virtual void async_read_some(asio::mutable_buffer buffer, IoHandler handler) = 0;
  virtual void async_write(std::vector<asio::const_buffer> buffers, IoHandler handler) = 0;
  // Half-close: no more bytes from us (TLS sends close_notify first), reading continues.
  virtual void shutdown_send() = 0;
  virtual void close() = 0;
  virtual bool secure() const = 0;
  virtual std::string remote_address() const = 0;
  // The connection's strand: everything touching the connection runs there.
  virtual asio::any_io_executor executor() = 0;
};

// `open_sockets` (may be null) is decremented when the transport is destroyed.
std::unique_ptr<Transport> make_plain_transport(tcp::socket socket, std::atomic<int>* open_sockets);
std::unique_ptr<Transport> make_tls_transport(
    std::unique_ptr<asio::ssl::stream<tcp::socket>> stream, std::atomic<int>* open_sockets);

// Fixed pool of handler threads; no thread is created per request.
class WorkerPool {
 public:
  explicit WorkerPool(int threads);
  ~WorkerPool();
  void post(std::function<void()> task);
  // Runs what is queued, then joins.
  void stop();

 private:
  void run();
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::vector<std::thread> threads_;
};

// A worker pool with a bound on the tasks it holds (running + waiting), so overload is refused
// at once instead of queued until it times out.
class WorkLane {
 public:
  // capacity <= 0: no bound. max_wait > 0: also refuse when the expected wait (the queue ahead
  // times the recent task duration, over the threads) exceeds it, so that overload is told at
  // once rather than after the wait.
  WorkLane(int threads, int capacity, std::chrono::milliseconds max_wait = {})
      : pool_(threads), threads_(std::max(threads, 1)), capacity_(capacity), max_wait_(max_wait) {}
  // Runs `task` on the lane; false when it is full (the caller answers 429).
  bool try_post(std::function<void()> task);
  void stop() { pool_.stop(); }

 private:
  bool expected_wait_too_long(int ahead) const;

  WorkerPool pool_;
  int threads_;
  int capacity_;
  std::chrono::milliseconds max_wait_;
  std::atomic<int> admitted_{0};
  std::atomic<int64_t> average_task_ns_{0};  // moving average of recent task durations
};

// The arrival rate of one request body once its headers are in. Like Kestrel's
// MinRequestBodyDataRate: after a grace period the body must keep an average of
// ServerOptions::min_body_bytes_per_second, else a peer trickling a byte every few seconds holds
// its slot and its body budget for the whole request_timeout.
class BodyRate {
 public:
  void start(SteadyTime now) {
    if (!started_) started_ = now;
  }
  void add(size_t bytes) { bytes_ += bytes; }
  void reset() { *this = BodyRate(); }
  bool too_slow(SteadyTime now, const ServerOptions& options) const {
    if (!started_ || options.min_body_bytes_per_second == 0) return false;
    auto elapsed = now - *started_;
    if (elapsed <= options.body_rate_grace) return false;
    double seconds = std::chrono::duration<double>(elapsed).count();
    return static_cast<double>(bytes_) <
           static_cast<double>(options.min_body_bytes_per_second) * seconds;
  }

 private:
  std::optional<SteadyTime> started_;
  size_t bytes_ = 0;
};

// Request body bytes buffered across the server while they are received, with a cap.
class BodyBudget {
 public:
  explicit BodyBudget(size_t limit) : limit_(limit) {}
  // False (nothing taken) when `bytes` more would exceed the limit.
  bool try_take(size_t bytes);
  void give_back(size_t bytes);
  size_t current() const { return current_.load(); }
  size_t peak() const { return peak_.load(); }

 private:
  size_t limit_;
  std::atomic<size_t> current_{0};
  std::atomic<size_t> peak_{0};
};

// Shared between a handler (worker thread) and its connection (I/O strand): whether the client
// is gone, and how many response bytes are queued but not yet written, so a fast producer
// blocks instead of buffering without bound.
class ExchangeState {
 public:
  static constexpr size_t kMaxQueuedBytes = 1 << 20;
  void mark_gone();
  bool gone() const { return gone_.load(std::memory_order_acquire); }
  // Waits until the queue has room; false when the client went away (or after `timeout`).
  bool acquire(size_t bytes, std::chrono::milliseconds timeout);
  void release(size_t bytes);

 private:
  std::atomic<bool> gone_{false};
  std::mutex mutex_;
  std::condition_variable drained_;
  size_t queued_ = 0;  // guarded by mutex_
};

// A live connection as the server sees it, for graceful stop.
class Connection {
 public:
  virtual ~Connection() = default;
  // Stop taking new requests; close once in-flight ones are answered. Posted to the strand.
  virtual void begin_shutdown() = 0;
  // Called after the I/O threads stopped: wake any handler waiting on this connection.
  virtual void abandon() = 0;
  // Between requests with nothing buffered (any thread); such a connection may be evicted.
  bool idle() const { return idle_.load(std::memory_order_acquire); }
  // Clears the idle mark; true for the one caller that saw it set (so one connection is
  // evicted once).
  bool take_idle() { return idle_.exchange(false, std::memory_order_acq_rel); }
  // Closes the connection if it is still idle. Posted to the strand.
  virtual void evict() = 0;

 protected:
  std::atomic<bool> idle_{false};
};

// The Exchange both protocols implement; answered() says whether a response was begun.
class ExchangeBase : public Exchange {
 public:
  virtual bool answered() const = 0;
};

// What every connection needs from the server; outlives all connections and handlers.
class ServerContext {
 public:
  ServerContext(ServerOptions options, Handler handler);
  const ServerOptions& options() const { return options_; }

  Response error_response(int status, std::string_view message) const;
  // The request's class (RequestClass::kOrdinary when classify is empty or throws).
  RequestClass classify(const Request& request) const;
  // Runs `task` on the lane of `request_class`; false (answer 429) when that lane is full or
  // max_concurrent_requests ordinary and long-lived requests are in flight. The task gets
  // false instead of running when it waited longer than max_queue_wait: it answers 429.
  bool submit(RequestClass request_class, std::function<void(bool run)> task);
  // Joins every lane after running what is queued.
  void stop_workers();
  // Runs the handler, turning exceptions and missing responses into 500s.
  void run_handler(const Request& request, ExchangeBase& exchange);

  BodyBudget& body_budget() { return body_budget_; }
  ServerStats stats() const;
  void count_refused_body() { refused_bodies_.fetch_add(1); }
  // At max_connections: closes one idle connection; false when none is idle.
  bool evict_idle_connection();

  // Counts accepted sockets against max_connections; the transport gives the slot back.
  std::atomic<int>* open_sockets() { return &open_sockets_; }
  void add_connection(std::shared_ptr<Connection> connection, uint64_t* id);
  void remove_connection(uint64_t id);
  std::vector<std::shared_ptr<Connection>> connections();
  bool stopping() const { return stopping_.load(); }
  void set_stopping() { stopping_.store(true); }
  // Waits until no connection is left, or until `deadline`.
  void wait_for_connections(SteadyTime deadline);

 private:
  ServerOptions options_;
  Handler handler_;
  WorkLane ordinary_;
  WorkLane control_;
  WorkLane long_lived_;
  BodyBudget body_budget_;
  std::atomic<uint64_t> shed_{0};
  std::atomic<uint64_t> evicted_{0};
  std::atomic<uint64_t> refused_bodies_{0};
  std::atomic<int> in_flight_{0};
  std::atomic<bool> stopping_{false};
  std::atomic<int> open_sockets_{0};
  std::mutex connections_mutex_;
  std::condition_variable connections_changed_;
  std::vector<std::pair<uint64_t, std::weak_ptr<Connection>>> connections_;  // guarded
  uint64_t next_connection_id_ = 1;                                          // guarded
};

// Hands a freshly classified connection to its protocol. `initial` holds bytes already read.
void start_http1(ServerContext& context, std::unique_ptr<Transport> transport, std::string initial);
void start_http2(ServerContext& context, std::unique_ptr<Transport> transport, std::string initial);

// "HTTP/1.1 <status> <reason>\r\n" + headers; content-length added for non-streaming bodies.
std::string serialize_http1_head(int status, const std::vector<Header>& headers, bool keep_alive,
                                 std::optional<size_t> content_length);

}  // namespace plinth::http::detail
