// GET /health: liveness, and with a store attached its database and migration state
// ({"status","storage":{"backend","database","latency_ms","migrations":{domain: version}}}).
#include <boost/json.hpp>

#include "gateway_internal.h"
#include "plinth/core/log.h"
#include "plinth/store/storage_health.h"

namespace plinth::api {

void Gateway::handle_health(Call& call) {
  if (call.request.method != "GET" && call.request.method != "HEAD") {
    call.respond_wire(bedrock_error(AwsErrorType::kValidation, "Use GET for /health."));
    return;
  }
  if (services_.storage == nullptr) {
    call.respond(200, "application/json", R"({"status":"ok"})");
    return;
  }
  store::StorageHealth health = store::check_storage(*services_.storage);
  boost::json::object migrations;
  for (const auto& [domain, version] : health.migrations) migrations[domain] = version;
  boost::json::object storage{{"backend", health.backend},
                              {"database", health.reachable ? "ok" : "unreachable"},
                              {"latency_ms", static_cast<double>(health.latency_us) / 1000.0},
                              {"migrations", std::move(migrations)}};
  if (!health.reachable) {
    // The reason may name hosts: it goes to the log, not to unauthenticated callers.
    log::warn("health: the {} database does not answer: {}", health.backend, health.error);
  }
  // 503 takes a replica that lost its database out of a load balancer's rotation.
  call.respond(
      health.reachable ? 200 : 503, "application/json",
      boost::json::serialize(boost::json::object{
          {"status", health.reachable ? "ok" : "unavailable"}, {"storage", std::move(storage)}}));
}

}  // namespace plinth::api
