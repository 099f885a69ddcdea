// Hostile schemas and patterns: every one is refused or decided quickly, in linear time.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string refusal(const std::string& schema) {
  auto r = compile_schema_uncached(schema);
  if (r) return "compiled";
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  return r.error().message;
}

TEST(HostileSchema, CatastrophicPatternWithLongConstValidatesInLinearTime) {
  std::string text(200000, 'a');
  text += 'b';
  std::string schema = R"({"type":"string","pattern":"^(a+)+$","const":")" + text + "\"}";
  auto start = Clock::now();
  auto v = validate(schema, "\"" + text + "\"");
  EXPECT_FALSE(v);  // the pattern does not match: a clear answer, not a hang
  EXPECT_TRUE(
      validate(R"({"type":"string","pattern":"^(a+)+$"})", "\"" + std::string(200000, 'a') + "\""));
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(HostileSchema, ThirtyTwoNestedGroupsDoNotOverflowTheStack) {
  std::string pattern = "^" + std::string(32, '(') + "a*" + std::string(32, ')') + "$";
  std::string text(500000, 'a');
  auto start = Clock::now();
  EXPECT_TRUE(validate(R"({"type":"string","pattern":")" + pattern + "\"}", "\"" + text + "\""));
  std::string deep = std::string(5000, '(') + "a" + std::string(5000, ')');
  (void)validate(R"({"type":"string","pattern":")" + deep + "\"}", "\"a\"");  // no overflow
  EXPECT_NE(refusal(R"({"type":"string","pattern":")" + deep + "\"}").find("'pattern' at #"),
            std::string::npos);
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(HostileSchema, PatternPropertiesAndPropertyNamesAreDecidedWithoutStdRegex) {
  std::string key(100000, 'a');
  key += '!';
  auto start = Clock::now();
  auto v = validate(R"({"type":"object","patternProperties":{"^(a|aa)+$":{"type":"null"}}})",
                    "{\"" + key + "\":1,\"aa\":null}");
  EXPECT_TRUE(v);  // the long key does not match the pattern, "aa" does and is null
  EXPECT_FALSE(validate(R"({"type":"object","patternProperties":{"^(a|aa)+$":{"type":"null"}}})",
                        R"({"aa":1})"));
  EXPECT_FALSE(validate(R"({"type":"object","propertyNames":{"pattern":"^(a+)+$"}})",
                        "{\"" + key + "\":1}"));
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(HostileSchema, HugeMinItemsIsRefusedAtOnce) {
  auto start = Clock::now();
  EXPECT_EQ(refusal(R"({"type":"array","minItems":1000000000})"),
            "unsupported keyword 'minItems' at #: above 100000");
  EXPECT_LT(seconds_since(start), 0.5);
}

TEST(HostileSchema, HugeMinLengthIsRefused) {
  EXPECT_EQ(refusal(R"({"type":"string","minLength":1000000000})"),
            "unsupported keyword 'minLength' at #: above 100000");
}

TEST(HostileSchema, ShortestOutputBeyondOneMebibyteIsRefused) {
  auto start = Clock::now();
  std::string m =
      refusal(R"({"type":"array","minItems":2000,"items":{"type":"array","minItems":1000}})");
  EXPECT_NE(m.find("shortest valid output"), std::string::npos) << m;
  EXPECT_LT(seconds_since(start), 0.5);
}

TEST(HostileSchema, DeepNestingIsRefused) {
  std::string schema;
  for (int i = 0; i < 400; ++i) schema += R"({"type":"array","items":)";
  schema += "true" + std::string(400, '}');
  EXPECT_NE(refusal(schema).find("nests too deeply"), std::string::npos);
}

TEST(HostileSchema, ExponentialRefExpansionIsRefused) {
  // d{i+1} = allOf [d{i}, d{i}]: 2^40 sub-schemas if expanded naively.
  std::string defs = R"("d0":{"type":"object","properties":{"x":{"type":"string"}}})";
  for (int i = 1; i <= 40; ++i)
    defs += ",\"d" + std::to_string(i) + R"(":{"allOf":[{"$ref":"#/$defs/d)" +
            std::to_string(i - 1) + R"("},{"$ref":"#/$defs/d)" + std::to_string(i - 1) + "\"}]}";
  auto start = Clock::now();
  std::string m = refusal(R"({"$defs":{)" + defs + R"(},"$ref":"#/$defs/d40"})");
  EXPECT_NE(m.find("'$ref'"), std::string::npos) << m;
  EXPECT_LT(seconds_since(start), 2.0);
}

TEST(HostileSchema, AutomatonStateBlowUpIsRefused) {
  std::string m = refusal(R"({"type":"string","pattern":"^[ab]*a[ab]{20}$"})");
  EXPECT_NE(m.find("'pattern' at #: unsupported regex: automaton above"), std::string::npos) << m;
  EXPECT_NE(refusal(R"({"type":"string","pattern":"a{1001}"})").find("repetition count"),
            std::string::npos);
}

TEST(HostileSchema, TooManySubSchemasAreRefused) {
  std::string props;
  for (int i = 0; i < 110000; ++i)
    props += (i ? "," : "") + std::string("\"p") + std::to_string(i) + R"(":{"type":"string"})";
  std::string m = refusal(R"({"type":"object","properties":{)" + props + "}}");
  EXPECT_NE(m.find("schema too large"), std::string::npos) << m;
}

}  // namespace
}  // namespace plinth::structured
