// Parsing: PDF text (poppler), unusable PDFs failing with reasons, HTML to text, UTF-8 checks,
// multipart bodies and chunking.
#include "plinth/documents/parsing.h"

#include <gtest/gtest.h>

#include <chrono>

#include "test_pdf.h"

namespace plinth::documents {
namespace {

using testing::make_pdf;

TEST(PdfText, ExtractsTextOfEveryPage) {
  std::string pdf = make_pdf({{"Invoice INV-42", "Total 120.50 EUR"}, {"Page two (final)"}});
  auto parsed = parse_pdf(pdf);
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->pages, 2);
  EXPECT_NE(parsed->text.find("Invoice INV-42"), std::string::npos);
  EXPECT_NE(parsed->text.find("Page two (final)"), std::string::npos);
  EXPECT_EQ(parsed->words, 8);
}

TEST(PdfText, EncryptedPdfFailsWithReason) {
  auto parsed = parse_pdf(make_pdf({{"secret"}}, {.encrypted = true}));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("encrypted"), std::string::npos) << parsed.error().message;
}

TEST(PdfText, TruncatedPdfFailsWithReason) {
  std::string pdf = make_pdf({{"Hello world"}});
  auto parsed = parse_pdf(std::string_view(pdf).substr(0, 40));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("PDF"), std::string::npos);
}

TEST(PdfText, GarbageAfterTheHeaderFails) {
  auto parsed = parse_pdf("%PDF-1.4\n\x01\x02\x03 not a pdf at all");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
}

TEST(PdfText, ImageOnlyPdfSaysThereIsNoTextLayer) {
  auto parsed = parse_pdf(make_pdf({{}}));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("no text layer"), std::string::npos);
}

TEST(PdfText, EmptyAndNonPdfBytesFail) {
  EXPECT_FALSE(parse_pdf(""));
  auto not_pdf = parse_pdf("hello");
  ASSERT_FALSE(not_pdf);
  EXPECT_NE(not_pdf.error().message.find("not a PDF"), std::string::npos);
}

TEST(ParseDocument, DispatchesOnMediaTypeAndIgnoresParameters) {
  auto text = parse_document("text/plain; charset=utf-8", "héllo wörld");
  ASSERT_TRUE(text);
  EXPECT_EQ(text->characters, 11);
  EXPECT_EQ(text->words, 2);
  auto html = parse_document("text/html", "<p>a &amp; b</p>");
  ASSERT_TRUE(html);
  EXPECT_EQ(html->text, "a & b");
  EXPECT_FALSE(parse_document("image/png", "x"));
}

TEST(ParseDocument, BinaryBytesAsTextFailClearly) {
  auto parsed = parse_document("text/plain", std::string("\xff\xfe\x00\x01", 4));
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().message.find("not valid UTF-8"), std::string::npos);
  EXPECT_FALSE(parse_document("text/markdown", "   \n "));
}

TEST(Utf8, RejectsOverlongSurrogatesAndTruncation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii €"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_valid_utf8("ok \xe2\x82"));       // truncated €
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
}

TEST(HtmlToText, DropsScriptsStylesCommentsAndTags) {
  std::string html =
      "<html><head><title>T</title><style>p{color:red}</style>"
      "<SCRIPT>alert('<p>x</p>')</SCRIPT></head><body><!-- hidden -->"
      "<h1>Invoice</h1><p>Total:&nbsp;<b>120</b> &euro; &#x41;&#66; &bogus;</p></body></html>";
  std::string text = html_to_text(html).value_or("");
  EXPECT_EQ(text.find("alert"), std::string::npos);
  EXPECT_EQ(text.find("color"), std::string::npos);
  EXPECT_EQ(text.find("hidden"), std::string::npos);
  EXPECT_NE(text.find("Invoice\n\nTotal:\u00a0120 \u20ac AB &bogus;"), std::string::npos) << text;
}

TEST(HtmlToText, UnterminatedMarkupDoesNotLoop) {
  EXPECT_EQ(html_to_text("a <b").value_or("?"), "a");
  EXPECT_EQ(html_to_text("x<script>never closed").value_or("?"), "x");
  EXPECT_EQ(html_to_text("&#99999999;").value_or("?"), "\uFFFD");
  EXPECT_EQ(html_to_text("&#55296;").value_or("?"), "\uFFFD");  // a lone surrogate
}

// Seconds html_to_text takes for `bytes` ampersands (the best of three runs).
double seconds_for_ampersands(size_t bytes) {
  std::string html(bytes, '&');
  double best = 1e9;
  for (int run = 0; run < 3; ++run) {
    auto start = std::chrono::steady_clock::now();
    std::string text = html_to_text(html).value_or("");
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    EXPECT_EQ(text.size(), bytes);
    best = std::min(best, took.count());
  }
  return best;
}

TEST(HtmlToText, AmpersandsWithoutSemicolonsDecodeInLinearTime) {
  // Each '&' used to search the rest of the text for ';' (2 MB: 26 s).
  EXPECT_LT(seconds_for_ampersands(2 << 20), 2.0);
  double one = seconds_for_ampersands(1 << 20);
  double four = seconds_for_ampersands(4 << 20);
  EXPECT_LT(four, 8 * one + 0.05) << "1 MB: " << one << " s, 4 MB: " << four << " s";
  EXPECT_EQ(html_to_text("&amp;&&lt;&#x41;&#65;&").value_or("?"), "&&<AA&");
}

TEST(Multipart, FindsTheFilePart) {
  std::string body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.md\"\r\n"
      "Content-Type: text/markdown\r\n\r\n# Title\r\nbody\r\n--XyZ--\r\n";
  auto part = parse_multipart_file("multipart/form-data; boundary=XyZ", body);
  ASSERT_TRUE(part) << part.error().message;
  EXPECT_EQ(part->filename, "a.md");
  EXPECT_EQ(part->content_type, "text/markdown");
  EXPECT_EQ(part->bytes, "# Title\r\nbody");
}

TEST(Multipart, MissingBoundaryOrFilePartFails) {
  EXPECT_FALSE(parse_multipart_file("multipart/form-data", "x"));
  EXPECT_FALSE(
      parse_multipart_file("multipart/form-data; boundary=\"b\"",
                           "--b\r\nContent-Disposition: form-data; name=x\r\n\r\nv\r\n--b--"));
  EXPECT_FALSE(parse_multipart_file("multipart/form-data; boundary=b",
                                    "--b\r\nContent-Disposition: form-data; filename=x\r\n\r\nv"));
}

TEST(Chunking, SplitsByWordsWithOverlap) {
  std::string text;
  for (int i = 0; i < 25; ++i) text += "w" + std::to_string(i) + (i % 7 == 6 ? "\n\n" : " ");
  auto chunks = chunk_text(text, {.max_words = 10, .overlap_words = 3});
  ASSERT_EQ(chunks.size(), 4u);  // words 0-9, 7-16, 14-23, 21-24
  EXPECT_TRUE(chunks[0].starts_with("w0 w1"));
  EXPECT_TRUE(chunks[1].starts_with("w7 w8 w9"));  // three words shared with chunk 0
  EXPECT_TRUE(chunks.back().ends_with("w24"));
}

TEST(Chunking, ShortAndEmptyTexts) {
  EXPECT_TRUE(chunk_text("  \n ").empty());
  EXPECT_EQ(chunk_text("one two", {.max_words = 10, .overlap_words = 20}),
            std::vector<std::string>{"one two"});
}

}  // namespace
}  // namespace plinth::documents
