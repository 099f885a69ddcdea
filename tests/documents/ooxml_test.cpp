// Office Open XML and CSV: .docx paragraphs and tables, .xlsx sheets as CSV rows, and refusals
// with reasons (not a zip, wrong package, encrypted, legacy OLE2, zip bombs, DTDs, damage).
#include <gtest/gtest.h>

#include "ooxml_package.h"
#include "plinth/documents/parsing.h"
#include "test_ooxml.h"

namespace plinth::documents {
namespace {

using testing::make_docx;
using testing::make_xlsx;
using testing::make_zip;

std::string error_of(const Result<ParsedText>& parsed) {
  return parsed ? "(parsed: " + parsed->text + ")" : parsed.error().message;
}

TEST(DocxText, ParagraphsAndTableRows) {
  auto parsed = parse_docx(
      make_docx({"Quarterly report", "Revenue & costs"}, {{"Item", "Amount"}, {"Widgets", "120"}}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->text, "Quarterly report\nRevenue & costs\nItem | Amount\nWidgets | 120");
}

TEST(XlsxText, SheetsBecomeCsvRowsWithGapsAndQuoting) {
  auto parsed = parse_xlsx(make_xlsx({{"Prices", {{"Name", "Price"}, {"Bolt, M6", "", "0.10"}}},
                                      {"Notes", {{"", "said \"hi\""}}}}));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->text,
            "Sheet: Prices\nName,Price\n\"Bolt, M6\",,0.10\n\nSheet: Notes\n,\"said \"\"hi\"\"\"");
}

TEST(OoxmlText, MediaTypesReachTheReaders) {
  auto docx = parse_document(kDocxMediaType, make_docx({"hello docx"}));
  ASSERT_TRUE(docx) << docx.error().message;
  EXPECT_EQ(docx->text, "hello docx");
  auto csv = parse_document("text/csv", "a,b\n1,2\n");
  ASSERT_TRUE(csv) << csv.error().message;
  EXPECT_EQ(csv->words, 2);
  EXPECT_EQ(normalized_media_type(std::string(kXlsxMediaType) + "; x=y"), kXlsxMediaType);
}

TEST(OoxmlText, WrongOrDamagedFilesFailWithReasons) {
  EXPECT_NE(error_of(parse_docx("%PDF-1.4 ...")).find("no zip signature"), std::string::npos);
  EXPECT_NE(error_of(parse_docx(make_xlsx({{"S", {{"x"}}}}))).find("word/document.xml"),
            std::string::npos);
  EXPECT_NE(error_of(parse_xlsx(make_docx({"x"}))).find("xl/workbook.xml"), std::string::npos);
  std::string docx = make_docx({"x"});
  EXPECT_NE(error_of(parse_docx(docx.substr(0, docx.size() / 2))).find("corrupt"),
            std::string::npos);
  EXPECT_NE(error_of(parse_docx(std::string("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8) + "rest"))
                .find("encrypted with a password or is a legacy"),
            std::string::npos);
  EXPECT_NE(error_of(parse_docx(make_zip({{"word/document.xml", "<w:document><w:body>"}})))
                .find("malformed XML"),
            std::string::npos);
  EXPECT_NE(error_of(parse_docx(make_docx({" "}))).find("has no text"), std::string::npos);
  // A CSV that is really a PDF or a zip: the format must match the bytes.
  EXPECT_NE(error_of(parse_document("text/csv", docx)).find("not text"), std::string::npos);
}

TEST(OoxmlText, EncryptedPartIsRefused) {
  std::string zip = make_zip({{"word/document.xml", "<w:document/>", "secret"}});
  EXPECT_NE(error_of(parse_docx(zip)).find("encrypted"), std::string::npos)
      << error_of(parse_docx(zip));
}

TEST(OoxmlText, ZipBombsAreRefusedBeforeInflating) {
  // 2 MB of zeros deflates about 1000:1, past the 200:1 bound for parts over 1 MB.
  std::string zip = make_zip({{"word/document.xml", std::string(2 << 20, '\0')}});
  ASSERT_LT(zip.size(), 64u << 10);
  EXPECT_NE(error_of(parse_docx(zip)).find("zip bomb"), std::string::npos)
      << error_of(parse_docx(zip));
  // A part larger than 32 MB is refused whatever its ratio.
  std::string big(33 << 20, 'a');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + (i * 31) % 26);
  EXPECT_NE(error_of(parse_docx(make_zip({{"word/document.xml", big}}))).find("expands too much"),
            std::string::npos);
}

TEST(OoxmlText, TooManyEntriesAreRefused) {
  std::vector<testing::ZipEntry> entries;
  for (int i = 0; i <= 10000; ++i) entries.push_back({"f" + std::to_string(i), ""});
  EXPECT_NE(error_of(parse_docx(make_zip(entries))).find("the limit is 10000"), std::string::npos);
}

TEST(OoxmlPackage, TotalUncompressedBytesAreBounded) {
  std::string zip = make_zip({{"a.xml", std::string(60, 'a')}, {"b.xml", std::string(60, 'b')}});
  auto package = OoxmlPackage::open(zip, "the test", {.max_total_bytes = 100});
  ASSERT_TRUE(package) << package.error().message;
  EXPECT_TRUE(package->read_part("a.xml"));
  auto second = package->read_part("b.xml");
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("expands too much"), std::string::npos);
  EXPECT_NE(package->read_part("c.xml").error().message.find("has no part c.xml"),
            std::string::npos);
}

TEST(XlsxText, SheetCountIsBounded) {
  std::string sheets;
  for (int i = 0; i <= 1000; ++i) sheets += "<sheet name=\"s\" r:id=\"rId1\"/>";
  std::string zip = make_zip(
      {{"xl/workbook.xml", "<workbook xmlns:r=\"r\"><sheets>" + sheets + "</sheets></workbook>"},
       {"xl/_rels/workbook.xml.rels", "<Relationships/>"}});
  EXPECT_NE(error_of(parse_xlsx(zip)).find("more than 1000 sheets"), std::string::npos);
}

TEST(OoxmlText, DtdsAndDeepNestingAreRefused) {
  std::string laughs =
      "<?xml version=\"1.0\"?><!DOCTYPE d [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
      "<w:document "
      "xmlns:w=\"w\"><w:body><w:p><w:r><w:t>&b;</w:t></w:r></w:p></w:body></w:document>";
  EXPECT_NE(error_of(parse_docx(make_zip({{"word/document.xml", laughs}}))).find("DTD"),
            std::string::npos);
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "<w:sdt>";
  deep += "<w:p><w:r><w:t>deep</w:t></w:r></w:p>";
  for (int i = 0; i < 300; ++i) deep += "</w:sdt>";
  std::string xml = "<w:document xmlns:w=\"w\"><w:body>" + deep + "</w:body></w:document>";
  EXPECT_NE(error_of(parse_docx(make_zip({{"word/document.xml", xml}}))).find("malformed XML"),
            std::string::npos);
}

TEST(XlsxText, BadSharedStringIndexAndFarColumnsAreBounded) {
  std::string sheet =
      "<worksheet><sheetData><row><c r=\"A1\" t=\"s\"><v>7</v></c></row></sheetData></worksheet>";
  std::string zip = make_zip({{"xl/workbook.xml",
                               "<workbook><sheets><sheet name=\"S\" r:id=\"rId1\" "
                               "xmlns:r=\"r\"/></sheets></workbook>"},
                              {"xl/_rels/workbook.xml.rels",
                               "<Relationships><Relationship Id=\"rId1\" "
                               "Target=\"worksheets/sheet1.xml\"/></Relationships>"},
                              {"xl/worksheets/sheet1.xml", sheet}});
  EXPECT_NE(error_of(parse_xlsx(zip)).find("shared string 7"), std::string::npos);
  // Each row reaching column XFD renders 16,383 commas: the text bound stops the growth.
  std::string rows;
  for (int r = 1; r <= 2100; ++r)
    rows += "<row><c r=\"XFD" + std::to_string(r) + "\"><v>1</v></c></row>";
  std::string wide = make_zip(
      {{"xl/workbook.xml",
        "<workbook><sheets><sheet name=\"S\" r:id=\"rId1\" "
        "xmlns:r=\"r\"/></sheets></workbook>"},
       {"xl/_rels/workbook.xml.rels",
        "<Relationships><Relationship Id=\"rId1\" "
        "Target=\"worksheets/sheet1.xml\"/></Relationships>"},
       {"xl/worksheets/sheet1.xml", "<worksheet><sheetData>" + rows + "</sheetData></worksheet>"}});
  EXPECT_NE(error_of(parse_xlsx(wide)).find("MB of text"), std::string::npos);
}

TEST(HtmlGumbo, ParsesAsHtml5) {
  auto text = html_to_text("<table><tr><td>a<td>b</table><p>one<p>two &notin; <br>three");
  ASSERT_TRUE(text) << text.error().message;
  EXPECT_EQ(*text, "a b\n\none\n\ntwo \u2209\nthree") << *text;
}

std::string repeat(std::string_view piece, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += piece;
  return out;
}

TEST(HtmlGumbo, DeepNestingIsRefusedBeforeParsing) {
  EXPECT_TRUE(html_to_text(repeat("<div>", 500) + "x"));
  auto deep = html_to_text(repeat("<div>", 500) + repeat("<span>", 100) + "x");
  ASSERT_FALSE(deep);
  EXPECT_NE(deep.error().message.find("512 levels"), std::string::npos);
  EXPECT_FALSE(parse_document("text/html", repeat("<b>", 600)));
  // Markup that HTML5 nests although it looks closed: the bound must not be fooled.
  for (std::string_view trick :
       {"<div></x>",           // an end tag that closes nothing
        "<span><div></span>",  // </span> cannot close through the special <div>
        "<b><div></b>",        // the adoption agency keeps the <div> and re-opens <b>
        "<div><table></div>",  // </div> cannot close through the table
        "<td><div></td>",      // table parts outside a table are ignored
        "<optgroup><option>",  // an <optgroup> does not close an <optgroup>
        "<dd><li>",            // neither closes the other through a special element
        "<rt>"}) {
    EXPECT_FALSE(html_to_text(repeat(trick, 600))) << trick;
  }
}

TEST(HtmlGumbo, ImpliedEndTagsDoNotCountAsNesting) {
  // Unclosed list items, paragraphs, cells and rows, and paragraphs closed by their block.
  for (std::string_view ok : {"<ul><li>a<li>b</ul>", "<p>one<p>two", "<div><p>text</div>",
                              "<dl><dt>t<dd>d</dl>", "<table><tr><td>1<td>2<tr><td>3</table>",
                              "<select><option>a<option>b</select>", "<p>intro<div>block</div>"}) {
    auto text = html_to_text(repeat(ok, 3000));
    EXPECT_TRUE(text) << ok;
  }
}

}  // namespace
}  // namespace plinth::documents
