// Fuzzes the bedrock kind's parsers of an upstream's bytes: Converse answers, ConverseStream
// event streams (fed in pieces), error answers and InvokeModel usage. The first byte picks.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "upstream/bedrock_wire.h"

using namespace plinth;
using namespace plinth::upstream;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool structured = data[0] & 0x80;
  switch (data[0] % 4) {
    case 0:
      if (auto r = bedrock::parse_converse_response(rest, structured)) {
        if (r->usage.input_tokens < r->usage.cache_read_input_tokens) __builtin_trap();
      }
      break;
    case 1: {
      bedrock::ConverseStreamReader reader(structured, [](const providers::StreamEvent& e) {
        (void)e.text.size();
        return true;
      });
      size_t piece = 1 + (data[0] >> 2) % 61;
      for (size_t i = 0; i < rest.size(); i += piece) {
        if (!reader.feed(rest.substr(i, piece))) break;
      }
      (void)reader.finish();
      break;
    }
    case 2: {
      http::Response response;
      response.status = 400 + data[0] % 200;
      response.body = std::string(rest);
      (void)bedrock::error_from_response("fuzz", response);
      break;
    }
    default:
      (void)bedrock::usage_from_json(rest);
      break;
  }
  return 0;
}
