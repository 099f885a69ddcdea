// A fresh PostgreSQL database per test on the throwaway cluster named by PLINTH_TEST_PG_URL.
#pragma once

#include <libpq-fe.h>

#include <cstdlib>
#include <random>
#include <string>

#include "plinth/core/result.h"

namespace plinth::testing {

// `url` with its database name replaced (postgresql://user@host:port/NAME?params).
inline std::string with_database(const std::string& url, const std::string& name) {
  size_t scheme = url.find("://");
  size_t start = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  size_t query = url.find('?', scheme == std::string::npos ? 0 : scheme + 3);
  if (start == std::string::npos || (query != std::string::npos && start > query)) {
    start = query == std::string::npos ? url.size() : query;
    return url.substr(0, start) + "/" + name + url.substr(start);
  }
  size_t end = query == std::string::npos ? url.size() : query;
  return url.substr(0, start + 1) + name + url.substr(end);
}

inline Status run_admin(const std::string& sql) {
  const char* base = std::getenv("PLINTH_TEST_PG_URL");
  if (base == nullptr || *base == '\0') {
    return fail(ErrorCode::kUnavailable,
                "PLINTH_TEST_PG_URL is not set: start the test cluster with "
                "`eval \"$(scripts/pg-test-cluster.sh start)\"` (or run scripts/test.sh)");
  }
  PGconn* conn = PQconnectdb(base);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return fail(ErrorCode::kUnavailable, "cannot reach PLINTH_TEST_PG_URL: " + message);
  }
  PGresult* result = PQexec(conn, sql.c_str());
  bool good = PQresultStatus(result) == PGRES_COMMAND_OK;
  std::string message = PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  if (!good) return fail(ErrorCode::kInternal, sql + ": " + message);
  return ok();
}

// CREATE DATABASE t_<random> and its URL; tests in parallel each get their own.
inline Result<std::string> fresh_postgres_database() {
  std::random_device seed;
  std::string name = "t_" + std::to_string(seed()) + std::to_string(seed());
  if (auto created = run_admin("CREATE DATABASE " + name); !created) {
    return std::unexpected(created.error());
  }
  return with_database(std::getenv("PLINTH_TEST_PG_URL"), name);
}

inline void drop_postgres_database(const std::string& url) {
  size_t scheme = url.find("://");
  size_t start = url.find('/', scheme + 3);
  size_t end = url.find('?', start);
  std::string name = url.substr(start + 1, end == std::string::npos ? end : end - start - 1);
  (void)run_admin("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
}

}  // namespace plinth::testing
