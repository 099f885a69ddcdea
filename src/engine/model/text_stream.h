// TextStream: generated text with stop sequences, held-back prefixes and valid UTF-8 pieces.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plinth/engine/engine.h"

namespace plinth::engine {

class TextStream {
 public:
  enum class Outcome { kContinue, kStopSequence, kCancelled };

  TextStream(std::vector<std::string> stop_sequences, TextCallback on_text);

  // Adds a token's bytes. The text is always valid UTF-8: a character split across tokens waits
  // for its end, invalid bytes become U+FFFD (JSON APIs need valid strings). Emits (through
  // on_text) all text that can no longer be part of a stop sequence. On a stop sequence the text
  // ends before it.
  Outcome append(std::string_view bytes);
  // End of generation: emits what was held back. kCancelled when the callback refused it.
  Outcome finish();

  const std::string& text() const { return text_; }
  const std::string& matched_stop() const { return matched_stop_; }

 private:
  Outcome emit_until(size_t end);

  std::vector<std::string> stops_;
  TextCallback on_text_;
  std::string text_;     // valid UTF-8
  std::string pending_;  // bytes of an unfinished character
  std::string matched_stop_;
  size_t emitted_ = 0;   // bytes of text_ already passed to on_text
  size_t searched_ = 0;  // text_ before this was already searched for complete stop sequences
};

// Appends the valid UTF-8 in `bytes` to out, each invalid sequence as U+FFFD, and returns how many
// bytes it consumed: an unfinished character at the end is left for the next call.
size_t append_valid_utf8(std::string_view bytes, std::string& out);

}  // namespace plinth::engine
