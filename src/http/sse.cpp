// Server-Sent Events: formatting events for text/event-stream and parsing them back.
#include "plinth/http/sse.h"

namespace plinth::http {
namespace {

// Calls emit(line) for each line of text; \r\n, \r and \n all end a line.
template <typename Emit>
void for_each_line(std::string_view text, Emit emit) {
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n' || text[i] == '\r') {
      emit(text.substr(start, i - start));
      if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      start = i + 1;
    }
  }
  emit(text.substr(start));
}

void append_single_line_field(std::string& out, std::string_view field, std::string_view value) {
  out += field;
  out += ": ";
  for (char ch : value) {
    if (ch != '\n' && ch != '\r') out.push_back(ch);
  }
  out.push_back('\n');
}

}  // namespace

std::string format_sse(const SseEvent& event) {
  std::string out;
  out.reserve(event.data.size() + event.event.size() + event.id.size() + 24);
  if (!event.event.empty()) append_single_line_field(out, "event", event.event);
  if (!event.id.empty()) append_single_line_field(out, "id", event.id);
  for_each_line(event.data, [&out](std::string_view line) {
    out += "data: ";
    out += line;
    out.push_back('\n');
  });
  out.push_back('\n');
  return out;
}

std::string format_sse_data(std::string_view data) {
  SseEvent event;
  event.data.assign(data);
  return format_sse(event);
}

std::string format_sse_comment(std::string_view text) {
  std::string out;
  for_each_line(text, [&out](std::string_view line) {
    out += ": ";
    out += line;
    out.push_back('\n');
  });
  out.push_back('\n');
  return out;
}

std::vector<SseEvent> SseParser::feed(std::string_view bytes) {
  std::vector<SseEvent> events;
  auto process_line = [&](std::string_view line) {
    if (line.empty()) {
      if (has_data_) {
        if (!current_.data.empty() && current_.data.back() == '\n') current_.data.pop_back();
        events.push_back(std::move(current_));
      }
      current_ = SseEvent{};
      has_data_ = false;
      return;
    }
    if (line.front() == ':') return;  // comment
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      current_.data += value;
      current_.data.push_back('\n');
      has_data_ = true;
    } else if (field == "event") {
      current_.event.assign(value);
    } else if (field == "id") {
      current_.id.assign(value);
    }
  };
  for (char ch : bytes) {
    if (pending_cr_) {
      pending_cr_ = false;
      if (ch == '\n') continue;  // the \n of a \r\n pair
    }
    if (ch == '\r' || ch == '\n') {
      pending_cr_ = ch == '\r';
      process_line(line_buffer_);
      line_buffer_.clear();
    } else {
      line_buffer_.push_back(ch);
    }
  }
  return events;
}

}  // namespace plinth::http
