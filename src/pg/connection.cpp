// libpq connections: statements with parameters, prepared statements by name, error mapping.
#include "plinth/pg/connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace plinth::pg {
namespace {

constexpr std::string_view kSerialization = "40001";
constexpr std::string_view kDeadlock = "40P01";

Error result_error(pg_conn* conn, pg_result* result, std::string_view what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state ? state : "";
  std::string detail = result ? PQresultErrorMessage(result) : "";
  if (detail.empty() && conn) detail = PQerrorMessage(conn);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  ErrorCode code = ErrorCode::kInternal;
  if (sqlstate == "23505") {
    code = ErrorCode::kAlreadyExists;
  } else if (sqlstate == kSerialization || sqlstate == kDeadlock) {
    code = ErrorCode::kConflict;
  } else if (sqlstate.starts_with("23") || sqlstate.starts_with("22")) {
    code = ErrorCode::kInvalidArgument;
  } else if (sqlstate.starts_with("08") || sqlstate.starts_with("57") || sqlstate.empty()) {
    code = ErrorCode::kUnavailable;  // connection exceptions, admin shutdown, no result at all
  }
  return Error(code, "pg " + (sqlstate.empty() ? std::string("-----") : sqlstate) + ": " +
                         std::string(what) + ": " + detail);
}

// Text and binary parameter arrays for libpq; views into `params`, valid while it lives.
struct Wire {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  explicit Wire(const Params& params) {
    for (const Param& p : params) {
      values.push_back(p.value() ? p.value()->data() : nullptr);
      lengths.push_back(p.value() ? static_cast<int>(p.value()->size()) : 0);
      formats.push_back(p.binary() ? 1 : 0);
    }
  }
};

}  // namespace

Param::Param(double number) {
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, number);
  value_ = std::string(buffer, end);
}

Rows::Rows(pg_result* result) : result_(result, PQclear) {}

int Rows::size() const { return result_ ? PQntuples(result_.get()) : 0; }
int Rows::columns() const { return result_ ? PQnfields(result_.get()) : 0; }

bool Rows::is_null(int row, int column) const {
  return PQgetisnull(result_.get(), row, column) != 0;
}

std::string Rows::text(int row, int column) const {
  const char* value = PQgetvalue(result_.get(), row, column);
  return std::string(value, static_cast<size_t>(PQgetlength(result_.get(), row, column)));
}

int64_t Rows::int64(int row, int column) const {
  if (is_null(row, column)) return 0;
  const char* value = PQgetvalue(result_.get(), row, column);
  int64_t out = 0;
  std::from_chars(value, value + PQgetlength(result_.get(), row, column), out);
  return out;
}

double Rows::number(int row, int column) const {
  if (is_null(row, column)) return 0;
  return std::strtod(PQgetvalue(result_.get(), row, column), nullptr);
}

bool Rows::boolean(int row, int column) const {
  return !is_null(row, column) && PQgetvalue(result_.get(), row, column)[0] == 't';
}

std::string Rows::bytes(int row, int column) const {
  if (is_null(row, column)) return {};
  size_t length = 0;
  unsigned char* raw = PQunescapeBytea(
      reinterpret_cast<const unsigned char*>(PQgetvalue(result_.get(), row, column)), &length);
  if (raw == nullptr) return {};
  std::string out(reinterpret_cast<const char*>(raw), length);
  PQfreemem(raw);
  return out;
}

int64_t Rows::affected() const {
  const char* tuples = result_ ? PQcmdTuples(result_.get()) : "";
  int64_t out = 0;
  std::from_chars(tuples, tuples + std::char_traits<char>::length(tuples), out);
  return out;
}

bool is_retryable(const Error& error) {
  return error.code == ErrorCode::kConflict &&
         (error.message.starts_with("pg 40001") || error.message.starts_with("pg 40P01"));
}

Result<std::unique_ptr<Connection>> Connection::open(const std::string& url) {
  pg_conn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr) return fail(ErrorCode::kUnavailable, "pg: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn);
    return fail(ErrorCode::kUnavailable, "pg connect " + redact(url) + ": " + message);
  }
  // Notices (e.g. "relation already exists, skipping") are not errors; keep them off stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  return std::unique_ptr<Connection>(new Connection(conn));
}

Connection::~Connection() { PQfinish(conn_); }

Result<Rows> Connection::finish(pg_result* result, std::string_view what) {
  ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Rows(result);
  Error error = result_error(conn_, result, what);
  PQclear(result);
  return std::unexpected(error);
}

Result<Rows> Connection::exec(std::string_view sql, const Params& params) {
  std::string text(sql);
  Wire wire(params);
  pg_result* result = PQexecParams(conn_, text.c_str(), static_cast<int>(params.size()), nullptr,
                                   wire.values.data(), wire.lengths.data(), wire.formats.data(), 0);
  return finish(result, "exec");
}

Result<Rows> Connection::exec_prepared(const std::string& name, std::string_view sql,
                                       const Params& params) {
  if (!prepared_.contains(name)) {
    std::string text(sql);
    auto prepared = finish(PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr), "prepare");
    if (!prepared) return std::unexpected(prepared.error());
    prepared_.insert(name);
  }
  Wire wire(params);
  pg_result* result =
      PQexecPrepared(conn_, name.c_str(), static_cast<int>(params.size()), wire.values.data(),
                     wire.lengths.data(), wire.formats.data(), 0);
  return finish(result, name);
}

Status Connection::exec_script(std::string_view sql) {
  std::string text(sql);
  auto done = finish(PQexec(conn_, text.c_str()), "script");
  if (!done) return std::unexpected(done.error());
  return ok();
}

bool Connection::healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

bool Connection::reset() {
  prepared_.clear();
  PQreset(conn_);
  return healthy();
}

Result<Transaction> Transaction::begin(Connection& conn, Isolation isolation) {
  const char* sql = "BEGIN";
  if (isolation == Isolation::kRepeatableRead) sql = "BEGIN ISOLATION LEVEL REPEATABLE READ";
  if (isolation == Isolation::kSerializable) sql = "BEGIN ISOLATION LEVEL SERIALIZABLE";
  if (auto status = conn.exec_script(sql); !status) return std::unexpected(status.error());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  if (conn_ != nullptr) (void)conn_->exec_script("ROLLBACK");
}

Status Transaction::commit() {
  if (conn_ == nullptr) return fail(ErrorCode::kInternal, "transaction already finished");
  Connection* conn = conn_;
  conn_ = nullptr;  // a failed COMMIT ends the transaction too
  return conn->exec_script("COMMIT");
}

Result<std::string> with_database(const std::string& url, const std::string& database) {
  char* message = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &message);
  if (options == nullptr) {
    std::string detail = message ? message : "invalid";
    PQfreemem(message);
    return fail(ErrorCode::kInvalidArgument, "storage url: " + detail);
  }
  auto quote = [](const std::string& value) {
    std::string out = "'";
    for (char c : value) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  };
  std::string out = "dbname=" + quote(database);
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr || std::string_view(o->keyword) == "dbname") continue;
    out += " " + std::string(o->keyword) + "=" + quote(o->val);
  }
  PQconninfoFree(options);
  return out;
}

std::string redact(const std::string& url) {
  std::string out = url;
  // URI form: postgresql://user:PASSWORD@host
  if (auto scheme = out.find("://"); scheme != std::string::npos) {
    auto at = out.find('@', scheme + 3);
    auto colon = out.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // key=value form and URI query: password=…
  for (size_t pos = out.find("password="); pos != std::string::npos;
       pos = out.find("password=", pos + 1)) {
    size_t start = pos + 9;
    size_t end = out.find_first_of(" &", start);
    out.replace(start, (end == std::string::npos ? out.size() : end) - start, "***");
  }
  return out;
}

}  // namespace plinth::pg
