// Server-Sent Events (text/event-stream) formatting and parsing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace plinth::http {

struct SseEvent {
  std::string event;  // "" = no event: line (the client sees "message")
  std::string id;     // "" = no id: line
  std::string data;   // may hold several lines; each becomes its own data: line
};

// "event: X\nid: Y\ndata: line1\ndata: line2\n\n". Lines may end in \n, \r\n or \r; an id or
// event name containing line breaks has them removed (they would otherwise forge fields).
std::string format_sse(const SseEvent& event);
// Shorthand for an event with only data (OpenAI streams: "data: {...}\n\n").
std::string format_sse_data(std::string_view data);
// ": text\n\n" — a comment, used as a keep-alive.
std::string format_sse_comment(std::string_view text);

// Incremental parser for a text/event-stream body, used by clients and tests.
class SseParser {
 public:
  // Feeds bytes; returns the events completed by them (dispatched at each blank line).
  std::vector<SseEvent> feed(std::string_view bytes);

 private:
  std::string line_buffer_;
  SseEvent current_;
  bool has_data_ = false;
  bool pending_cr_ = false;
};

}  // namespace plinth::http
