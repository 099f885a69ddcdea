#include "plinth/core/encoding.h"

#include <gtest/gtest.h>

namespace plinth {

TEST(Encoding, HexRoundTrip) {
  EXPECT_EQ(hex_encode("\x01\xab"), "01ab");
  EXPECT_EQ(*hex_decode("01AB"), "\x01\xab");
  EXPECT_FALSE(hex_decode("0"));
  EXPECT_FALSE(hex_decode("zz"));
}

TEST(Encoding, Base64MatchesRfc4648Vectors) {
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(*base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(*base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64_decode("Zm9v!"));
}

TEST(Encoding, UriEncodeKeepsUnreservedOnly) {
  EXPECT_EQ(uri_encode("a b/c:d~"), "a%20b%2Fc%3Ad~");
  EXPECT_EQ(uri_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(*uri_decode("a%3Ab+c"), "a:b+c");
  EXPECT_EQ(*uri_decode("a+b", true), "a b");
  EXPECT_FALSE(uri_decode("%4"));
  EXPECT_FALSE(uri_decode("%zz"));
}

TEST(Encoding, Utf8ValidationRejectsOverlongsAndSurrogates) {
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));
  EXPECT_FALSE(is_valid_utf8("\xff"));
}

TEST(Encoding, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
}

}  // namespace plinth
