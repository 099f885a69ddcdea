// Regex-to-DFA: anchoring, classes, quantifiers, refusal of unsupported constructs.
#include "regex_dfa.h"

#include <gtest/gtest.h>

namespace plinth::structured {
namespace {

bool matches(const ByteDfa& dfa, std::string_view text) {
  int32_t s = dfa.start;
  for (char c : text) {
    s = dfa.next[s][static_cast<uint8_t>(c)];
    if (s < 0) return false;
  }
  return dfa.accepting[s] != 0;
}

TEST(RegexDfa, AnchoredPatternMatchesWholeString) {
  auto dfa = compile_regex("^[a-z]{2,3}-\\d+$");
  ASSERT_TRUE(dfa) << dfa.error().message;
  EXPECT_TRUE(matches(*dfa, "ab-1"));
  EXPECT_TRUE(matches(*dfa, "abc-123"));
  EXPECT_FALSE(matches(*dfa, "a-1"));
  EXPECT_FALSE(matches(*dfa, "abcd-1"));
  EXPECT_FALSE(matches(*dfa, "ab-"));
  EXPECT_FALSE(matches(*dfa, "ab-1x"));
}

TEST(RegexDfa, UnanchoredPatternSearchesAnywhere) {
  auto dfa = compile_regex("cat");
  ASSERT_TRUE(dfa);
  EXPECT_TRUE(matches(*dfa, "concatenate"));
  EXPECT_TRUE(matches(*dfa, "cat"));
  EXPECT_FALSE(matches(*dfa, "dog"));
}

TEST(RegexDfa, AlternationGroupsAndOptional) {
  auto dfa = compile_regex("^(?:red|green)(ish)?$|^blue$");
  ASSERT_TRUE(dfa);
  EXPECT_TRUE(matches(*dfa, "red"));
  EXPECT_TRUE(matches(*dfa, "greenish"));
  EXPECT_TRUE(matches(*dfa, "blue"));
  EXPECT_FALSE(matches(*dfa, "blueish"));
  EXPECT_FALSE(matches(*dfa, "re"));
}

TEST(RegexDfa, NegatedClassAndEscapes) {
  auto dfa = compile_regex("^[^\\s\"]+\\.txt$");
  ASSERT_TRUE(dfa);
  EXPECT_TRUE(matches(*dfa, "notes.txt"));
  EXPECT_FALSE(matches(*dfa, "my notes.txt"));
  EXPECT_FALSE(matches(*dfa, "a\".txt"));
}

TEST(RegexDfa, DeadStatesArePrunedAndLengthsComputed) {
  auto dfa = compile_regex("^ab?c$");
  ASSERT_TRUE(dfa);
  EXPECT_EQ(dfa->min_chars_to_accept[dfa->start], 2);
  EXPECT_EQ(dfa->max_chars_to_accept[dfa->start], 3);
  EXPECT_EQ(dfa->next[dfa->start]['x'], ByteDfa::kDead);
  auto star = compile_regex("^a*$");
  ASSERT_TRUE(star);
  EXPECT_EQ(star->max_chars_to_accept[star->start], ByteDfa::kUnbounded);
}

TEST(RegexDfa, RefusesLookbehindBackreferencesAndBoundaries) {
  for (auto p : {"(?<=a)b", "(a)\\1", "\\bword", "a{3,1}", "*a", "[\\u00e9-\\u00ff]", "(a(?!b))*c",
                 "(?=a)*", "\\p{Greek}"}) {
    auto dfa = compile_regex(p);
    EXPECT_FALSE(dfa) << p;
    if (!dfa) {
      EXPECT_NE(dfa.error().message.find("unsupported regex"), std::string::npos) << p;
    }
  }
}

TEST(RegexDfa, FormatsAreStrictSubsets) {
  auto date = compile_regex(*format_regex("date"));
  ASSERT_TRUE(date);
  EXPECT_TRUE(matches(*date, "2024-02-28"));
  EXPECT_FALSE(matches(*date, "2024-13-01"));
  auto ipv4 = compile_regex(*format_regex("ipv4"));
  ASSERT_TRUE(ipv4);
  EXPECT_TRUE(matches(*ipv4, "192.168.0.255"));
  EXPECT_FALSE(matches(*ipv4, "256.1.1.1"));
  auto uuid = compile_regex(*format_regex("uuid"));
  ASSERT_TRUE(uuid);
  EXPECT_TRUE(matches(*uuid, "123e4567-e89b-12d3-a456-426614174000"));
  EXPECT_FALSE(format_regex("color"));
}

}  // namespace
}  // namespace plinth::structured

namespace plinth::structured {
namespace {

TEST(RegexDfa, LookaheadsIntersectWithTheRestOfTheText) {
  // Zod 4's hostname, email-style and duration patterns.
  auto host = compile_regex(
      R"(^(?=.{1,253}\.?$)[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[-0-9a-zA-Z]{0,61}[0-9a-zA-Z])?)*\.?$)");
  ASSERT_TRUE(host) << host.error().message;
  EXPECT_TRUE(matches(*host, "example.com"));
  EXPECT_FALSE(matches(*host, "-bad.com"));
  auto no_dots = compile_regex(R"(^(?!\.)(?!.*\.\.)[a-z.]+$)");
  ASSERT_TRUE(no_dots) << no_dots.error().message;
  EXPECT_TRUE(matches(*no_dots, "a.b.c"));
  EXPECT_FALSE(matches(*no_dots, ".ab"));
  EXPECT_FALSE(matches(*no_dots, "a..b"));
  auto duration = compile_regex(
      R"(^P(?:(\d+W)|(?!.*W)(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+([.,]\d+)?S)?)?)$)");
  ASSERT_TRUE(duration) << duration.error().message;
  EXPECT_TRUE(matches(*duration, "P3Y6M4DT12H30M5S"));
  EXPECT_TRUE(matches(*duration, "P2W"));
  EXPECT_FALSE(matches(*duration, "P"));
  EXPECT_FALSE(matches(*duration, "PT"));
  EXPECT_FALSE(matches(*duration, "P1YT"));
}

TEST(RegexDfa, FormatAndPatternIntersect) {
  auto format = compile_regex(*format_regex("date-time"));
  auto offsets = compile_regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$)");
  ASSERT_TRUE(format && offsets);
  auto both = intersect_dfas(*format, *offsets);
  ASSERT_TRUE(both);
  EXPECT_TRUE(matches(*both, "2024-01-02T03:04:05Z"));
  EXPECT_FALSE(matches(*both, "2024-01-02T03:04:05+01:00"));  // Zod's default refuses offsets
  auto none = intersect_dfas(*compile_regex("^a+$"), *compile_regex("^b+$"));
  EXPECT_FALSE(none);
}

TEST(RegexDfa, EveryZodFormatHasAnAutomaton) {
  for (auto f :
       {"date",  "date-time", "time",   "duration", "email",  "uuid",   "guid",      "uri",
        "url",   "ipv4",      "ipv6",   "cidrv4",   "cidrv6", "base64", "base64url", "cuid",
        "cuid2", "ulid",      "nanoid", "emoji",    "jwt",    "e164",   "hostname"}) {
    auto r = format_regex(f);
    ASSERT_TRUE(r) << f;
    auto dfa = compile_regex(*r);
    EXPECT_TRUE(dfa) << f << ": " << dfa.error().message;
  }
}

TEST(RegexDfa, UnicodePropertiesMatchWholeCharacters) {
  auto emoji = compile_regex(R"(^[\p{Extended_Pictographic}\p{Emoji_Component}]+$)");
  ASSERT_TRUE(emoji) << emoji.error().message;
  EXPECT_TRUE(matches(*emoji,
                      "\xF0\x9F\x98\x80"
                      "1#"));
  EXPECT_FALSE(matches(*emoji, "\xF0\x9F\x98"));
  EXPECT_FALSE(matches(*emoji, "a"));
}

}  // namespace
}  // namespace plinth::structured
