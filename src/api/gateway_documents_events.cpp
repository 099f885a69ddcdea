// GET /v1/jobs/{id}/events: a job's event log as Server-Sent Events, resumable with Last-Event-ID.
#include <boost/json.hpp>
#include <charconv>

#include "gateway_internal.h"
#include "plinth/documents/document_service.h"
#include "plinth/http/sse.h"

namespace plinth::api {
namespace {

// How long one read waits for new events; a heartbeat comment follows each empty wait, and the
// client's departure is noticed between reads.
constexpr std::chrono::milliseconds kPollWait{2'000};

int64_t resume_after(const http::Request& request) {
  const std::string* last = request.header("last-event-id");
  if (last == nullptr) return 0;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(last->data(), last->data() + last->size(), value);
  return ec == std::errc() && ptr == last->data() + last->size() && value > 0 ? value : 0;
}

}  // namespace

void Gateway::stream_job_events(Call& call, const std::string& account, const std::string& job_id) {
  documents::DocumentService& service = *services_.documents;
  int64_t after = resume_after(call.request);
  // The first read answers a plain 404 for an unknown (or another account's) job.
  auto read = service.job_events(account, job_id, after, std::chrono::milliseconds(0));
  if (!read) {
    call.respond_error(read.error());
    return;
  }
  // GetJob lets the caller follow the job; the events that carry the document itself (its view,
  // the analysis as it is written) also take GetDocument on that document, else they go out
  // without their data (job.succeeded keeps only the document id, analysis deltas are left out).
  std::string document_arn =
      "arn:aws:plinth:" + options_.region + ":" + account + ":document/" + read->document_id;
  auth::RequestContext context{options_.region, call.request.secure, services_.clock.now(),
                               call.request.remote_address};
  bool may_read_document = auth::authorize(*call.principal, "plinth:GetDocument", document_arn,
                                           context) == auth::Decision::kAllow;
  std::string document_id = read->document_id;
  LazyStream out(call.exchange, "text/event-stream", call.request_id);
  if (!out.write(http::format_sse_comment("job " + job_id))) return;
  while (true) {
    for (const jobs::JobEvent& event : read->events) {
      after = std::max(after, event.sequence);
      http::SseEvent sse{event.type, std::to_string(event.sequence), event.data};
      if (!may_read_document && documents::carries_document_data(event.type)) {
        if (event.type != "job.succeeded") continue;
        sse.data = boost::json::serialize(boost::json::object{{"documentId", document_id}});
      }
      if (!out.write(http::format_sse(sse))) return;
    }
    if (read->finished) break;
    if (read->events.empty() && !out.write(http::format_sse_comment("heartbeat"))) return;
    if (call.exchange.client_gone()) return;
    read = service.job_events(account, job_id, after, kPollWait);
    if (!read) {
      http::SseEvent error{
          "error", "",
          boost::json::serialize(boost::json::object{{"error", read.error().message}})};
      out.write(http::format_sse(error));
      break;
    }
  }
  out.finish();
}

}  // namespace plinth::api
