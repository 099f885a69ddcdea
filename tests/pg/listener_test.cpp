// LISTEN/NOTIFY: notifications reach the callback quickly, and the listener reconnects (calling
// on_connect again so consumers can catch up) after its connection is killed.
#include "plinth/pg/listener.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "pg/test_database.h"

namespace plinth::pg {
namespace {

using namespace std::chrono_literals;

struct Inbox {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<std::string> received;  // "channel:payload"
  int connects = 0;

  bool wait_for(size_t count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return received.size() >= count; });
  }
  bool wait_connects(int count, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, timeout, [&] { return connects >= count; });
  }
};

ListenerOptions options_for(const std::string& url, Inbox& inbox) {
  ListenerOptions options;
  options.url = url;
  options.channels = {"jobs", "iam"};
  options.on_notify = [&inbox](const std::string& channel, const std::string& payload) {
    std::lock_guard lock(inbox.mutex);
    inbox.received.push_back(channel + ":" + payload);
    inbox.changed.notify_all();
  };
  options.on_connect = [&inbox] {
    std::lock_guard lock(inbox.mutex);
    inbox.connects++;
    inbox.changed.notify_all();
  };
  options.reconnect_delay = 50ms;
  return options;
}

TEST(PgListener, DeliversNotificationsOnEveryChannelWithinMilliseconds) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  Inbox inbox;
  auto listener = Listener::start(options_for(db.url(), inbox));
  ASSERT_TRUE(listener) << listener.error().message;
  ASSERT_TRUE(inbox.wait_connects(1, 5s));
  auto sender = Connection::open(db.url());
  ASSERT_TRUE(sender);
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(notify(**sender, "jobs", "42"));
  ASSERT_TRUE(notify(**sender, "iam", "gen"));
  ASSERT_TRUE(inbox.wait_for(2, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms);
  std::lock_guard lock(inbox.mutex);
  EXPECT_EQ(inbox.received, (std::vector<std::string>{"jobs:42", "iam:gen"}));
}

TEST(PgListener, ReconnectsAfterItsConnectionIsKilled) {
  testing::TestDatabase db;
  ASSERT_TRUE(db.ok()) << db.error();
  Inbox inbox;
  auto listener = Listener::start(options_for(db.url(), inbox));
  ASSERT_TRUE(listener);
  ASSERT_TRUE(inbox.wait_connects(1, 5s));
  auto admin = Connection::open(db.url());
  ASSERT_TRUE(admin);
  ASSERT_TRUE(
      (*admin)->exec("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                     "WHERE datname = current_database() AND pid <> pg_backend_pid()"));
  ASSERT_TRUE(inbox.wait_connects(2, 10s)) << "no reconnect";
  EXPECT_GE((*listener)->reconnects(), 1u);
  ASSERT_TRUE(notify(**admin, "jobs", "after"));
  ASSERT_TRUE(inbox.wait_for(1, 5s));
  std::lock_guard lock(inbox.mutex);
  EXPECT_EQ(inbox.received.back(), "jobs:after");
}

TEST(PgListener, RefusesChannelNamesThatAreNotPlainIdentifiers) {
  ListenerOptions options;
  options.url = "postgresql://127.0.0.1:1/x";
  options.channels = {"jobs; DROP TABLE x"};
  auto listener = Listener::start(options);
  ASSERT_FALSE(listener);
  EXPECT_EQ(listener.error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace plinth::pg
