// Test support: a fresh PostgreSQL database per test (CREATE DATABASE t_<random>) on the
// throwaway cluster from scripts/pg-test-cluster.sh, so that suites can run in parallel.
#pragma once

#include <string>

namespace plinth::pg::testing {

// PLINTH_TEST_PG_URL, else the URL the ctest fixture `pg_cluster` wrote; empty when neither.
std::string server_url();

// What to do when server_url() is empty: the message the test fails with.
inline constexpr const char* kNoClusterMessage =
    "PostgreSQL tests need a server: run them through ctest (the pg_cluster fixture starts one), "
    "or `export PLINTH_TEST_PG_URL=$(scripts/pg-test-cluster.sh start /tmp/plinth-pg-state)`";

class TestDatabase {
 public:
  TestDatabase();   // creates the database; error() says why when it could not
  ~TestDatabase();  // drops it (WITH (FORCE): connections still open are closed)
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }  // conninfo of the new database
  const std::string& name() const { return name_; }

 private:
  std::string server_;
  std::string name_;
  std::string url_;
  std::string error_;
};

}  // namespace plinth::pg::testing
