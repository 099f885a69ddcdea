// Fuzzes AWS event-stream decoding: whole-buffer and incremental, and re-encoding what decodes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "plinth/http/event_stream.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto whole = plinth::http::decode_event_messages(input);
  // Incremental decoding in odd-sized pieces must agree with the whole-buffer decoder.
  plinth::http::EventStreamDecoder decoder;
  size_t step = 1 + size % 13;
  size_t decoded = 0;
  bool failed = false;
  for (size_t at = 0; at < size && !failed; at += step) {
    decoder.feed(input.substr(at, step));
    while (true) {
      auto next = decoder.next();
      if (!next) {
        failed = true;
        break;
      }
      if (!*next) break;
      ++decoded;
    }
  }
  if (whole) {
    if (failed || decoded != whole->size()) std::abort();
    // What decodes survives encoding and decoding again unchanged.
    std::string again;
    for (const auto& message : *whole) again += plinth::http::encode_event_message(message);
    auto round = plinth::http::decode_event_messages(again);
    if (!round || round->size() != whole->size()) std::abort();
    for (size_t i = 0; i < whole->size(); ++i) {
      const auto& a = (*whole)[i];
      const auto& b = (*round)[i];
      if (a.payload != b.payload || a.headers.size() != b.headers.size()) std::abort();
      for (size_t h = 0; h < a.headers.size(); ++h) {
        if (a.headers[h].name != b.headers[h].name ||
            a.headers[h].value.type != b.headers[h].value.type ||
            a.headers[h].value.bytes != b.headers[h].value.bytes ||
            a.headers[h].value.integer != b.headers[h].value.integer) {
          std::abort();
        }
      }
    }
  }
  return 0;
}
