// The shared-file parser: sections, comments, sub-properties, bounds.
#include "plinth/aws/ini.h"

#include <gtest/gtest.h>

namespace plinth::aws {
namespace {

TEST(SharedFile, ParsesSectionsKeysAndComments) {
  auto file = parse_ini(
      "# comment\n[default]\naws_access_key_id = AKIA1\r\nAWS_Secret_Access_Key=s1\n"
      "; another\n[profile dev] # note\nrole_arn = arn:aws:iam::1:role/r\nsource_profile=default\n"
      "s3 =\n  max_concurrent_requests = 10\nregion = eu-west-1\n\n[ spaced ]\nk = v = w\n");
  ASSERT_TRUE(file.has_value()) << file.error().message;
  EXPECT_EQ(file->at("default").at("aws_access_key_id"), "AKIA1");
  EXPECT_EQ(file->at("default").at("aws_secret_access_key"), "s1");
  const IniSection* dev = config_profile(*file, "dev");
  ASSERT_NE(dev, nullptr);
  EXPECT_EQ(dev->at("role_arn"), "arn:aws:iam::1:role/r");
  EXPECT_EQ(dev->at("s3.max_concurrent_requests"), "10");
  EXPECT_EQ(dev->at("region"), "eu-west-1");
  EXPECT_EQ(file->at("spaced").at("k"), "v = w");
  EXPECT_NE(config_profile(*file, "default"), nullptr);
  EXPECT_EQ(config_profile(*file, "spaced"), nullptr);  // config files need "profile "
}

TEST(SharedFile, LaterDuplicatesWinAndSectionsMerge) {
  auto file = parse_ini("[a]\nx=1\n[b]\ny=2\n[a]\nx=3\nz=4\n");
  ASSERT_TRUE(file.has_value());
  EXPECT_EQ(file->at("a").at("x"), "3");
  EXPECT_EQ(file->at("a").at("z"), "4");
}

TEST(SharedFile, RefusesMalformedLines) {
  EXPECT_FALSE(parse_ini("[default\nx=1\n").has_value());
  EXPECT_FALSE(parse_ini("x=1\n").has_value());  // outside a section
  EXPECT_FALSE(parse_ini("[a]\njust words\n").has_value());
  EXPECT_FALSE(parse_ini("[]\n").has_value());
  EXPECT_FALSE(parse_ini("[a]\n= value\n").has_value());
}

TEST(SharedFile, RefusesFilesBeyondItsBounds) {
  std::string big(kMaxIniBytes + 1, '#');
  EXPECT_FALSE(parse_ini(big).has_value());
  std::string sections;
  for (size_t i = 0; i <= kMaxIniSections; ++i) sections += "[s" + std::to_string(i) + "]\n";
  auto many = parse_ini(sections);
  ASSERT_FALSE(many.has_value());
  EXPECT_NE(many.error().message.find("4096 sections"), std::string::npos);
  std::string keys = "[a]\n";
  for (size_t i = 0; i <= kMaxIniKeysPerSection; ++i) keys += "k" + std::to_string(i) + "=v\n";
  auto wide = parse_ini(keys);
  ASSERT_FALSE(wide.has_value());
  EXPECT_NE(wide.error().message.find("512 keys"), std::string::npos);
  // Exactly at the bounds is fine.
  sections.resize(sections.rfind('['));
  EXPECT_TRUE(parse_ini(sections).has_value());
}

}  // namespace
}  // namespace plinth::aws
