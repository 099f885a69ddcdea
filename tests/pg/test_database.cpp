// Test databases on the throwaway cluster: created per test, dropped after it.
#include "pg/test_database.h"

#include <cstdlib>
#include <fstream>
#include <random>

#include "plinth/pg/connection.h"

namespace plinth::pg::testing {

std::string server_url() {
  if (const char* url = std::getenv("PLINTH_TEST_PG_URL"); url != nullptr && *url != '\0') {
    return url;
  }
  std::ifstream file(std::string(PLINTH_TEST_PG_STATE_DIR) + "/url");
  std::string url;
  std::getline(file, url);
  return url;
}

TestDatabase::TestDatabase() : server_(server_url()) {
  if (server_.empty()) {
    error_ = kNoClusterMessage;
    return;
  }
  std::random_device seed;
  std::mt19937_64 random(seed());
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  name_ = "t_";
  for (int i = 0; i < 16; ++i) name_ += digits[random() % 36];
  auto admin = Connection::open(server_);
  if (!admin) {
    error_ = admin.error().message + "\n" + kNoClusterMessage;
    return;
  }
  if (auto created = (*admin)->exec_script("CREATE DATABASE " + name_); !created) {
    error_ = created.error().message;
    return;
  }
  auto url = with_database(server_, name_);
  if (!url) {
    error_ = url.error().message;
    return;
  }
  url_ = *url;
}

TestDatabase::~TestDatabase() {
  if (url_.empty()) return;
  if (auto admin = Connection::open(server_); admin) {
    (void)(*admin)->exec_script("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  }
}

}  // namespace plinth::pg::testing
