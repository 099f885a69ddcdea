// Byte matcher: accept/reject per keyword, strings, numbers at limits, nesting and recursion.
#include <gtest/gtest.h>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

// Full acceptance: every byte is allowed and the result is complete.
bool accepts(std::string_view schema, std::string_view text) {
  auto compiled = compile_schema(schema);
  EXPECT_TRUE(compiled) << (compiled ? "" : compiled.error().message);
  if (!compiled) return false;
  JsonMatcher m(*compiled);
  return m.feed(text) && m.is_complete();
}

TEST(JsonMatcher, ObjectPropertiesInSchemaOrder) {
  const char* s = R"({"type":"object","properties":{"a":{"type":"integer"},"b":{"type":"string"}},
                     "required":["a"]})";
  EXPECT_TRUE(accepts(s, R"({"a":1,"b":"x"})"));
  EXPECT_TRUE(accepts(s, R"({"a":1})"));
  EXPECT_FALSE(accepts(s, R"({"b":"x"})"));        // a is required
  EXPECT_FALSE(accepts(s, R"({"b":"x","a":1})"));  // schema order
  EXPECT_FALSE(accepts(s, R"({"a":1,"c":2})"));    // undeclared keys are never generated
  EXPECT_FALSE(accepts(s, R"({ "a":1})"));         // compact output only
  EXPECT_FALSE(accepts(s, R"({"a":"1"})"));
}

TEST(JsonMatcher, TypeListsAndNullable) {
  EXPECT_TRUE(accepts(R"({"type":["string","null"]})", "null"));
  EXPECT_TRUE(accepts(R"({"type":["string","null"]})", R"("x")"));
  EXPECT_FALSE(accepts(R"({"type":["string","null"]})", "1"));
  EXPECT_TRUE(accepts(R"({"type":"integer","nullable":true})", "null"));
  EXPECT_TRUE(accepts(R"({"type":"boolean"})", "false"));
  EXPECT_FALSE(accepts(R"({"type":"boolean"})", "fals"));
}

TEST(JsonMatcher, EnumAndConst) {
  const char* s = R"({"enum":["red","green",3,null,{"k":[1]}]})";
  EXPECT_TRUE(accepts(s, R"("red")"));
  EXPECT_TRUE(accepts(s, "3"));
  EXPECT_TRUE(accepts(s, "null"));
  EXPECT_TRUE(accepts(s, R"({"k":[1]})"));
  EXPECT_FALSE(accepts(s, R"("blue")"));
  EXPECT_FALSE(accepts(s, "33"));
  EXPECT_TRUE(accepts(R"({"const":"fixed"})", R"("fixed")"));
  EXPECT_FALSE(accepts(R"({"const":"fixed"})", R"("fixe")"));
}

TEST(JsonMatcher, ArraysPrefixItemsAndCounts) {
  const char* s = R"({"type":"array","items":{"type":"integer"},"minItems":1,"maxItems":3})";
  EXPECT_FALSE(accepts(s, "[]"));
  EXPECT_TRUE(accepts(s, "[1]"));
  EXPECT_TRUE(accepts(s, "[1,2,3]"));
  EXPECT_FALSE(accepts(s, "[1,2,3,4]"));
  EXPECT_FALSE(accepts(s, "[1,]"));
  const char* tuple = R"({"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}],
                         "items":false})";
  EXPECT_TRUE(accepts(tuple, R"(["a",true])"));
  EXPECT_TRUE(accepts(tuple, R"(["a"])"));
  EXPECT_FALSE(accepts(tuple, R"(["a",true,1])"));
  EXPECT_FALSE(accepts(tuple, R"([true])"));
  const char* draft7 = R"({"type":"array","items":[{"type":"null"}],"additionalItems":false})";
  EXPECT_TRUE(accepts(draft7, "[null]"));
  EXPECT_FALSE(accepts(draft7, "[null,null]"));
}

TEST(JsonMatcher, StringLengthsCountCodePointsWithinTheBmp) {
  const char* s = R"({"type":"string","minLength":2,"maxLength":3})";
  EXPECT_FALSE(accepts(s, R"("a")"));
  EXPECT_TRUE(accepts(s, R"("ab")"));
  EXPECT_TRUE(accepts(s, "\"\xC3\xA9\xE2\x82\xAC\xE2\x82\xAC\""));  // é € € = 3 chars
  // 😀 is one code point but two UTF-16 units (JavaScript's length): a length limit keeps
  // strings to the BMP so that both counts agree.
  EXPECT_FALSE(accepts(s, "\"ab\xF0\x9F\x98\x80\""));
  EXPECT_TRUE(accepts(R"({"type":"string"})", "\"ab\xF0\x9F\x98\x80\""));
  EXPECT_FALSE(accepts(s, R"("abcd")"));
  EXPECT_TRUE(accepts(s, R"("a\n\u00e9")"));  // escapes count as one character each
}

TEST(JsonMatcher, StringEscapesAndUtf8AreValidated) {
  const char* s = R"({"type":"string"})";
  EXPECT_TRUE(accepts(s, R"("q\"b\\s\/\b\f\n\r\t\u20AC")"));
  EXPECT_FALSE(accepts(s, R"("\x")"));
  EXPECT_FALSE(accepts(s, R"("\uD83D\uDE00")"));  // surrogates are refused
  EXPECT_FALSE(accepts(s, "\"a\nb\""));           // raw control character
  EXPECT_FALSE(accepts(s, "\"\xC0\xAF\""));       // overlong encoding
  EXPECT_FALSE(accepts(s, "\"\xED\xA0\x80\""));   // encoded surrogate
  EXPECT_FALSE(accepts(s, "\"\xE2\x82\""));       // truncated sequence
}

TEST(JsonMatcher, PatternAndFormat) {
  const char* s = R"({"type":"string","pattern":"^[A-Z]{2}[0-9]{3}$"})";
  EXPECT_TRUE(accepts(s, R"("AB123")"));
  EXPECT_FALSE(accepts(s, R"("AB12")"));
  EXPECT_FALSE(accepts(s, R"("ab123")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"date-time"})", R"("2024-05-06T07:08:09Z")"));
  EXPECT_FALSE(accepts(R"({"type":"string","format":"date-time"})", R"("2024-05-06")"));
  EXPECT_TRUE(accepts(R"({"type":"string","format":"email"})", R"("a.b@example.com")"));
}

TEST(JsonMatcher, NumbersAtLimits) {
  const char* s = R"({"type":"integer","minimum":-5,"maximum":120})";
  EXPECT_TRUE(accepts(s, "-5"));
  EXPECT_TRUE(accepts(s, "120"));
  EXPECT_TRUE(accepts(s, "0"));
  EXPECT_FALSE(accepts(s, "-6"));
  EXPECT_FALSE(accepts(s, "121"));
  EXPECT_FALSE(accepts(s, "1.5"));
  EXPECT_FALSE(accepts(s, "007"));
  const char* excl = R"({"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1})";
  EXPECT_TRUE(accepts(excl, "0.5"));
  EXPECT_FALSE(accepts(excl, "0"));
  EXPECT_FALSE(accepts(excl, "1"));
  EXPECT_FALSE(accepts(excl, "1.0"));
  const char* draft4 = R"({"type":"number","minimum":2.5,"exclusiveMinimum":true})";
  EXPECT_FALSE(accepts(draft4, "2.5"));
  EXPECT_TRUE(accepts(draft4, "2.51"));
  EXPECT_TRUE(accepts(R"({"type":"number"})", "-1.25e+10"));
  EXPECT_FALSE(accepts(R"({"type":"number"})", "1."));
  EXPECT_FALSE(accepts(R"({"type":"number"})", "-"));
}

TEST(JsonMatcher, BoundedPrefixesThatCannotFinishAreRefused) {
  auto compiled = compile_schema(R"({"type":"integer","minimum":10,"maximum":19})");
  ASSERT_TRUE(compiled);
  JsonMatcher m(*compiled);
  EXPECT_FALSE(m.can_feed('2'));  // 2, 2x, 2xx... all out of range
  EXPECT_FALSE(m.can_feed('-'));
  ASSERT_TRUE(m.feed('1'));
  EXPECT_FALSE(m.is_complete());  // 1 alone is below the minimum
  ASSERT_TRUE(m.feed('9'));
  EXPECT_TRUE(m.is_complete());
  EXPECT_FALSE(m.can_feed('0'));
}

TEST(JsonMatcher, AnyOfKeepsBranchesAlive) {
  const char* s =
      R"({"anyOf":[{"type":"object","properties":{"x":{"type":"integer"}},"required":["x"]},
                               {"type":"object","properties":{"x":{"type":"string"}},"required":["x"]}]})";
  EXPECT_TRUE(accepts(s, R"({"x":1})"));
  EXPECT_TRUE(accepts(s, R"({"x":"1"})"));
  EXPECT_FALSE(accepts(s, R"({"x":true})"));
}

TEST(JsonMatcher, AllOfMerges) {
  const char* s =
      R"({"allOf":[{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"]},
                               {"properties":{"b":{"type":"boolean"}},"required":["b"]}]})";
  EXPECT_TRUE(accepts(s, R"({"a":1,"b":true})"));
  EXPECT_FALSE(accepts(s, R"({"a":1})"));
}

TEST(JsonMatcher, RecursionThroughRef) {
  const char* s = R"({"$defs":{"node":{"type":"object","properties":{
      "v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},
      "required":["v"],"additionalProperties":false}},"$ref":"#/$defs/node"})";
  EXPECT_TRUE(accepts(s, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
  EXPECT_FALSE(accepts(s, R"({"v":1,"kids":[{"kids":[]}]})"));
}

TEST(JsonMatcher, DeepNestingOfFreeFormValues) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "[";
  deep += "{\"k\":null}";
  for (int i = 0; i < 200; ++i) deep += "]";
  EXPECT_TRUE(accepts("{}", deep));
  EXPECT_TRUE(accepts("true", R"({"any":[1,"two",{"three":3.5e-2}],"t":true})"));
  EXPECT_FALSE(accepts("{}", deep.substr(0, deep.size() - 1)));
}

TEST(JsonMatcher, DistanceToCloseShrinksOnTheShortestPath) {
  auto compiled = compile_schema(
      R"({"type":"object","properties":{"name":{"type":"string","minLength":2}},"required":["name"]})");
  ASSERT_TRUE(compiled);
  JsonMatcher m(*compiled);
  std::string shortest = R"({"name":"ab"})";
  EXPECT_EQ(m.distance_to_close(), static_cast<int64_t>(shortest.size()));
  for (size_t i = 0; i < shortest.size(); ++i) {
    EXPECT_EQ(m.distance_to_close(), static_cast<int64_t>(shortest.size() - i)) << i;
    ASSERT_TRUE(m.feed(static_cast<uint8_t>(shortest[i])));
  }
  EXPECT_TRUE(m.is_complete());
  EXPECT_EQ(m.distance_to_close(), 0);
}

TEST(JsonMatcher, SafeIntegerBoundsAreAccepted) {
  // z.number().int() / z.int(): bounds of +-(2^53 - 1), refused before as "beyond 1e15".
  const char* s = R"({"type":"integer","minimum":-9007199254740991,"maximum":9007199254740991})";
  EXPECT_TRUE(accepts(s, "-123"));
  EXPECT_TRUE(accepts(s, "999999999999999"));
  EXPECT_FALSE(accepts(s, "1.5"));
  EXPECT_FALSE(accepts(s, "1e3"));
  auto far = compile_schema_uncached(R"({"type":"integer","minimum":1e16})");
  ASSERT_FALSE(far);
  EXPECT_NE(far.error().message.find("'minimum'"), std::string::npos);
}

TEST(JsonMatcher, MultipleOfGeneratesIntegerMultiples) {
  const char* five = R"({"type":"integer","multipleOf":5,"minimum":1,"maximum":12})";
  EXPECT_TRUE(accepts(five, "5"));
  EXPECT_TRUE(accepts(five, "10"));
  EXPECT_FALSE(accepts(five, "7"));
  EXPECT_FALSE(accepts(five, "15"));
  const char* quarter = R"({"type":"number","multipleOf":0.75})";  // 3/4: multiples of 3
  EXPECT_TRUE(accepts(quarter, "-9"));
  EXPECT_FALSE(accepts(quarter, "4"));
  EXPECT_FALSE(accepts(quarter, "0.75"));  // a valid value, but only integers are generated
}

TEST(JsonMatcher, ExclusiveBoundsInBothDraftStyles) {
  EXPECT_FALSE(accepts(R"({"type":"number","exclusiveMinimum":0})", "0"));
  EXPECT_TRUE(accepts(R"({"type":"number","exclusiveMinimum":0})", "0.5"));
  EXPECT_FALSE(accepts(R"({"type":"number","minimum":0,"exclusiveMinimum":true})", "0"));
  EXPECT_FALSE(accepts(R"({"type":"number","maximum":0,"exclusiveMaximum":true})", "0"));
  EXPECT_FALSE(accepts(R"({"type":"number","maximum":0,"exclusiveMaximum":true})", "-0"));
}

TEST(JsonMatcher, FormatWithPatternMeansBoth) {
  // Zod 4's z.iso.datetime({offset: true}): the pattern allows offsets, Zod 3 and the format's
  // generator keep to UTC.
  const char* s =
      R"({"type":"string","format":"date-time","pattern":"^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$"})";
  EXPECT_TRUE(accepts(s, R"("2024-01-02T03:04:05Z")"));
  EXPECT_TRUE(accepts(s, R"("2024-01-02T03:04:05.123Z")"));
  EXPECT_FALSE(accepts(s, R"("2024-01-02T03:04:05+01:00")"));
  EXPECT_FALSE(accepts(s, R"("2024-01-02")"));
}

TEST(JsonMatcher, ConstMustMeetTheOtherKeywords) {
  EXPECT_FALSE(compile_schema_uncached(R"({"type":"string","pattern":"^a+$","const":"ab"})"));
  EXPECT_TRUE(accepts(R"({"enum":["ab","aa"],"pattern":"^a+$"})", R"("aa")"));
  EXPECT_FALSE(accepts(R"({"enum":["ab","aa"],"pattern":"^a+$"})", R"("ab")"));
  EXPECT_FALSE(accepts(R"({"enum":[1,5,10],"maximum":5})", "10"));
}

}  // namespace
}  // namespace plinth::structured
