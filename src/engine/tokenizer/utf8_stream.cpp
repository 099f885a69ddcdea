// Utf8Stream: finds where the last complete UTF-8 character ends.
#include "tokenizer/utf8_stream.h"

#include "tokenizer/unicode.h"

namespace plinth::engine {

std::string Utf8Stream::push(std::string_view bytes) {
  pending_.append(bytes);
  // Look back at most three bytes for the lead byte of the last sequence.
  size_t keep_from = pending_.size();
  const size_t lookback = std::min<size_t>(pending_.size(), 3);
  for (size_t back = 1; back <= lookback; ++back) {
    const size_t pos = pending_.size() - back;
    const auto b = static_cast<uint8_t>(pending_[pos]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    if (b >= 0xC0 && utf8_sequence_length(b) > back) keep_from = pos;  // sequence not finished
    break;
  }
  std::string ready = pending_.substr(0, keep_from);
  pending_.erase(0, keep_from);
  return ready;
}

std::string Utf8Stream::flush() {
  std::string rest = std::move(pending_);
  pending_.clear();
  return rest;
}

}  // namespace plinth::engine
