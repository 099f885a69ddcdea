// One message of an AWS event stream before framing: its event (or exception) type and payload.
#pragma once

#include <string>

namespace plinth::api {

struct StreamEvent {
  enum class Kind { kEvent, kException } kind = Kind::kEvent;
  // ":event-type" for events, ":exception-type" for exceptions ("contentBlockDelta", "chunk",
  // "modelStreamErrorException", ...).
  std::string type;
  std::string payload_json;  // ":content-type" is always application/json
};

}  // namespace plinth::api
