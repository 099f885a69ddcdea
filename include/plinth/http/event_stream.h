// AWS binary event-stream framing (application/vnd.amazon.eventstream): encoder and decoder.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::http {

// A header value of any of the event-stream value types. Type tags on the wire:
// 0 true, 1 false, 2 byte, 3 short, 4 int, 5 long, 6 bytes, 7 string, 8 timestamp, 9 uuid.
struct EventHeaderValue {
  enum class Type : uint8_t {
    kBoolTrue = 0,
    kBoolFalse = 1,
    kByte = 2,
    kShort = 3,
    kInt = 4,
    kLong = 5,
    kBytes = 6,
    kString = 7,
    kTimestamp = 8,  // milliseconds since the epoch
    kUuid = 9,       // 16 raw bytes in `bytes`
  };
  Type type = Type::kString;
  int64_t integer = 0;  // byte, short, int, long, timestamp
  std::string bytes;    // bytes, string, uuid

  static EventHeaderValue string(std::string value);
  bool boolean() const { return type == Type::kBoolTrue; }
};

struct EventHeader {
  std::string name;
  EventHeaderValue value;
};

struct EventMessage {
  std::vector<EventHeader> headers;
  std::string payload;

  // The string value of the first header with this name, or nullptr (also for non-string types).
  const std::string* header(std::string_view name) const;
};

// Largest message the decoder accepts (the AWS limit is 16 MiB of payload).
inline constexpr size_t kMaxEventMessageBytes = 24u << 20;

// IEEE/zlib CRC32 of bytes, continuing from `crc` (0 to start).
uint32_t crc32(std::string_view bytes, uint32_t crc = 0);

// Encodes one message: prelude (total length, headers length, prelude CRC), headers, payload,
// message CRC; all big-endian.
std::string encode_event_message(const EventMessage& message);

// :event-type, :content-type: application/json, :message-type: event.
std::string encode_event(std::string_view event_type, std::string_view json_payload);
// :exception-type, :content-type: application/json, :message-type: exception.
std::string encode_exception(std::string_view exception_type, std::string_view json_payload);

// Incremental decoder: feed bytes as they arrive, take complete messages out. After a corrupt
// message (bad CRC, absurd length, malformed header) every later call fails too.
class EventStreamDecoder {
 public:
  void feed(std::string_view bytes);
  // The next complete message, nullopt when more bytes are needed, or an error (kCorruptData).
  Result<std::optional<EventMessage>> next();
  // Bytes received but not yet part of a complete message (non-zero at end = truncated input).
  size_t pending_bytes() const { return buffer_.size() - consumed_; }

 private:
  std::string buffer_;
  size_t consumed_ = 0;
  std::optional<Error> failure_;
};

// Decodes a whole buffer holding zero or more complete messages; truncated input is an error.
Result<std::vector<EventMessage>> decode_event_messages(std::string_view bytes);

}  // namespace plinth::http
