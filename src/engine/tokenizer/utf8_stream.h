// Utf8Stream: joins token bytes for streaming, holding back an incomplete UTF-8 sequence until
// the token that completes it arrives.
#pragma once

#include <string>
#include <string_view>

namespace plinth::engine {

class Utf8Stream {
 public:
  // Appends bytes; returns the longest prefix of everything pending that ends on a character
  // boundary. Invalid bytes are passed through as they are (they can never become valid).
  std::string push(std::string_view bytes);
  // Whatever is still held back (an incomplete tail at the end of generation).
  std::string flush();
  bool has_pending() const { return !pending_.empty(); }

 private:
  std::string pending_;
};

}  // namespace plinth::engine
