// GET /console: the web console's embedded files, with their types and security headers, served
// without credentials while the data APIs behind them stay signed.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gateway_test_support.h"
#include "plinth/api/gateway.h"

namespace plinth::api {
namespace {

namespace fs = std::filesystem;
using namespace plinth::api::testing;

// The asset sources, found from the test data dir (tests/data) of the same source tree.
std::string source_file(std::string_view name) {
  fs::path path = fs::path(PLINTH_TEST_DATA_DIR) / ".." / ".." / "src" / "api" / "console" / name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << path;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

http::Request get(std::string target, std::string method = "GET") {
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  request.headers = {{"host", "127.0.0.1:4000"}};
  return request;
}

class GatewayConsoleTest : public ::testing::Test {
 protected:
  GatewayConsoleTest() {
    Config config;
    ModelConfig model;
    model.id = "anthropic.claude-3-haiku-20240307-v1:0";
    config.models = {model};
    catalog_ = *catalog::Catalog::from_config(config);
    gateway_ = std::make_unique<Gateway>(
        GatewayOptions{}, GatewayServices{authenticator_, *clock_, *random_, catalog_, provider_});
  }

  FakeExchange call(const http::Request& request) {
    FakeExchange exchange;
    gateway_->handle(request, exchange);
    return exchange;
  }

  std::shared_ptr<FakeCredentials> credentials_ = std::make_shared<FakeCredentials>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  std::shared_ptr<Random> random_ = Random::seeded(5);
  auth::Authenticator authenticator_{credentials_, clock_, credentials_};
  catalog::Catalog catalog_;
  FakeProvider provider_;
  std::unique_ptr<Gateway> gateway_;
};

TEST_F(GatewayConsoleTest, ServesThePageAtConsoleWithStrictSecurityHeaders) {
  std::string page = source_file("index.html");
  for (std::string target : {"/console", "/console/", "/console/index.html"}) {
    FakeExchange exchange = call(get(target));
    ASSERT_TRUE(exchange.response) << target;
    EXPECT_EQ(exchange.response->status, 200) << target;
    EXPECT_EQ(exchange.header("content-type"), "text/html; charset=utf-8");
    EXPECT_EQ(exchange.response->body, page) << target;
    std::string csp = exchange.header("content-security-policy");
    EXPECT_TRUE(csp.starts_with("default-src 'self';")) << csp;
    EXPECT_NE(csp.find("script-src 'self';"), std::string::npos) << csp;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
    EXPECT_EQ(csp.find("unsafe"), std::string::npos) << csp;
    EXPECT_EQ(exchange.header("x-content-type-options"), "nosniff");
    EXPECT_EQ(exchange.header("x-frame-options"), "DENY");
    EXPECT_EQ(exchange.header("cache-control"), "no-cache");
    EXPECT_FALSE(exchange.header("etag").empty());
  }
}

TEST_F(GatewayConsoleTest, ServesTheScriptAndStylesheetByteForByteWithTheirTypes) {
  FakeExchange script = call(get("/console/console.js"));
  ASSERT_TRUE(script.response);
  EXPECT_EQ(script.response->status, 200);
  EXPECT_EQ(script.header("content-type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(script.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(script.response->body, source_file("console.js"));
  FakeExchange style = call(get("/console/console.css"));
  ASSERT_TRUE(style.response);
  EXPECT_EQ(style.header("content-type"), "text/css; charset=utf-8");
  EXPECT_EQ(style.response->body, source_file("console.css"));
  EXPECT_NE(script.header("etag"), style.header("etag"));
}

TEST_F(GatewayConsoleTest, AnswersNotModifiedWhenTheETagMatches) {
  std::string etag = call(get("/console/console.js")).header("etag");
  http::Request again = get("/console/console.js");
  again.headers.push_back({"if-none-match", etag});
  FakeExchange exchange = call(again);
  ASSERT_TRUE(exchange.response);
  EXPECT_EQ(exchange.response->status, 304);
  EXPECT_TRUE(exchange.response->body.empty());
  again.headers.back().value = "\"stale\"";
  EXPECT_EQ(call(again).response->status, 200);
}

TEST_F(GatewayConsoleTest, UnknownFilesAndOtherMethodsAreRefused) {
  for (std::string target : {"/console/secret.txt", "/console/../README.md",
                             "/console/%2e%2e/README.md", "/console/console.js/x", "/consolex"}) {
    FakeExchange exchange = call(get(target));
    ASSERT_TRUE(exchange.response) << target;
    EXPECT_EQ(exchange.response->status, 404) << target;
  }
  FakeExchange post = call(get("/console", "POST"));
  ASSERT_TRUE(post.response);
  EXPECT_EQ(post.response->status, 405);
  EXPECT_EQ(post.header("allow"), "GET, HEAD");
}

TEST_F(GatewayConsoleTest, DataApisStaySignedWhileThePageIsPublic) {
  EXPECT_EQ(call(get("/console")).response->status, 200);
  for (std::string target : {"/v1/usage", "/v1/usage/recent", "/v1/usage/series"}) {
    FakeExchange exchange = call(get(target));
    ASSERT_TRUE(exchange.response) << target;
    EXPECT_GE(exchange.response->status, 400) << target;
    EXPECT_LT(exchange.response->status, 500) << target;
  }
}

TEST_F(GatewayConsoleTest, PageLoadsOnlySameOriginFilesAndNoInlineCode) {
  std::string page = source_file("index.html");
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script>"), std::string::npos);  // every script has a src
  EXPECT_EQ(page.find("style="), std::string::npos);
  EXPECT_EQ(page.find("<style"), std::string::npos);
  EXPECT_NE(page.find(R"(src="/console/console.js")"), std::string::npos);
  EXPECT_NE(page.find(R"(href="/console/console.css")"), std::string::npos);
}

}  // namespace
}  // namespace plinth::api
