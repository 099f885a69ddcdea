// Routes map to the server's classes of work: /health never waits behind model calls, job event
// streams get their own bounded pool.
#include "plinth/api/request_class.h"

#include <gtest/gtest.h>

namespace plinth::api {
namespace {

http::Request make(std::string method, std::string target) {
  http::Request request;
  request.method = std::move(method);
  request.target = std::move(target);
  return request;
}

TEST(RequestClass, HealthAndMetricsAreControl) {
  EXPECT_EQ(classify_request(make("GET", "/health")), http::RequestClass::kControl);
  EXPECT_EQ(classify_request(make("GET", "/ping")), http::RequestClass::kControl);
  EXPECT_EQ(classify_request(make("GET", "/metrics?x=1")), http::RequestClass::kControl);
}

TEST(RequestClass, JobEventStreamsAreLongLived) {
  EXPECT_EQ(classify_request(make("GET", "/v1/jobs/job-1/events")), http::RequestClass::kLongLived);
  EXPECT_EQ(classify_request(make("POST", "/v1/jobs/job-1/events")), http::RequestClass::kOrdinary);
  EXPECT_EQ(classify_request(make("GET", "/v1/jobs/a/b/events")), http::RequestClass::kOrdinary);
  EXPECT_EQ(classify_request(make("GET", "/v1/jobs//events")), http::RequestClass::kOrdinary);
}

TEST(RequestClass, ModelCallsAreOrdinary) {
  EXPECT_EQ(classify_request(make("POST", "/model/m/converse")), http::RequestClass::kOrdinary);
  EXPECT_EQ(classify_request(make("POST", "/model/m/converse-stream")),
            http::RequestClass::kOrdinary);
  EXPECT_EQ(classify_request(make("GET", "/v1/jobs/j")), http::RequestClass::kOrdinary);
}

}  // namespace
}  // namespace plinth::api
