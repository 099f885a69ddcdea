// Schema compilation: unsupported keywords are named with their path, annotations pass, $ref and
// oneOf handling, unsatisfiable schemas.
#include <gtest/gtest.h>

#include "plinth/structured/structured.h"

namespace plinth::structured {
namespace {

std::string error_of(std::string_view schema) {
  auto r = compile_schema_uncached(schema);
  return r ? std::string("compiled") : r.error().message;
}

TEST(SchemaCompiler, NamesUnsupportedKeywordAndPath) {
  EXPECT_EQ(error_of(R"({"type":"object","properties":{"a":{"type":"object",
                        "dependentRequired":{"x":["y"]}}}})"),
            "unsupported keyword 'dependentRequired' at #/properties/a");
  EXPECT_EQ(error_of(R"({"type":"number","multipleOf":1e-7})"),
            "unsupported keyword 'multipleOf' at #: only whole numbers up to 1e9, binary "
            "fractions such as 0.25 and decimals such as 0.01 (at most 6 fraction digits)");
  EXPECT_EQ(error_of(R"({"type":"array","items":{"not":{"type":"null"}}})"),
            "unsupported keyword 'not' at #/items");
  EXPECT_NE(error_of(R"({"type":"string","format":"color"})").find("'format' at #"),
            std::string::npos);
  EXPECT_NE(error_of(R"js({"type":"string","pattern":"(?<=a)"})js").find("'pattern' at #"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"$ref":"other.json#/x"})").find("'$ref'"), std::string::npos);
}

TEST(SchemaCompiler, AcceptsAnnotations) {
  EXPECT_EQ(error_of(R"({"$schema":"https://json-schema.org/draft/2020-12/schema","$id":"x",
      "title":"T","description":"D","examples":[1],"default":1,"$comment":"c","deprecated":false,
      "readOnly":true,"x-vendor":{"anything":1},"type":"integer"})"),
            "compiled");
}

TEST(SchemaCompiler, OneOfNeedsProvablyDisjointAlternatives) {
  EXPECT_EQ(error_of(R"({"oneOf":[{"type":"string"},{"type":"integer"}]})"), "compiled");
  EXPECT_EQ(error_of(R"({"oneOf":[
      {"type":"object","properties":{"kind":{"const":"a"}},"required":["kind"]},
      {"type":"object","properties":{"kind":{"const":"b"}},"required":["kind"]}]})"),
            "compiled");
  EXPECT_EQ(error_of(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})"),
            "unsupported keyword 'oneOf' at #: alternatives may overlap");
}

TEST(SchemaCompiler, RejectsSchemasWithoutFiniteInstances) {
  EXPECT_NE(error_of(R"({"type":"object","properties":{"self":{"$ref":"#"}},"required":["self"]})")
                .find("no finite instance"),
            std::string::npos);
  EXPECT_NE(error_of(R"({"type":"integer","minimum":5,"maximum":4})").find("no finite instance"),
            std::string::npos);
  EXPECT_NE(error_of("false").find("no finite instance"), std::string::npos);
}

TEST(SchemaCompiler, UnsatisfiableOptionalBranchesArePruned) {
  auto r = compile_schema(R"({"type":"object","properties":{
      "loop":{"type":"object","properties":{"again":{"$ref":"#/properties/loop"}},
              "required":["again"]},
      "ok":{"type":"boolean"}}})");
  ASSERT_TRUE(r) << r.error().message;
  JsonMatcher m(*r);
  EXPECT_FALSE(m.feed(R"({"loop")"));  // never finishable, so never started
  EXPECT_TRUE(m.feed(R"({"ok":true})"));
  EXPECT_TRUE(m.is_complete());
}

TEST(SchemaCompiler, PatternPropertiesConstrainMatchingDeclaredKeys) {
  auto r = compile_schema(R"({"type":"object","properties":{"x_id":{"type":"number"},
      "name":{"type":"string"}},"required":["x_id","x_req"],
      "patternProperties":{"^x_":{"type":"integer","minimum":0}}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(JsonMatcher(*r).feed(R"({"x_id":1.5)"));  // the pattern makes it an integer
  EXPECT_FALSE(JsonMatcher(*r).feed(R"({"x_id":-1)"));
  JsonMatcher m(*r);
  EXPECT_TRUE(m.feed(R"({"x_id":1,"name":"n","x_req":2})"));
  EXPECT_TRUE(m.is_complete());
  auto free_map = compile_schema(R"({"type":"object","patternProperties":{"^a":{"type":"null"}}})");
  ASSERT_TRUE(free_map);
  JsonMatcher empty(*free_map);
  EXPECT_FALSE(JsonMatcher(*free_map).feed(R"({")"));  // free keys might match: none emitted
  EXPECT_TRUE(empty.feed("{}"));
}

TEST(SchemaCompiler, TypelessPatternPropertiesStillMeanObject) {
  auto r = compile_schema(R"({"patternProperties":{".*":{"type":"integer"}}})");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(JsonMatcher(*r).feed("1"));      // only the object kind is generated
  EXPECT_FALSE(JsonMatcher(*r).feed(R"({")"));  // and no free key that a pattern would check
  JsonMatcher m(*r);
  EXPECT_TRUE(m.feed("{}"));
  EXPECT_TRUE(m.is_complete());
}

TEST(SchemaCompiler, DefinitionsAndDraft07Refs) {
  auto r = compile_schema(R"({"definitions":{"id":{"type":"string","pattern":"^[0-9]+$"}},
      "type":"object","properties":{"id":{"$ref":"#/definitions/id"}},"required":["id"]})");
  ASSERT_TRUE(r) << r.error().message;
  JsonMatcher m(*r);
  EXPECT_FALSE(JsonMatcher(m).feed(R"({"id":"x)"));
  EXPECT_TRUE(m.feed(R"({"id":"42"})"));
  EXPECT_TRUE(m.is_complete());
}

TEST(SchemaCompiler, AcceptsDeeplyNestedSchemas) {
  std::string schema = R"({"type":"string"})";
  for (int i = 0; i < 40; ++i)
    schema = R"({"type":"object","properties":{"p":)" + schema + R"(},"required":["p"]})";
  auto r = compile_schema_uncached(schema);
  ASSERT_TRUE(r) << r.error().message;
  std::string text = "\"x\"";
  for (int i = 0; i < 40; ++i) text = R"({"p":)" + text + "}";
  JsonMatcher m(*r);
  EXPECT_TRUE(m.feed(text));
  EXPECT_TRUE(m.is_complete());
  EXPECT_TRUE(validate(schema, text));
}

TEST(SchemaCompiler, CachesBySchemaText) {
  SchemaCache cache;
  auto a = cache.get_or_compile(R"({"type":"string"})");
  auto b = cache.get_or_compile(R"({"type":"string"})");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->get(), b->get());
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.get_or_compile("{"));
}

}  // namespace
}  // namespace plinth::structured
