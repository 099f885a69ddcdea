// AWS event-stream framing: CRC32, message encoding and the incremental decoder.
#include "plinth/http/event_stream.h"

#include <array>

namespace plinth::http {
namespace {

constexpr size_t kPreludeBytes = 12;  // total length, headers length, prelude CRC
constexpr size_t kMinMessageBytes = kPreludeBytes + 4;

constexpr std::array<uint32_t, 256> make_crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = make_crc_table();

void put_be(std::string& out, uint64_t value, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint64_t get_be(std::string_view in, size_t offset, int bytes) {
  uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | static_cast<uint8_t>(in[offset + i]);
  return value;
}

int64_t sign_extend(uint64_t value, int bytes) {
  if (bytes == 8) return static_cast<int64_t>(value);
  uint64_t sign = uint64_t{1} << (8 * bytes - 1);
  return static_cast<int64_t>((value ^ sign) - sign);
}

void encode_header(std::string& out, const EventHeader& header) {
  using Type = EventHeaderValue::Type;
  std::string_view name = std::string_view(header.name).substr(0, 255);
  out.push_back(static_cast<char>(name.size()));
  out.append(name);
  const EventHeaderValue& v = header.value;
  out.push_back(static_cast<char>(v.type));
  switch (v.type) {
    case Type::kBoolTrue:
    case Type::kBoolFalse:
      break;
    case Type::kByte:
      put_be(out, static_cast<uint64_t>(v.integer), 1);
      break;
    case Type::kShort:
      put_be(out, static_cast<uint64_t>(v.integer), 2);
      break;
    case Type::kInt:
      put_be(out, static_cast<uint64_t>(v.integer), 4);
      break;
    case Type::kLong:
    case Type::kTimestamp:
      put_be(out, static_cast<uint64_t>(v.integer), 8);
      break;
    case Type::kBytes:
    case Type::kString: {
      std::string_view value = std::string_view(v.bytes).substr(0, 0xFFFF);
      put_be(out, value.size(), 2);
      out.append(value);
      break;
    }
    case Type::kUuid: {
      std::string uuid = v.bytes.substr(0, 16);
      uuid.resize(16, '\0');
      out.append(uuid);
      break;
    }
  }
}

// Parses the headers section [begin, end) of a message already checked for CRCs.
Result<std::vector<EventHeader>> decode_headers(std::string_view in) {
  using Type = EventHeaderValue::Type;
  std::vector<EventHeader> headers;
  size_t pos = 0;
  auto corrupt = [](const char* what) {
    return fail(ErrorCode::kCorruptData, std::string("event-stream: ") + what);
  };
  while (pos < in.size()) {
    size_t name_length = static_cast<uint8_t>(in[pos++]);
    if (name_length == 0 || pos + name_length + 1 > in.size()) return corrupt("bad header name");
    EventHeader header;
    header.name.assign(in.substr(pos, name_length));
    pos += name_length;
    uint8_t tag = static_cast<uint8_t>(in[pos++]);
    if (tag > 9) return corrupt("unknown header value type");
    header.value.type = static_cast<Type>(tag);
    auto fixed = [&](int bytes) -> bool {
      if (pos + bytes > in.size()) return false;
      header.value.integer = sign_extend(get_be(in, pos, bytes), bytes);
      pos += bytes;
      return true;
    };
    bool ok = true;
    switch (header.value.type) {
      case Type::kBoolTrue:
      case Type::kBoolFalse:
        break;
      case Type::kByte:
        ok = fixed(1);
        break;
      case Type::kShort:
        ok = fixed(2);
        break;
      case Type::kInt:
        ok = fixed(4);
        break;
      case Type::kLong:
      case Type::kTimestamp:
        ok = fixed(8);
        break;
      case Type::kBytes:
      case Type::kString: {
        if (pos + 2 > in.size()) return corrupt("truncated header value");
        size_t length = get_be(in, pos, 2);
        pos += 2;
        if (pos + length > in.size()) return corrupt("truncated header value");
        header.value.bytes.assign(in.substr(pos, length));
        pos += length;
        break;
      }
      case Type::kUuid:
        if (pos + 16 > in.size()) return corrupt("truncated uuid");
        header.value.bytes.assign(in.substr(pos, 16));
        pos += 16;
        break;
    }
    if (!ok) return corrupt("truncated header value");
    headers.push_back(std::move(header));
  }
  return headers;
}

}  // namespace

uint32_t crc32(std::string_view bytes, uint32_t crc) {
  crc = ~crc;
  for (char ch : bytes) crc = kCrcTable[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

EventHeaderValue EventHeaderValue::string(std::string value) {
  EventHeaderValue v;
  v.type = Type::kString;
  v.bytes = std::move(value);
  return v;
}

const std::string* EventMessage::header(std::string_view name) const {
  for (const EventHeader& h : headers) {
    if (h.name == name) {
      return h.value.type == EventHeaderValue::Type::kString ? &h.value.bytes : nullptr;
    }
  }
  return nullptr;
}

std::string encode_event_message(const EventMessage& message) {
  std::string headers;
  for (const EventHeader& header : message.headers) encode_header(headers, header);
  size_t total = kPreludeBytes + headers.size() + message.payload.size() + 4;
  std::string out;
  out.reserve(total);
  put_be(out, total, 4);
  put_be(out, headers.size(), 4);
  put_be(out, crc32(out), 4);
  out += headers;
  out += message.payload;
  put_be(out, crc32(out), 4);
  return out;
}

std::string encode_event(std::string_view event_type, std::string_view json_payload) {
  EventMessage message;
  message.headers = {
      {":event-type", EventHeaderValue::string(std::string(event_type))},
      {":content-type", EventHeaderValue::string("application/json")},
      {":message-type", EventHeaderValue::string("event")},
  };
  message.payload.assign(json_payload);
  return encode_event_message(message);
}

std::string encode_exception(std::string_view exception_type, std::string_view json_payload) {
  EventMessage message;
  message.headers = {
      {":exception-type", EventHeaderValue::string(std::string(exception_type))},
      {":content-type", EventHeaderValue::string("application/json")},
      {":message-type", EventHeaderValue::string("exception")},
  };
  message.payload.assign(json_payload);
  return encode_event_message(message);
}

void EventStreamDecoder::feed(std::string_view bytes) {
  // Drop consumed bytes before growing, so a long stream does not accumulate.
  if (consumed_ > 0 && consumed_ >= buffer_.size() / 2) {
    buffer_.erase(0, consumed_);
    consumed_ = 0;
  }
  buffer_.append(bytes);
}

Result<std::optional<EventMessage>> EventStreamDecoder::next() {
  if (failure_) return std::unexpected(*failure_);
  std::string_view available = std::string_view(buffer_).substr(consumed_);
  if (available.size() < kPreludeBytes) return std::optional<EventMessage>();
  auto corrupt = [this](std::string message) {
    failure_ = Error(ErrorCode::kCorruptData, "event-stream: " + message);
    return std::unexpected(*failure_);
  };
  size_t total = get_be(available, 0, 4);
  size_t headers_length = get_be(available, 4, 4);
  uint32_t prelude_crc = static_cast<uint32_t>(get_be(available, 8, 4));
  if (crc32(available.substr(0, 8)) != prelude_crc) return corrupt("prelude CRC mismatch");
  if (total < kMinMessageBytes || total > kMaxEventMessageBytes) {
    return corrupt("message length " + std::to_string(total) + " out of range");
  }
  if (headers_length > total - kMinMessageBytes) return corrupt("headers length out of range");
  if (available.size() < total) return std::optional<EventMessage>();
  std::string_view message = available.substr(0, total);
  uint32_t message_crc = static_cast<uint32_t>(get_be(message, total - 4, 4));
  if (crc32(message.substr(0, total - 4)) != message_crc) return corrupt("message CRC mismatch");
  auto headers = decode_headers(message.substr(kPreludeBytes, headers_length));
  if (!headers) return corrupt(headers.error().message);
  EventMessage decoded;
  decoded.headers = std::move(*headers);
  decoded.payload.assign(
      message.substr(kPreludeBytes + headers_length, total - kMinMessageBytes - headers_length));
  consumed_ += total;
  return std::optional<EventMessage>(std::move(decoded));
}

Result<std::vector<EventMessage>> decode_event_messages(std::string_view bytes) {
  EventStreamDecoder decoder;
  decoder.feed(bytes);
  std::vector<EventMessage> messages;
  while (true) {
    auto next = decoder.next();
    if (!next) return std::unexpected(next.error());
    if (!next->has_value()) break;
    messages.push_back(std::move(**next));
  }
  if (decoder.pending_bytes() != 0) {
    return fail(ErrorCode::kCorruptData, "event-stream: truncated message at end of input");
  }
  return messages;
}

}  // namespace plinth::http
