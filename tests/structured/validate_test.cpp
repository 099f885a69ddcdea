// Independent validation with valijson: pass, first error with its path, bad inputs.
#include <gtest/gtest.h>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

const char* kSchema = R"({"type":"object","properties":{
    "items":{"type":"array","items":{"type":"object","properties":{"qty":{"type":"integer","minimum":1}},
             "required":["qty"]}},
    "when":{"type":["string","null"],"format":"date"}},"required":["items"]})";

TEST(Validate, AcceptsValidInstance) {
  EXPECT_TRUE(validate(kSchema, R"({"items":[{"qty":2}],"when":"2024-01-31"})"));
}

// valijson follows $ref chains recursively without a cycle check (found by json_schema_fuzz:
// a stack overflow); each of these is refused as unusable instead.
TEST(Validate, RefChainsThatReturnToThemselvesAreRefusedNotFollowed) {
  for (const char* schema :
       {R"({"$ref":"#"})", R"({"$ref":"'/definitions/a"})",
        R"({"$ref":"#/definitions/a","definitions":{"a":{"$ref":"#/definitions/b"},
                                 "b":{"$ref":"#/definitions/a"}}})",
        R"({"type":"object","properties":{"x":{"$ref":"#/properties/x"}}})"}) {
    auto r = validate(schema, "null");
    ASSERT_FALSE(r) << schema;
    EXPECT_NE(r.error().message.find("refers to itself"), std::string::npos) << r.error().message;
  }
  // A reference to a schema that recurses through properties is fine.
  EXPECT_TRUE(validate(
      R"({"type":"object","properties":{"next":{"anyOf":[{"$ref":"#"},{"type":"null"}]}}})",
      R"({"next":{"next":null}})"));
}

TEST(Validate, ReportsFirstErrorWithPath) {
  auto r = validate(kSchema, R"({"items":[{"qty":2},{"qty":0}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(r.error().message.find("at #/items/1/qty:"), std::string::npos) << r.error().message;
}

TEST(Validate, FormatAppliesToStringsOnly) {
  EXPECT_TRUE(validate(kSchema, R"({"items":[],"when":null})"));
  EXPECT_FALSE(validate(kSchema, R"({"items":[],"when":"31/01/2024"})"));
}

TEST(Validate, NullableAdmitsNullLikeTheCompiler) {
  const char* schema = R"({"type":"object","properties":{"a":{"type":"string","nullable":true}}})";
  EXPECT_TRUE(validate(schema, R"({"a":null})"));
  EXPECT_FALSE(validate(schema, R"({"a":1})"));
  EXPECT_FALSE(validate(R"({"type":"string"})", "null"));
}

TEST(Validate, NestedIdsDoNotChangeLocalReferences) {
  const char* schema = R"({"id":"http://example.com/s.json#","definitions":{
      "C":{"id":"C","type":"object","properties":{"kids":{"type":"array",
           "items":{"$ref":"#/definitions/C"}},"n":{"type":"integer"}}}},
      "$ref":"#/definitions/C"})";
  EXPECT_TRUE(validate(schema, R"({"kids":[{"kids":[],"n":1}]})"));
  EXPECT_FALSE(validate(schema, R"({"kids":[{"n":"x"}]})"));
}

TEST(Validate, UnusableSchemaIsAnErrorNotACrash) {
  auto r = validate(R"({"$ref":"http://example.com/remote.json"})", "{}");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("schema not usable"), std::string::npos) << r.error().message;
}

TEST(Validate, DatesAndTimesAreCheckedAsValijsonWouldWithoutStdRegex) {
  const char* date = R"({"format":"date"})";
  EXPECT_TRUE(validate(date, R"("2024-04-30")"));
  EXPECT_FALSE(validate(date, R"("2024-04-31")"));
  EXPECT_FALSE(validate(date, R"("2024-13-01")"));
  EXPECT_TRUE(validate(date, "7"));  // formats apply to strings only
  const char* date_time = R"({"type":"string","format":"date-time"})";
  EXPECT_TRUE(validate(date_time, R"("2024-01-02T03:04:05.5+01:00")"));
  EXPECT_FALSE(validate(date_time, R"("2024-01-02 03:04:05Z")"));
  // Zod 3's time() has no offset; JSON Schema's has one: both pass.
  EXPECT_TRUE(validate(R"({"format":"time"})", R"("12:00:00")"));
  EXPECT_TRUE(validate(R"({"format":"time"})", R"("12:00:00Z")"));
  EXPECT_FALSE(validate(R"({"format":"time"})", R"("25:00:00")"));
}

TEST(Validate, ReadsDraft4BoundsTuplesAndOpenApiNull) {
  const char* positive = R"({"type":"number","minimum":0,"exclusiveMinimum":true})";
  EXPECT_FALSE(validate(positive, "0"));
  EXPECT_TRUE(validate(positive, "0.5"));
  const char* tuple = R"({"type":"array","prefixItems":[{"type":"string"}],"items":false})";
  EXPECT_TRUE(validate(tuple, R"(["a"])"));
  EXPECT_FALSE(validate(tuple, R"(["a",1])"));
  EXPECT_TRUE(validate(R"({"enum":["null"],"nullable":true})", "null"));
}

TEST(Validate, RejectsMalformedJson) {
  EXPECT_FALSE(validate(kSchema, R"({"items":[)"));
  EXPECT_FALSE(validate("{", "{}"));
}

}  // namespace
}  // namespace plinth::structured
