// TextStream: stop-sequence matching on text and streaming of safe, complete UTF-8 pieces.
#include "model/text_stream.h"

#include <algorithm>

namespace plinth::engine {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of a valid UTF-8 sequence starting at lead byte b (0: not a lead byte), and the range
// its second byte must fall in (excluding overlongs and surrogates, as Unicode requires).
size_t sequence_length(unsigned char b, unsigned char& lo, unsigned char& hi) {
  lo = 0x80;
  hi = 0xBF;
  if (b < 0x80) return 1;
  if (b >= 0xC2 && b <= 0xDF) return 2;
  if (b >= 0xE0 && b <= 0xEF) {
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    return 3;
  }
  if (b >= 0xF0 && b <= 0xF4) {
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    return 4;
  }
  return 0;
}

}  // namespace

size_t append_valid_utf8(std::string_view bytes, std::string& out) {
  size_t i = 0;
  while (i < bytes.size()) {
    unsigned char lo, hi;
    const size_t n = sequence_length(static_cast<unsigned char>(bytes[i]), lo, hi);
    if (n == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < i + n && j < bytes.size()) {
      const auto c = static_cast<unsigned char>(bytes[j]);
      if (c < (j == i + 1 ? lo : 0x80) || c > (j == i + 1 ? hi : 0xBF)) break;
      ++j;
    }
    if (j == i + n) {
      out.append(bytes.substr(i, n));
    } else if (j == bytes.size()) {
      return i;  // a valid but unfinished character: wait for more bytes
    } else {
      out.append(kReplacement);  // the maximal invalid subpart becomes one U+FFFD
    }
    i = j;
  }
  return i;
}

TextStream::TextStream(std::vector<std::string> stop_sequences, TextCallback on_text)
    : on_text_(std::move(on_text)) {
  for (auto& s : stop_sequences)
    if (!s.empty()) stops_.push_back(std::move(s));
}

TextStream::Outcome TextStream::emit_until(size_t end) {
  if (end <= emitted_) return Outcome::kContinue;
  const std::string_view piece(text_.data() + emitted_, end - emitted_);
  emitted_ = end;
  if (on_text_ && !on_text_(piece)) return Outcome::kCancelled;
  return Outcome::kContinue;
}

TextStream::Outcome TextStream::append(std::string_view bytes) {
  pending_.append(bytes);
  pending_.erase(0, append_valid_utf8(pending_, text_));
  // Earliest stop sequence that ends inside the new bytes.
  size_t match = std::string::npos;
  for (const std::string& stop : stops_) {
    const size_t from = searched_ >= stop.size() ? searched_ - stop.size() + 1 : 0;
    const size_t at = text_.find(stop, from);
    if (at != std::string::npos && (match == std::string::npos || at < match)) {
      match = at;
      matched_stop_ = stop;
    }
  }
  searched_ = text_.size();
  if (match != std::string::npos) {
    text_.resize(match);
    if (emit_until(std::min(text_.size(), match)) == Outcome::kCancelled)
      return Outcome::kCancelled;
    return Outcome::kStopSequence;
  }
  // Hold back the longest tail that could still grow into a stop sequence.
  size_t hold = 0;
  for (const std::string& stop : stops_) {
    for (size_t len = std::min(stop.size() - 1, text_.size()); len > hold; --len) {
      if (std::string_view(text_).substr(text_.size() - len) ==
          std::string_view(stop).substr(0, len)) {
        hold = len;
        break;
      }
    }
  }
  return emit_until(text_.size() - hold);
}

TextStream::Outcome TextStream::finish() {
  if (!pending_.empty()) text_.append(kReplacement);  // a character cut off by the end
  pending_.clear();
  return emit_until(text_.size());
}

}  // namespace plinth::engine
