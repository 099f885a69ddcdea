// Route → class of work for the http server's separate pools (see request_class.h).
#include "plinth/api/request_class.h"

namespace plinth::api {

http::RequestClass classify_request(const http::Request& request) {
  std::string_view path = request.path();
  if (path == "/health" || path == "/ping" || path == "/metrics") {
    return http::RequestClass::kControl;
  }
  // A job's event stream stays open until the job ends: minutes, mostly idle.
  constexpr std::string_view kJobs = "/v1/jobs/";
  constexpr std::string_view kEvents = "/events";
  if (request.method == "GET" && path.starts_with(kJobs) && path.ends_with(kEvents) &&
      path.size() > kJobs.size() + kEvents.size() &&
      path.substr(kJobs.size(), path.size() - kJobs.size() - kEvents.size()).find('/') ==
          std::string_view::npos) {
    return http::RequestClass::kLongLived;
  }
  return http::RequestClass::kOrdinary;
}

}  // namespace plinth::api
