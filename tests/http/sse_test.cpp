// Server-Sent Events formatting and parsing.
#include "plinth/http/sse.h"

#include <gtest/gtest.h>

namespace plinth::http {
namespace {

TEST(Sse, FormatsEventIdAndSingleLineData) {
  EXPECT_EQ(format_sse({.event = "delta", .id = "7", .data = "{\"a\":1}"}),
            "event: delta\nid: 7\ndata: {\"a\":1}\n\n");
}

TEST(Sse, SplitsMultiLineDataOnEveryLineEnding) {
  EXPECT_EQ(format_sse_data("one\ntwo\r\nthree\rfour"),
            "data: one\ndata: two\ndata: three\ndata: four\n\n");
}

TEST(Sse, KeepsTrailingEmptyLineOfData) {
  EXPECT_EQ(format_sse_data("end\n"), "data: end\ndata: \n\n");
}

TEST(Sse, StripsLineBreaksFromEventNameAndId) {
  EXPECT_EQ(format_sse({.event = "a\nb", .id = "1\r2", .data = "x"}),
            "event: ab\nid: 12\ndata: x\n\n");
}

TEST(Sse, FormatsComments) { EXPECT_EQ(format_sse_comment("ping"), ": ping\n\n"); }

TEST(Sse, ParserRoundTripsFormattedEventsFedByteByByte) {
  std::string wire = format_sse({.event = "e1", .id = "", .data = "line1\nline2"}) +
                     format_sse_comment("keep-alive") + format_sse_data("[DONE]");
  SseParser parser;
  std::vector<SseEvent> events;
  for (char ch : wire) {
    for (auto& e : parser.feed(std::string_view(&ch, 1))) events.push_back(std::move(e));
  }
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].event, "e1");
  EXPECT_EQ(events[0].data, "line1\nline2");
  EXPECT_EQ(events[1].event, "");
  EXPECT_EQ(events[1].data, "[DONE]");
}

TEST(Sse, ParserHandlesCrLfAndMissingSpace) {
  SseParser parser;
  auto events = parser.feed("event:x\r\ndata:1\r\ndata: 2\r\n\r\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "x");
  EXPECT_EQ(events[0].data, "1\n2");
}

TEST(Sse, ParserDoesNotDispatchWithoutBlankLine) {
  SseParser parser;
  EXPECT_TRUE(parser.feed("data: partial\n").empty());
  EXPECT_EQ(parser.feed("\n").size(), 1u);
}

}  // namespace
}  // namespace plinth::http
