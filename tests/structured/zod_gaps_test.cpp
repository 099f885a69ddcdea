// Zod schemas the acceptance corpus found refused or mis-generated: each compiles, every random
// walk validates, and walks satisfy Zod's own check for the feature.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cfloat>
#include <cmath>
#include <regex>
#include <set>

#include "random_walk.h"

namespace plinth::structured {
namespace {

namespace json = boost::json;

// Compiles `schema`, runs `runs` random walks, validates each and returns the outputs.
std::vector<json::value> walks(const std::string& schema, int runs = 40) {
  auto c = compile_schema_uncached(schema);
  EXPECT_TRUE(c) << (c ? "" : c.error().message);
  if (!c) return {};
  std::mt19937_64 rng(7);
  std::vector<json::value> out;
  for (int i = 0; i < runs; ++i) {
    auto w = testing::random_walk(*c, rng, 200);
    EXPECT_TRUE(w.completed) << w.text;
    auto v = validate(schema, w.text);
    EXPECT_TRUE(v) << (v ? "" : v.error().message) << "\n  " << w.text;
    out.push_back(json::parse(w.text));
  }
  return out;
}

TEST(ZodGaps, Zod4IdFormatsGenerateWhatZodRegexesAccept) {
  std::string schema = R"({"type":"object","properties":{
    "k":{"type":"string","format":"ksuid","pattern":"^[A-Za-z0-9]{27}$"},
    "x":{"type":"string","format":"xid","pattern":"^[0-9a-vA-V]{20}$"},
    "m":{"type":"string","format":"mac",
         "pattern":"^(?:[0-9A-F]{2}:){5}[0-9A-F]{2}$|^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$"},
    "h":{"type":"string","format":"hex","pattern":"^[0-9a-fA-F]*$"}},
    "required":["k","x","m","h"],"additionalProperties":false})";
  std::regex ksuid("^[A-Za-z0-9]{27}$"), xid("^[0-9a-vA-V]{20}$"),
      mac("^(?:[0-9A-F]{2}:){5}[0-9A-F]{2}$|^(?:[0-9a-f]{2}:){5}[0-9a-f]{2}$"),
      hex("^[0-9a-fA-F]*$");
  for (const auto& w : walks(schema)) {
    const auto& o = w.as_object();
    EXPECT_TRUE(std::regex_match(std::string(o.at("k").as_string()), ksuid)) << w;
    EXPECT_TRUE(std::regex_match(std::string(o.at("x").as_string()), xid)) << w;
    EXPECT_TRUE(std::regex_match(std::string(o.at("m").as_string()), mac)) << w;
    EXPECT_TRUE(std::regex_match(std::string(o.at("h").as_string()), hex)) << w;
  }
  // Without the pattern, the format alone enforces it too.
  for (const auto& w : walks(R"({"type":"string","format":"mac"})"))
    EXPECT_TRUE(std::regex_match(std::string(w.as_string()), mac)) << w;
}

// Zod 4's floatSafeRemainder (tests/acceptance/node_modules/zod/v4/core/util.js).
bool zod4_multiple(double val, double step) {
  double ratio = val / step, rounded = std::round(ratio);
  return std::fabs(ratio - rounded) < 4 * DBL_EPSILON * std::max(std::fabs(ratio), 1.0);
}

TEST(ZodGaps, DecimalMultipleOfGeneratesCentsThatZodAccepts) {
  std::string schema = R"({"type":"object","properties":{
    "amount":{"type":"number","minimum":0,"maximum":1000,"multipleOf":0.01},
    "nickel":{"type":"number","multipleOf":0.05},"milli":{"type":"number","multipleOf":0.003}},
    "required":["amount","nickel","milli"],"additionalProperties":false})";
  bool fractional = false;
  for (const auto& w : walks(schema, 80)) {
    const auto& o = w.as_object();
    double amount = o.at("amount").to_number<double>();
    EXPECT_GE(amount, 0);
    EXPECT_LE(amount, 1000);
    EXPECT_TRUE(zod4_multiple(amount, 0.01)) << w;
    EXPECT_TRUE(zod4_multiple(o.at("nickel").to_number<double>(), 0.05)) << w;
    EXPECT_TRUE(zod4_multiple(o.at("milli").to_number<double>(), 0.003)) << w;
    fractional = fractional || amount != std::floor(amount);
  }
  EXPECT_TRUE(fractional) << "cents are generated, not only whole numbers";
}

TEST(ZodGaps, DecimalMultipleOfIsValidatedExactlyOnTheDecimalText) {
  std::string schema = R"({"type":"number","multipleOf":0.01})";
  // valijson's remainder(0.07, 0.01) is not within epsilon of 0; the decimal check is exact.
  for (auto ok : {"0.07", "2.03", "1000", "0", "-12.5", "1.10", "123456.78"})
    EXPECT_TRUE(validate(schema, ok)) << ok;
  for (auto bad : {"0.001", "0.075", "1e-3", "-0.333"}) EXPECT_FALSE(validate(schema, bad)) << bad;
  EXPECT_TRUE(validate(R"({"type":"number","multipleOf":0.05})", "0.15"));
  EXPECT_FALSE(validate(R"({"type":"number","multipleOf":0.05})", "0.12"));
}

// Nesting depth of `key` chains in a walk: recursion was really generated, not only refused.
int depth(const json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  if (!o || !o->contains(key) || o->at(key).is_null()) return 0;
  return 1 + depth(o->at(key), key);
}

TEST(ZodGaps, SingleAllOfAroundRecursiveRefRecursesLikeTheRef) {
  // Zod 4 draft-7 output for z.object({text, get reply() { return Comment.optional(); }}).
  std::string schema = R"({"$schema":"http://json-schema.org/draft-07/schema#","type":"object",
    "properties":{"comment":{"$ref":"#/definitions/__schema0"}},"required":["comment"],
    "definitions":{"__schema0":{"type":"object","properties":{"text":{"type":"string",
    "maxLength":20},"reply":{"allOf":[{"$ref":"#/definitions/__schema0"}],"description":"r"}},
    "required":["text"]}}})";
  int deepest = 0;
  for (const auto& w : walks(schema, 60))
    deepest = std::max(deepest, depth(w.as_object().at("comment"), "reply"));
  EXPECT_GE(deepest, 2);
}

TEST(ZodGaps, NullableAllOfRefIsAnExitFromRecursion) {
  // zod-to-json-schema openApi3 output for a linked list: next is required, null ends it.
  std::string schema = R"({"type":"object","properties":{"head":{"type":"object","properties":{
    "value":{"type":"integer"},"next":{"allOf":[{"$ref":"#/properties/head"}],"nullable":true}},
    "required":["value","next"],"additionalProperties":false}},"required":["head"],
    "additionalProperties":false})";
  int deepest = 0;
  for (const auto& w : walks(schema, 60))
    deepest = std::max(deepest, depth(w.as_object().at("head"), "next"));
  EXPECT_GE(deepest, 2);
  EXPECT_TRUE(validate(schema, R"({"head":{"value":1,"next":{"value":2,"next":null}}})"));
  EXPECT_FALSE(validate(schema, R"({"head":{"value":1,"next":{"value":2}}})"));
}

TEST(ZodGaps, PropertyNamesEnumDrawsKeysFromTheEnumOnce) {
  // zod-to-json-schema output for z.record(z.enum(["de", "en"]), z.string()).
  std::string schema = R"({"type":"object","properties":{"names":{"type":"object",
    "additionalProperties":{"type":"string"},"propertyNames":{"enum":["de","en"]}}},
    "required":["names"],"additionalProperties":false})";
  std::set<std::string> seen;
  for (const auto& w : walks(schema, 60))
    for (const auto& [k, v] : w.as_object().at("names").as_object()) {
      EXPECT_TRUE(k == "de" || k == "en") << w;
      EXPECT_TRUE(v.is_string()) << w;
      seen.insert(std::string(k));
    }
  EXPECT_EQ(seen.size(), 2u);
}

TEST(ZodGaps, ContentEncodingBase64GeneratesAndValidatesBase64) {
  // zod-to-json-schema output for Zod 3's z.string().base64().
  std::string schema = R"({"type":"object","properties":{"b":{"type":"string",
    "contentEncoding":"base64"}},"required":["b"],"additionalProperties":false})";
  // Zod 3's base64 regex.
  std::regex zod3("^([0-9a-zA-Z+/]{4})*(([0-9a-zA-Z+/]{2}==)|([0-9a-zA-Z+/]{3}=))?$");
  for (const auto& w : walks(schema))
    EXPECT_TRUE(std::regex_match(std::string(w.as_object().at("b").as_string()), zod3)) << w;
  EXPECT_TRUE(validate(schema, R"({"b":"aGk="})"));
  EXPECT_FALSE(validate(schema, R"({"b":"not base64!"})"));
}

TEST(ZodGaps, UrlHostsEndInALabelStartingWithALetter) {
  // new URL("https://a.5") throws (a numeric last label is read as IPv4), so Zod refuses it.
  std::regex numeric_tld(R"(^https://[^/]*\.[0-9][^./]*(/.*)?$)");
  for (const auto& w : walks(R"({"type":"string","format":"uri"})", 200))
    EXPECT_FALSE(std::regex_match(std::string(w.as_string()), numeric_tld)) << w;
}

}  // namespace
}  // namespace plinth::structured
