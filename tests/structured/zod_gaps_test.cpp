// Zod schemas the acceptance corpus found refused or mis-generated: each compiles, every random
// walk validates, and walks satisfy Zod's own check for the feature.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <regex>

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

}  // namespace
}  // namespace plinth::structured
