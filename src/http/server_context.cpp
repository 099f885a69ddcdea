// Worker pool, per-exchange flow state and the context shared by all server connections.
#include <exception>

#include "plinth/core/log.h"
#include "server_internal.h"

namespace plinth::http::detail {

WorkerPool::WorkerPool(int threads) {
  threads_.reserve(std::max(threads, 1));
  for (int i = 0; i < std::max(threads, 1); ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() { stop(); }

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkerPool::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;  // stopping and drained
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

void ExchangeState::mark_gone() {
  {
    std::lock_guard lock(mutex_);
    gone_.store(true, std::memory_order_release);
  }
  drained_.notify_all();
}

bool ExchangeState::acquire(size_t bytes, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  bool ready = drained_.wait_for(lock, timeout, [&] {
    return gone_.load(std::memory_order_acquire) || queued_ == 0 ||
           queued_ + bytes <= kMaxQueuedBytes;
  });
  if (!ready || gone_.load(std::memory_order_acquire)) return false;
  queued_ += bytes;
  return true;
}

void ExchangeState::release(size_t bytes) {
  {
    std::lock_guard lock(mutex_);
    queued_ = bytes > queued_ ? 0 : queued_ - bytes;
  }
  drained_.notify_all();
}

ServerContext::ServerContext(ServerOptions options, Handler handler)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      workers_(options_.worker_threads) {}

Response ServerContext::error_response(int status, std::string_view message) const {
  if (options_.error_response) {
    Response response = options_.error_response(status, message);
    response.status = status;
    return response;
  }
  Response response;
  response.status = status;
  response.headers.push_back({"content-type", "text/plain; charset=utf-8"});
  response.body.assign(message);
  response.body.push_back('\n');
  return response;
}

bool ServerContext::try_begin_request() {
  int current = in_flight_.fetch_add(1, std::memory_order_acq_rel);
  if (current >= options_.max_concurrent_requests) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    return false;
  }
  return true;
}

void ServerContext::end_request() { in_flight_.fetch_sub(1, std::memory_order_acq_rel); }

void ServerContext::run_handler(const Request& request, ExchangeBase& exchange) {
  try {
    handler_(request, exchange);
    if (!exchange.answered()) {
      log::error("http: handler for {} {} returned without a response", request.method,
                 request.path());
      exchange.respond(error_response(500, "Internal server error"));
    }
  } catch (const std::exception& e) {
    log::error("http: handler for {} {} threw: {}", request.method, request.path(), e.what());
    if (!exchange.answered()) exchange.respond(error_response(500, "Internal server error"));
  } catch (...) {
    log::error("http: handler for {} {} threw a non-exception", request.method, request.path());
    if (!exchange.answered()) exchange.respond(error_response(500, "Internal server error"));
  }
}

void ServerContext::add_connection(std::shared_ptr<Connection> connection, uint64_t* id) {
  std::lock_guard lock(connections_mutex_);
  *id = next_connection_id_++;
  connections_.emplace_back(*id, std::move(connection));
}

void ServerContext::remove_connection(uint64_t id) {
  {
    std::lock_guard lock(connections_mutex_);
    std::erase_if(connections_, [id](const auto& entry) { return entry.first == id; });
  }
  connections_changed_.notify_all();
}

std::vector<std::shared_ptr<Connection>> ServerContext::connections() {
  std::lock_guard lock(connections_mutex_);
  std::vector<std::shared_ptr<Connection>> live;
  for (auto& [id, weak] : connections_) {
    if (auto connection = weak.lock()) live.push_back(std::move(connection));
  }
  return live;
}

void ServerContext::wait_for_connections(SteadyTime deadline) {
  std::unique_lock lock(connections_mutex_);
  connections_changed_.wait_until(lock, deadline, [this] { return connections_.empty(); });
}

}  // namespace plinth::http::detail
