// The HTTP server over real loopback connections: HTTP/1.1, h2c, TLS+ALPN, streaming, limits.
#include "plinth/http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <chrono>
#include <thread>

#include "plinth/http/client.h"

namespace plinth::http {
namespace {

using namespace std::chrono_literals;

// A one-shot signal a handler can wait on with a timeout (so a bug fails instead of hanging).
class Signal {
 public:
  void notify() {
    std::lock_guard lock(mutex_);
    set_ = true;
    cv_.notify_all();
  }
  bool wait(std::chrono::milliseconds timeout = 5000ms) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [this] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

std::unique_ptr<Server> start_server(Handler handler, ServerOptions options = {}) {
  auto server = Server::start(std::move(options), std::move(handler));
  EXPECT_TRUE(server.has_value()) << (server ? "" : server.error().message);
  return server ? std::move(*server) : nullptr;
}

// Echoes what the server parsed, one fact per header, body back as the body.
void echo(const Request& request, Exchange& exchange) {
  Response response;
  response.headers = {{"x-method", request.method},
                      {"x-path", std::string(request.path())},
                      {"x-query", std::string(request.query())},
                      {"x-version", std::to_string(request.http_version)},
                      {"x-secure", request.secure ? "yes" : "no"},
                      {"x-remote", request.remote_address}};
  if (const std::string* authority = request.header(":authority")) {
    response.headers.push_back({"x-authority", *authority});
  }
  if (const std::string* custom = request.header("x-custom")) {
    response.headers.push_back({"x-custom-echo", *custom});
  }
  response.headers.push_back({"content-type", "text/plain"});
  response.body = request.body;
  exchange.respond(std::move(response));
}

Request make_request(std::string method, std::string target, std::string body = {}) {
  Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.body = std::move(body);
  return request;
}

std::string header_or_empty(const Response& response, std::string_view name) {
  const std::string* value = response.header(name);
  return value ? *value : "";
}

TEST(HttpServer, Http1GetAndPostRoundTrip) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  Request get = make_request("GET", "/model/a%2Fb/invoke?x=1&y=%20");
  get.headers.push_back({"X-Custom", "Value"});
  auto response = request("127.0.0.1", server->port(), get);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(header_or_empty(*response, "x-path"), "/model/a%2Fb/invoke");
  EXPECT_EQ(header_or_empty(*response, "x-query"), "x=1&y=%20");
  EXPECT_EQ(header_or_empty(*response, "x-custom-echo"), "Value");  // name lowercased
  EXPECT_EQ(header_or_empty(*response, "x-version"), "11");

  auto post = request("127.0.0.1", server->port(), make_request("POST", "/echo", "hello body"));
  ASSERT_TRUE(post.has_value()) << post.error().message;
  EXPECT_EQ(header_or_empty(*post, "x-method"), "POST");
  EXPECT_EQ(post->body, "hello body");
  server->stop();
}

TEST(HttpServer, Http1KeepAliveServesSeveralRequestsOnOneConnection) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  Client client("127.0.0.1", server->port());
  std::string first_remote;
  for (int i = 0; i < 5; ++i) {
    auto response = client.send(make_request("POST", "/n", std::to_string(i)));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->body, std::to_string(i));
    std::string remote = header_or_empty(*response, "x-remote");
    if (i == 0) first_remote = remote;
    EXPECT_EQ(remote, first_remote);  // same client port: the same connection
    EXPECT_TRUE(client.connected());
  }
  server->stop();
}

// Sends raw bytes and reads until the server closes or `until` appears.
std::string raw_exchange(uint16_t port, std::string_view bytes, std::string_view until = {}) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
  boost::asio::write(socket, boost::asio::buffer(bytes.data(), bytes.size()));
  std::string received;
  std::array<char, 4096> chunk;
  boost::system::error_code ec;
  while (!ec) {
    size_t n = socket.read_some(boost::asio::buffer(chunk), ec);
    received.append(chunk.data(), n);
    if (!until.empty() && received.find(until) != std::string::npos) break;
  }
  return received;
}

TEST(HttpServer, Http1AcceptsChunkedRequestBodies) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  std::string reply =
      raw_exchange(server->port(),
                   "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   "Connection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
  EXPECT_NE(reply.find("HTTP/1.1 200 OK"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\r\n\r\nhello world"), std::string::npos) << reply;
}

TEST(HttpServer, Http1PipelinedRequestsAreAnsweredInOrder) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  std::string reply = raw_exchange(
      server->port(),
      "POST /1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nonePOST /2 HTTP/1.1\r\nHost: x\r\n"
      "Content-Length: 3\r\nConnection: close\r\n\r\ntwo");
  size_t one = reply.find("\r\n\r\none");
  size_t two = reply.find("\r\n\r\ntwo");
  ASSERT_NE(one, std::string::npos) << reply;
  ASSERT_NE(two, std::string::npos) << reply;
  EXPECT_LT(one, two);
}

TEST(HttpServer, Http2PriorKnowledgeRoundTripIncludesAuthority) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  Request post = make_request("POST", "/model/m/converse?a=b", "{\"x\":1}");
  post.headers.push_back({":authority", "bedrock-runtime.us-east-1.amazonaws.com"});
  post.headers.push_back({"x-custom", "h2"});
  auto response = request_h2("127.0.0.1", server->port(), post);
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "{\"x\":1}");
  EXPECT_EQ(header_or_empty(*response, "x-version"), "20");
  EXPECT_EQ(header_or_empty(*response, "x-authority"), "bedrock-runtime.us-east-1.amazonaws.com");
  EXPECT_EQ(header_or_empty(*response, "x-path"), "/model/m/converse");
  EXPECT_EQ(header_or_empty(*response, "x-query"), "a=b");
  EXPECT_EQ(header_or_empty(*response, "x-custom-echo"), "h2");
  server->stop();
}

TEST(HttpServer, Http2RunsConcurrentStreamsOfOneConnectionInParallel) {
  constexpr int kStreams = 4;
  std::atomic<int> arrived{0};
  Signal all_arrived;
  auto server = start_server([&](const Request& request, Exchange& exchange) {
    if (++arrived == kStreams) all_arrived.notify();
    // Every handler waits for all of them: this only completes if they run concurrently.
    bool together = all_arrived.wait();
    exchange.respond({200, {}, together ? request.body : "serial"});
  });
  ASSERT_TRUE(server);
  std::vector<Request> requests;
  for (int i = 0; i < kStreams; ++i)
    requests.push_back(make_request("POST", "/", "r" + std::to_string(i)));
  auto responses = request_h2_concurrent("127.0.0.1", server->port(), requests);
  ASSERT_TRUE(responses.has_value()) << responses.error().message;
  ASSERT_EQ(responses->size(), static_cast<size_t>(kStreams));
  for (int i = 0; i < kStreams; ++i) EXPECT_EQ((*responses)[i].body, "r" + std::to_string(i));
  server->stop();
}

TEST(HttpServer, Http2LargeBodiesCrossFlowControlWindows) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + (i / 4096) % 26);
  auto response = request_h2("127.0.0.1", server->port(), make_request("POST", "/big", big));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body.size(), big.size());
  EXPECT_TRUE(response->body == big);
  server->stop();
}

// A handler that streams "part1", waits until the client saw it, then streams "part2".
Handler two_part_stream(Signal& client_saw_first, std::atomic<bool>& waited_ok) {
  return [&](const Request&, Exchange& exchange) {
    auto stream = exchange.start_stream(200, {{"content-type", "text/event-stream"}});
    stream->write("part1");
    waited_ok = client_saw_first.wait();
    stream->write("part2");
    stream->finish();
  };
}

TEST(HttpServer, Http1StreamingResponseArrivesInPieces) {
  Signal client_saw_first;
  std::atomic<bool> waited_ok{false};
  auto server = start_server(two_part_stream(client_saw_first, waited_ok));
  ASSERT_TRUE(server);
  std::vector<std::string> pieces;
  Client client("127.0.0.1", server->port());
  auto response = client.send(make_request("GET", "/stream"), [&](std::string_view bytes) {
    pieces.emplace_back(bytes);
    client_saw_first.notify();
  });
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_TRUE(waited_ok.load());  // part1 reached the client before part2 was written
  EXPECT_EQ(header_or_empty(*response, "transfer-encoding"), "chunked");
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "part1");
  EXPECT_EQ(pieces[1], "part2");
  // The connection stays usable after a streamed response.
  auto again = client.send(make_request("GET", "/stream"));
  ASSERT_TRUE(again.has_value()) << again.error().message;
  server->stop();
}

TEST(HttpServer, Http2StreamingResponseArrivesInPieces) {
  Signal client_saw_first;
  std::atomic<bool> waited_ok{false};
  auto server = start_server(two_part_stream(client_saw_first, waited_ok));
  ASSERT_TRUE(server);
  std::vector<std::string> pieces;
  auto response = request_h2("127.0.0.1", server->port(), make_request("GET", "/stream"), {},
                             [&](std::string_view bytes) {
                               pieces.emplace_back(bytes);
                               client_saw_first.notify();
                             });
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_TRUE(waited_ok.load());
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(pieces[0], "part1");
  std::string all;
  for (auto& p : pieces) all += p;
  EXPECT_EQ(all, "part1part2");
  server->stop();
}

ServerOptions limited_options() {
  ServerOptions options;
  options.max_body_bytes = 64;
  options.max_headers = 8;
  options.max_header_bytes = 1024;
  options.error_response = [](int status, std::string_view message) {
    Response response;
    response.headers = {{"x-amzn-errortype", "ServerLimit"}, {"content-type", "application/json"}};
    response.body = "{\"message\":\"" + std::string(message) + "\"}";
    return response;
  };
  return options;
}

TEST(HttpServer, BodyAboveLimitGets413InTheApiShape) {
  std::atomic<int> handled{0};
  auto server = start_server(
      [&](const Request& r, Exchange& e) {
        ++handled;
        echo(r, e);
      },
      limited_options());
  ASSERT_TRUE(server);
  auto h1 = request("127.0.0.1", server->port(), make_request("POST", "/", std::string(1000, 'b')));
  ASSERT_TRUE(h1.has_value()) << h1.error().message;
  EXPECT_EQ(h1->status, 413);
  EXPECT_EQ(header_or_empty(*h1, "x-amzn-errortype"), "ServerLimit");
  EXPECT_NE(h1->body.find("too large"), std::string::npos);

  // Chunked: no declared length, the limit trips while reading.
  std::string chunked = raw_exchange(
      server->port(), "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                          std::string("64\r\n") + std::string(100, 'c') + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.rfind("HTTP/1.1 413", 0), 0u) << chunked;

  auto h2 =
      request_h2("127.0.0.1", server->port(), make_request("POST", "/", std::string(1000, 'b')));
  ASSERT_TRUE(h2.has_value()) << h2.error().message;
  EXPECT_EQ(h2->status, 413);
  EXPECT_EQ(handled.load(), 0);

  // A body within the limit still works.
  auto small = request("127.0.0.1", server->port(), make_request("POST", "/", "ok"));
  ASSERT_TRUE(small.has_value());
  EXPECT_EQ(small->status, 200);
  server->stop();
}

TEST(HttpServer, TooManyOrTooLargeHeadersGet431) {
  auto server = start_server(echo, limited_options());
  ASSERT_TRUE(server);
  Request many = make_request("GET", "/");
  for (int i = 0; i < 20; ++i) many.headers.push_back({"x-h" + std::to_string(i), "v"});
  auto h1_many = request("127.0.0.1", server->port(), many);
  ASSERT_TRUE(h1_many.has_value()) << h1_many.error().message;
  EXPECT_EQ(h1_many->status, 431);

  Request large = make_request("GET", "/");
  large.headers.push_back({"x-big", std::string(4000, 'h')});
  auto h1_large = request("127.0.0.1", server->port(), large);
  ASSERT_TRUE(h1_large.has_value()) << h1_large.error().message;
  EXPECT_EQ(h1_large->status, 431);

  auto h2_many = request_h2("127.0.0.1", server->port(), many);
  ASSERT_TRUE(h2_many.has_value()) << h2_many.error().message;
  EXPECT_EQ(h2_many->status, 431);
  auto h2_large = request_h2("127.0.0.1", server->port(), large);
  ASSERT_TRUE(h2_large.has_value()) << h2_large.error().message;
  EXPECT_EQ(h2_large->status, 431);
  server->stop();
}

TEST(HttpServer, RequestsBeyondTheConcurrencyLimitGet429) {
  Signal release;
  Signal slow_started;
  ServerOptions options = limited_options();
  options.max_concurrent_requests = 1;
  auto server = start_server(
      [&](const Request& request, Exchange& exchange) {
        if (request.path() == "/slow") {
          slow_started.notify();
          release.wait();
        }
        exchange.respond({200, {}, "done"});
      },
      options);
  ASSERT_TRUE(server);
  std::thread slow([&] {
    auto r = request("127.0.0.1", server->port(), make_request("GET", "/slow"));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  });
  ASSERT_TRUE(slow_started.wait());
  auto h1 = request("127.0.0.1", server->port(), make_request("GET", "/fast"));
  ASSERT_TRUE(h1.has_value()) << h1.error().message;
  EXPECT_EQ(h1->status, 429);
  EXPECT_EQ(header_or_empty(*h1, "x-amzn-errortype"), "ServerLimit");
  auto h2 = request_h2("127.0.0.1", server->port(), make_request("GET", "/fast"));
  ASSERT_TRUE(h2.has_value()) << h2.error().message;
  EXPECT_EQ(h2->status, 429);
  release.notify();
  slow.join();
  // The slot frees when the slow handler's exchange ends, which may be a moment after its client
  // has read the response: allow that moment, no more.
  int status = 0;
  for (int attempt = 0; attempt < 100 && status != 200; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    auto after = request("127.0.0.1", server->port(), make_request("GET", "/fast"));
    ASSERT_TRUE(after.has_value());
    status = after->status;
  }
  EXPECT_EQ(status, 200);
  server->stop();
}

TEST(HttpServer, HandlerThatThrowsOrForgetsToRespondGets500) {
  auto server = start_server([](const Request& request, Exchange&) {
    if (request.path() == "/throw") throw std::runtime_error("boom");
  });
  ASSERT_TRUE(server);
  auto thrown = request("127.0.0.1", server->port(), make_request("GET", "/throw"));
  ASSERT_TRUE(thrown.has_value()) << thrown.error().message;
  EXPECT_EQ(thrown->status, 500);
  auto silent = request_h2("127.0.0.1", server->port(), make_request("GET", "/silent"));
  ASSERT_TRUE(silent.has_value()) << silent.error().message;
  EXPECT_EQ(silent->status, 500);
  server->stop();
}

TEST(HttpServer, IdleConnectionsAreClosed) {
  ServerOptions options;
  options.idle_timeout = 1s;
  auto server = start_server(echo, options);
  ASSERT_TRUE(server);
  auto started = std::chrono::steady_clock::now();
  // Says nothing: the server closes it after the idle timeout.
  std::string reply = raw_exchange(server->port(), "");
  auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(reply, "");
  EXPECT_GE(waited, 900ms);
  EXPECT_LT(waited, 5s);
  server->stop();
}

TEST(HttpServer, StopLetsInFlightRequestsFinish) {
  Signal started;
  auto server = start_server([&](const Request&, Exchange& exchange) {
    started.notify();
    std::this_thread::sleep_for(300ms);
    exchange.respond({200, {}, "finished"});
  });
  ASSERT_TRUE(server);
  uint16_t port = server->port();
  Result<Response> response = fail(ErrorCode::kInternal, "not run");
  std::thread client([&] { response = request("127.0.0.1", port, make_request("GET", "/")); });
  ASSERT_TRUE(started.wait());
  server->stop();
  client.join();
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->body, "finished");
  // Nothing listens any more.
  auto refused = request("127.0.0.1", port, make_request("GET", "/"));
  EXPECT_FALSE(refused.has_value());
}

TEST(HttpServer, Http2ClientResetMarksClientGone) {
  // The h2 client gives up (timeout closes the connection) while the handler streams.
  Signal gone_seen;
  auto server = start_server([&](const Request&, Exchange& exchange) {
    auto stream = exchange.start_stream(200, {});
    for (int i = 0; i < 500; ++i) {
      if (!stream->write("tick") || exchange.client_gone()) {
        gone_seen.notify();
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  ASSERT_TRUE(server);
  ClientOptions options;
  options.timeout = 200ms;
  auto response = request_h2("127.0.0.1", server->port(), make_request("GET", "/"), options);
  EXPECT_FALSE(response.has_value());
  EXPECT_TRUE(gone_seen.wait(3000ms));
  server->stop();
}

TEST(HttpServer, IncompleteRequestGets408AfterRequestTimeout) {
  ServerOptions options;
  options.request_timeout = 1s;
  auto server = start_server(echo, options);
  ASSERT_TRUE(server);
  std::string reply = raw_exchange(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n");
  EXPECT_EQ(reply.rfind("HTTP/1.1 408", 0), 0u) << reply;
  server->stop();
}

TEST(HttpServer, ExpectContinueGetsAn100BeforeTheBody) {
  auto server = start_server(echo);
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket(io);
  socket.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  boost::asio::write(socket, boost::asio::buffer(std::string_view(
                                 "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                                 "Expect: 100-continue\r\nConnection: close\r\n\r\n")));
  std::array<char, 256> chunk;
  size_t n = socket.read_some(boost::asio::buffer(chunk));
  EXPECT_EQ(std::string(chunk.data(), n), "HTTP/1.1 100 Continue\r\n\r\n");
  boost::asio::write(socket, boost::asio::buffer(std::string_view("body")));
  std::string rest;
  boost::system::error_code ec;
  while (!ec) {
    n = socket.read_some(boost::asio::buffer(chunk), ec);
    rest.append(chunk.data(), n);
  }
  EXPECT_EQ(rest.rfind("HTTP/1.1 200 OK", 0), 0u) << rest;
  EXPECT_NE(rest.find("\r\n\r\nbody"), std::string::npos);
}

TEST(HttpServer, ConnectionsBeyondMaxConnectionsAreClosed) {
  ServerOptions options;
  options.max_connections = 1;
  auto server = start_server(echo, options);
  ASSERT_TRUE(server);
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket first(io);
  first.connect({boost::asio::ip::make_address("127.0.0.1"), server->port()});
  // Mid-request, so not an idle connection that a newcomer could evict.
  boost::asio::write(first, boost::asio::buffer(std::string_view("GET / HTTP/1.1\r\n")));
  std::this_thread::sleep_for(100ms);  // let the server accept it
  // The second connection is accepted and closed at once: EOF, no response.
  std::string reply = raw_exchange(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(reply, "");
  // Once the first goes away, connections are served again.
  first.close();
  std::this_thread::sleep_for(100ms);
  auto response = request("127.0.0.1", server->port(), make_request("GET", "/"));
  ASSERT_TRUE(response.has_value()) << response.error().message;
  EXPECT_EQ(response->status, 200);
  server->stop();
}

TEST(HttpServer, Http1DisconnectMarksClientGoneAndStopsTheStream) {
  Signal gone_seen;
  std::atomic<bool> saw_gone_flag{false};
  auto server = start_server([&](const Request&, Exchange& exchange) {
    auto stream = exchange.start_stream(200, {});
    for (int i = 0; i < 500; ++i) {
      if (!stream->write("tick")) {
        saw_gone_flag = exchange.client_gone();
        gone_seen.notify();
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
  });
  ASSERT_TRUE(server);
  std::string first = raw_exchange(server->port(), "GET / HTTP/1.1\r\nHost: x\r\n\r\n", "tick");
  EXPECT_NE(first.find("tick"), std::string::npos);  // socket closed on return
  EXPECT_TRUE(gone_seen.wait(3000ms));
  EXPECT_TRUE(saw_gone_flag.load());
  server->stop();
}

// Writes a self-signed certificate for 127.0.0.1 with the openssl command.
bool make_self_signed(const std::filesystem::path& dir) {
  std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1 -keyout " +
      (dir / "key.pem").string() + " -out " + (dir / "cert.pem").string() + " > /dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

TEST(HttpServer, TlsNegotiatesHttp2OrHttp1ByAlpn) {
  auto dir =
      std::filesystem::temp_directory_path() / ("plinth-http-tls-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  ASSERT_TRUE(make_self_signed(dir)) << "openssl command failed";
  ServerOptions options;
  options.tls_certificate_file = (dir / "cert.pem").string();
  options.tls_private_key_file = (dir / "key.pem").string();
  auto server = start_server(echo, options);
  ASSERT_TRUE(server);
  ClientOptions tls;
  tls.tls = true;
  tls.ca_file = options.tls_certificate_file;  // verify against the self-signed cert
  auto h2 = request_h2("127.0.0.1", server->port(), make_request("POST", "/tls", "secret"), tls);
  ASSERT_TRUE(h2.has_value()) << h2.error().message;
  EXPECT_EQ(h2->body, "secret");
  EXPECT_EQ(header_or_empty(*h2, "x-version"), "20");
  EXPECT_EQ(header_or_empty(*h2, "x-secure"), "yes");
  auto h1 = request("127.0.0.1", server->port(), make_request("POST", "/tls", "one"), tls);
  ASSERT_TRUE(h1.has_value()) << h1.error().message;
  EXPECT_EQ(h1->body, "one");
  EXPECT_EQ(header_or_empty(*h1, "x-version"), "11");
  EXPECT_EQ(header_or_empty(*h1, "x-secure"), "yes");
  // Plain HTTP to the TLS port does not get a response.
  ClientOptions plain;
  plain.timeout = 2s;
  EXPECT_FALSE(request("127.0.0.1", server->port(), make_request("GET", "/"), plain).has_value());
  server->stop();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace plinth::http
