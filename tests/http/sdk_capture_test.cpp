// Replays the AWS SDK v3 request captures through the server and checks what handlers see.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

#include "plinth/http/client.h"
#include "plinth/http/server.h"

namespace plinth::http {
namespace {

struct Capture {
  Request request;
  bool http2 = false;
};

// Format: "METHOD target HTTP/x" line, "name: value" lines, blank line, body; CRLF line ends.
Capture load_capture(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  Capture capture;
  size_t header_end = all.find("\r\n\r\n");
  std::string head = all.substr(0, header_end);
  capture.request.body = header_end == std::string::npos ? "" : all.substr(header_end + 4);
  std::istringstream lines(head);
  std::string line;
  auto next_line = [&lines, &line] {
    if (!std::getline(lines, line)) return false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  };
  next_line();
  std::istringstream request_line(line);
  std::string version;
  request_line >> capture.request.method >> capture.request.target >> version;
  capture.http2 = version == "HTTP/2";
  while (next_line()) {
    size_t colon = line.find(':', 1);  // ":authority" starts with a colon
    capture.request.headers.push_back({line.substr(0, colon), line.substr(colon + 2)});
  }
  return capture;
}

std::vector<Header> without_authority(const std::vector<Header>& headers) {
  std::vector<Header> out;
  for (const Header& h : headers) {
    if (h.name != ":authority") out.push_back(h);
  }
  return out;
}

std::string describe(const std::vector<Header>& headers) {
  std::string out;
  for (const Header& h : headers) out += h.name + ": " + h.value + "\n";
  return out;
}

testing::AssertionResult same_headers(const std::vector<Header>& a, const std::vector<Header>& b) {
  if (describe(a) == describe(b)) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "seen:\n" << describe(a) << "sent:\n" << describe(b);
}

TEST(HttpSdkCaptures, ServerHandsHandlersExactlyWhatTheSdkSent) {
  std::mutex mutex;
  Request seen;
  auto server = Server::start({}, [&](const Request& request, Exchange& exchange) {
    {
      std::lock_guard lock(mutex);
      seen = request;
    }
    exchange.respond({200, {}, "{}"});
  });
  ASSERT_TRUE(server.has_value());
  auto dir = std::filesystem::path(PLINTH_TEST_DATA_DIR) / "sdk-requests";
  int replayed = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".http") continue;
    SCOPED_TRACE(entry.path().filename().string());
    Capture capture = load_capture(entry.path());
    auto response = capture.http2 ? request_h2("127.0.0.1", (*server)->port(), capture.request)
                                  : request("127.0.0.1", (*server)->port(), capture.request);
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    std::lock_guard lock(mutex);
    EXPECT_EQ(seen.http_version, capture.http2 ? 20 : 11);
    EXPECT_EQ(seen.method, capture.request.method);
    EXPECT_EQ(seen.target, capture.request.target);  // percent-encoding intact
    EXPECT_EQ(seen.body, capture.request.body);
    if (capture.http2) {
      ASSERT_NE(seen.header(":authority"), nullptr);
      EXPECT_EQ(*seen.header(":authority"), *capture.request.header(":authority"));
      EXPECT_EQ(seen.header("host"), nullptr);
      EXPECT_TRUE(same_headers(without_authority(seen.headers),
                               without_authority(capture.request.headers)));
    } else {
      // The server lowercases names (the capture has "Connection: keep-alive").
      std::vector<Header> expected = capture.request.headers;
      for (Header& h : expected) {
        for (char& ch : h.name)
          ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      }
      EXPECT_TRUE(same_headers(seen.headers, expected));
    }
    ++replayed;
  }
  EXPECT_GE(replayed, 8);
  (*server)->stop();
}

}  // namespace
}  // namespace plinth::http
