// AWS event-stream framing: encoding, incremental decoding, CRC and length checks.
#include "plinth/http/event_stream.h"

#include <gtest/gtest.h>

namespace plinth::http {
namespace {

uint32_t read_be32(const std::string& bytes, size_t offset) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(bytes[offset + i]);
  return v;
}

TEST(EventStream, Crc32MatchesTheZlibCheckValue) {
  EXPECT_EQ(crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32(""), 0u);
  // Incremental continuation equals the one-shot value.
  EXPECT_EQ(crc32("6789", crc32("12345")), 0xCBF43926u);
}

TEST(EventStream, EncodesPreludeLengthsAndCrcs) {
  std::string wire = encode_event("chunk", "{\"bytes\":\"eA==\"}");
  ASSERT_GE(wire.size(), 16u);
  EXPECT_EQ(read_be32(wire, 0), wire.size());
  EXPECT_EQ(read_be32(wire, 8), crc32(std::string_view(wire).substr(0, 8)));
  EXPECT_EQ(read_be32(wire, wire.size() - 4),
            crc32(std::string_view(wire).substr(0, wire.size() - 4)));
  size_t headers_length = read_be32(wire, 4);
  EXPECT_EQ(wire.size() - 16 - headers_length, std::string("{\"bytes\":\"eA==\"}").size());
}

TEST(EventStream, MatchesTheAwsReferenceEncodingOfAnEmptyMessage) {
  // The smallest message: no headers, no payload (from the AWS event-stream test vectors).
  std::string wire = encode_event_message({});
  const unsigned char expected[] = {0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
                                    0x05, 0xc2, 0x48, 0xeb, 0x7d, 0x98, 0xc8, 0xff};
  EXPECT_EQ(wire, std::string(reinterpret_cast<const char*>(expected), sizeof(expected)));
}

TEST(EventStream, RoundTripsEventAndExceptionHelpers) {
  std::string wire = encode_event("contentBlockDelta", R"({"delta":{"text":"hi"}})") +
                     encode_exception("throttlingException", R"({"message":"slow down"})");
  auto messages = decode_event_messages(wire);
  ASSERT_TRUE(messages.has_value()) << messages.error().message;
  ASSERT_EQ(messages->size(), 2u);
  const EventMessage& event = (*messages)[0];
  ASSERT_NE(event.header(":event-type"), nullptr);
  EXPECT_EQ(*event.header(":event-type"), "contentBlockDelta");
  EXPECT_EQ(*event.header(":content-type"), "application/json");
  EXPECT_EQ(*event.header(":message-type"), "event");
  EXPECT_EQ(event.payload, R"({"delta":{"text":"hi"}})");
  const EventMessage& exception = (*messages)[1];
  EXPECT_EQ(*exception.header(":message-type"), "exception");
  EXPECT_EQ(*exception.header(":exception-type"), "throttlingException");
  EXPECT_EQ(exception.header(":event-type"), nullptr);
}

TEST(EventStream, RoundTripsEveryHeaderValueType) {
  using Type = EventHeaderValue::Type;
  EventMessage message;
  auto add = [&](std::string name, Type type, int64_t integer, std::string bytes = {}) {
    EventHeaderValue v;
    v.type = type;
    v.integer = integer;
    v.bytes = std::move(bytes);
    message.headers.push_back({std::move(name), v});
  };
  add("t", Type::kBoolTrue, 0);
  add("f", Type::kBoolFalse, 0);
  add("byte", Type::kByte, -5);
  add("short", Type::kShort, -1234);
  add("int", Type::kInt, 123456789);
  add("long", Type::kLong, -9876543210LL);
  add("bytes", Type::kBytes, 0, std::string("\x00\x01\xff", 3));
  add("ts", Type::kTimestamp, 1700000000123LL);
  add("uuid", Type::kUuid, 0, std::string(16, '\x42'));
  message.payload = "payload";
  auto decoded = decode_event_messages(encode_event_message(message));
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  const auto& headers = (*decoded)[0].headers;
  ASSERT_EQ(headers.size(), message.headers.size());
  for (size_t i = 0; i < headers.size(); ++i) {
    EXPECT_EQ(headers[i].name, message.headers[i].name);
    EXPECT_EQ(headers[i].value.type, message.headers[i].value.type) << headers[i].name;
    EXPECT_EQ(headers[i].value.integer, message.headers[i].value.integer) << headers[i].name;
    EXPECT_EQ(headers[i].value.bytes, message.headers[i].value.bytes) << headers[i].name;
  }
  EXPECT_TRUE(headers[0].value.boolean());
  EXPECT_FALSE(headers[1].value.boolean());
}

TEST(EventStream, IncrementalDecoderWaitsForWholeMessages) {
  std::string wire = encode_event("a", "{}") + encode_event("b", "[1,2]");
  EventStreamDecoder decoder;
  std::vector<std::string> types;
  for (char ch : wire) {
    decoder.feed(std::string_view(&ch, 1));
    while (true) {
      auto next = decoder.next();
      ASSERT_TRUE(next.has_value());
      if (!next->has_value()) break;
      types.push_back(*(*next)->header(":event-type"));
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(decoder.pending_bytes(), 0u);
}

TEST(EventStream, RejectsCorruptPayloadCrc) {
  std::string wire = encode_event("chunk", "{\"x\":1}");
  wire[wire.size() - 6] ^= 0x01;  // flip a payload bit
  auto decoded = decode_event_messages(wire);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruptData);
}

TEST(EventStream, RejectsCorruptPreludeCrc) {
  std::string wire = encode_event("chunk", "{}");
  wire[3] ^= 0x02;  // total length changed, prelude CRC now wrong
  EventStreamDecoder decoder;
  decoder.feed(wire);
  EXPECT_FALSE(decoder.next().has_value());
  // The decoder stays failed.
  decoder.feed(encode_event("ok", "{}"));
  EXPECT_FALSE(decoder.next().has_value());
}

TEST(EventStream, RejectsAbsurdLengthsEvenWithValidPreludeCrc) {
  std::string prelude;
  auto put32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; --i) prelude.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  put32(0x7FFFFFFF);
  put32(0);
  put32(crc32(prelude));
  EventStreamDecoder decoder;
  decoder.feed(prelude);
  auto next = decoder.next();
  ASSERT_FALSE(next.has_value());
  EXPECT_NE(next.error().message.find("out of range"), std::string::npos);
}

TEST(EventStream, ReportsTruncatedInput) {
  std::string wire = encode_event("chunk", "{\"x\":1}");
  auto decoded = decode_event_messages(std::string_view(wire).substr(0, wire.size() - 3));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_NE(decoded.error().message.find("truncated"), std::string::npos);
}

TEST(EventStream, RejectsHeadersLengthBeyondMessage) {
  EventMessage message;
  message.payload = "abc";
  std::string wire = encode_event_message(message);
  // Claim 3 bytes of headers (the payload), then fix both CRCs so only the headers are bad.
  wire[7] = 3;
  auto fix = [&](size_t at, std::string_view covered) {
    uint32_t c = crc32(covered);
    for (int i = 0; i < 4; ++i) wire[at + i] = static_cast<char>((c >> (8 * (3 - i))) & 0xFF);
  };
  fix(8, std::string_view(wire).substr(0, 8));
  fix(wire.size() - 4, std::string_view(wire).substr(0, wire.size() - 4));
  auto decoded = decode_event_messages(wire);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kCorruptData);
}

}  // namespace
}  // namespace plinth::http
