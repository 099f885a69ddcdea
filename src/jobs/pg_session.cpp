// libpq connections for the jobs module: pool, prepared parameterized statements, LISTEN thread.
#include "pg_session.h"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>

#include "plinth/core/log.h"

namespace plinth::jobs::pg {

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }
Rows& Rows::operator=(Rows&& other) noexcept {
  std::swap(result_, other.result_);
  return *this;
}
Rows::~Rows() {
  if (result_ != nullptr) PQclear(result_);
}
int Rows::size() const { return PQntuples(result_); }
std::string Rows::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
}
int64_t Rows::integer(int row, int column) const {
  return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10);
}
bool Rows::is_null(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
int Rows::affected() const { return std::atoi(PQcmdTuples(result_)); }

Connection::~Connection() { PQfinish(conn_); }

bool Connection::broken() const { return PQstatus(conn_) != CONNECTION_OK; }

namespace {

Error error_of(pg_conn* conn, pg_result* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string message = "postgresql: " + std::string(PQerrorMessage(conn));
  while (!message.empty() && message.back() == '\n') message.pop_back();
  if (state != nullptr && std::string_view(state) == "23505")
    return {ErrorCode::kAlreadyExists, message};
  if (PQstatus(conn) != CONNECTION_OK) return {ErrorCode::kUnavailable, message};
  return {ErrorCode::kInternal, message};
}

bool succeeded(pg_result* result) {
  auto status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

}  // namespace

Result<Rows> Connection::exec(std::string_view sql, const std::vector<Param>& params) {
  std::string key(sql);
  auto found = prepared_.find(key);
  if (found == prepared_.end()) {
    std::string name = "plinth_jobs_" + std::to_string(prepared_.size() + 1);
    pg_result* prepared = PQprepare(conn_, name.c_str(), key.c_str(), 0, nullptr);
    Rows owner(prepared);
    if (prepared == nullptr || !succeeded(prepared)) {
      return std::unexpected(error_of(conn_, prepared));
    }
    found = prepared_.emplace(std::move(key), std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
  pg_result* result = PQexecPrepared(conn_, found->second.c_str(), static_cast<int>(values.size()),
                                     values.data(), nullptr, nullptr, 0);
  Rows rows(result);
  if (result == nullptr || !succeeded(result)) return std::unexpected(error_of(conn_, result));
  return rows;
}

Status Connection::exec_script(std::string_view sql) {
  pg_result* result = PQexec(conn_, std::string(sql).c_str());
  Rows owner(result);
  if (result == nullptr || !succeeded(result)) return std::unexpected(error_of(conn_, result));
  return ok();
}

Result<std::unique_ptr<Connection>> connect(const std::string& url) {
  pg_conn* conn = PQconnectdb(url.c_str());
  auto connection = std::make_unique<Connection>(conn);
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn != nullptr ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return fail(ErrorCode::kUnavailable, "postgresql: cannot connect: " + message);
  }
  return connection;
}

Result<std::unique_ptr<Pool>> Pool::open(std::string url, int size) {
  if (size < 1) return fail(ErrorCode::kInvalidArgument, "a pool needs at least one connection");
  std::unique_ptr<Pool> pool(new Pool(std::move(url), size));
  auto first = pool->acquire();  // fail early on a bad URL
  if (!first) return std::unexpected(first.error());
  return pool;
}

Result<Pool::Lease> Pool::acquire(std::chrono::milliseconds wait) {
  std::unique_lock lock(mutex_);
  if (!freed_.wait_for(lock, wait, [&] { return !idle_.empty() || open_ < size_; })) {
    return fail(ErrorCode::kUnavailable, "postgresql: no free connection in the pool");
  }
  if (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(conn));
  }
  ++open_;
  lock.unlock();
  auto conn = connect(url_);
  if (!conn) {
    lock.lock();
    --open_;
    freed_.notify_one();
    return std::unexpected(conn.error());
  }
  return Lease(*this, std::move(*conn));
}

void Pool::give_back(std::unique_ptr<Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    if (conn->broken()) {
      --open_;  // dropped: the next acquire reconnects
    } else {
      idle_.push_back(std::move(conn));
    }
  }
  freed_.notify_one();
}

Pool::Lease::~Lease() {
  if (conn_ != nullptr) pool_->give_back(std::move(conn_));
}

Listener::Listener(std::string url, std::vector<std::string> channels, Callback on_notify)
    : url_(std::move(url)), channels_(std::move(channels)), on_notify_(std::move(on_notify)) {}

Result<std::unique_ptr<Listener>> Listener::start(std::string url,
                                                  std::vector<std::string> channels,
                                                  Callback on_notify) {
  std::unique_ptr<Listener> listener(
      new Listener(std::move(url), std::move(channels), std::move(on_notify)));
  if (pipe(listener->stop_pipe_) != 0) return fail(ErrorCode::kIo, "listener: pipe failed");
  listener->thread_ = std::thread([l = listener.get()] { l->run(); });
  std::unique_lock lock(listener->mutex_);
  if (!listener->listening_cv_.wait_for(lock, std::chrono::seconds(10),
                                        [&] { return listener->listening_; })) {
    lock.unlock();
    listener.reset();
    return fail(ErrorCode::kUnavailable, "postgresql: LISTEN connection failed");
  }
  return listener;
}

Listener::~Listener() {
  if (stop_pipe_[1] >= 0) {
    char byte = 0;
    (void)!write(stop_pipe_[1], &byte, 1);
  }
  if (thread_.joinable()) thread_.join();
  for (int fd : stop_pipe_)
    if (fd >= 0) close(fd);
}

bool Listener::listen_on(pg_conn* conn) {
  for (const std::string& channel : channels_) {
    char* quoted = PQescapeIdentifier(conn, channel.data(), channel.size());
    if (quoted == nullptr) return false;
    Rows rows(PQexec(conn, ("LISTEN " + std::string(quoted)).c_str()));
    PQfreemem(quoted);
    if (PQstatus(conn) != CONNECTION_OK) return false;
  }
  return true;
}

void Listener::run() {
  bool first = true;
  while (true) {
    pg_conn* conn = PQconnectdb(url_.c_str());
    if (PQstatus(conn) == CONNECTION_OK && listen_on(conn)) {
      if (!first) on_notify_("", "");  // anything sent while we were away
      first = false;
      {
        std::lock_guard lock(mutex_);
        listening_ = true;
      }
      listening_cv_.notify_all();
      while (PQstatus(conn) == CONNECTION_OK) {
        pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0) continue;
        if (fds[1].revents != 0) {
          PQfinish(conn);
          return;
        }
        if (PQconsumeInput(conn) == 0) break;
        while (PGnotify* note = PQnotifies(conn)) {
          on_notify_(note->relname, note->extra);
          PQfreemem(note);
        }
      }
      log::warn("jobs: LISTEN connection lost; reconnecting");
    }
    PQfinish(conn);
    pollfd stop = {stop_pipe_[0], POLLIN, 0};
    if (poll(&stop, 1, 500) > 0) return;  // stopping
  }
}

}  // namespace plinth::jobs::pg
