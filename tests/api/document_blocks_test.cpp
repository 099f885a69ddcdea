// Document content blocks in Converse, Anthropic Messages and OpenAI chat bodies: Bedrock's
// rules (formats, names, 5 per request, 4.5 MB, bytes matching the format) and the prompt text
// every API renders them into.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "../documents/test_ooxml.h"
#include "../documents/test_pdf.h"
#include "plinth/api/bedrock_converse.h"
#include "plinth/api/bedrock_invoke.h"
#include "plinth/api/openai.h"
#include "plinth/core/encoding.h"

namespace plinth::api {
namespace {

namespace json = boost::json;
using documents::testing::make_docx;
using documents::testing::make_pdf;
using documents::testing::make_xlsx;
using providers::ContentBlock;

json::object document(std::string_view format, std::string_view name, std::string_view bytes) {
  return {{"document",
           {{"format", format}, {"name", name}, {"source", {{"bytes", base64_encode(bytes)}}}}}};
}

Result<providers::InferenceRequest> converse(json::array content) {
  content.push_back(json::object{{"text", "What is the total?"}});
  json::object body{
      {"messages", json::array{json::object{{"role", "user"}, {"content", content}}}}};
  return parse_converse_request(json::serialize(body), RequestLimits{});
}

std::string error_of(json::array content) {
  auto request = converse(std::move(content));
  if (request) return "(accepted)";
  EXPECT_EQ(request.error().code, ErrorCode::kInvalidArgument);
  return request.error().message;
}

TEST(ConverseDocuments, RendersEachFormatBeforeTheQuestion) {
  std::string pdf = make_pdf({{"Invoice INV-42", "Total 120.50 EUR"}});
  auto request = converse({json::object{{"text", "Read these."}},
                           document("pdf", "Invoice (March) [final]", pdf),
                           document("csv", "prices", "item,price\nbolt,0.10\n"),
                           document("html", "page", "<h1>Title</h1><script>x()</script><p>Body"),
                           document("docx", "memo", make_docx({"Memo text"}, {{"a", "b"}})),
                           document("xlsx", "sheet", make_xlsx({{"S1", {{"k", "v"}}}}))});
  ASSERT_TRUE(request) << request.error().message;
  const auto& content = request->messages[0].content;
  ASSERT_EQ(content.size(), 7u);
  EXPECT_EQ(content[0].kind, ContentBlock::Kind::kDocument);
  EXPECT_EQ(content[0].text,
            "<document name=\"Invoice (March) [final]\" format=\"pdf\">\nInvoice INV-42\nTotal "
            "120.50 EUR\n</document>\n\n");
  EXPECT_TRUE(content[0].document_bytes.empty());
  EXPECT_EQ(content[1].text,
            "<document name=\"prices\" format=\"csv\">\nitem,price\nbolt,0.10\n</document>\n\n");
  EXPECT_EQ(content[2].text,
            "<document name=\"page\" format=\"html\">\nTitle\n\nBody\n</document>\n\n");
  EXPECT_EQ(content[3].text,
            "<document name=\"memo\" format=\"docx\">\nMemo text\na | b\n</document>\n\n");
  EXPECT_EQ(content[4].text,
            "<document name=\"sheet\" format=\"xlsx\">\nSheet: S1\nk,v\n</document>\n\n");
  // The question comes after the documents, in the order sent.
  EXPECT_EQ(content[5].text, "Read these.");
  EXPECT_EQ(content[6].text, "What is the total?");
}

TEST(ConverseDocuments, AtMostFiveUniquelyNamedDocuments) {
  json::array six;
  for (int i = 0; i < 6; ++i) six.push_back(document("txt", "d" + std::to_string(i), "text"));
  EXPECT_NE(error_of(six).find("at most 5 documents"), std::string::npos);
  six.pop_back();
  EXPECT_EQ(error_of(six), "(accepted)");
  EXPECT_NE(error_of({document("txt", "same", "a"), document("md", "same", "b")})
                .find("'same' is used more than once"),
            std::string::npos);
}

TEST(ConverseDocuments, NameRules) {
  for (std::string_view bad : {"two  spaces", "under_score", "dot.pdf", "quote\"", "tab\t\tx"}) {
    EXPECT_NE(error_of({document("txt", bad, "a")}).find("is not valid: it may contain only"),
              std::string::npos)
        << bad;
  }
  EXPECT_NE(error_of({document("txt", std::string(201, 'a'), "a")}).find("1 to 200"),
            std::string::npos);
  EXPECT_NE(error_of({document("txt", "", "a")}).find("1 to 200"), std::string::npos);
  EXPECT_EQ(error_of({document("txt", "A-b (1) [x] y", "a")}), "(accepted)");
}

TEST(ConverseDocuments, SizeBoundIsFourAndAHalfMegabytes) {
  std::string big(4718592, 'a');
  EXPECT_EQ(error_of({document("txt", "big", big)}), "(accepted)");
  big += 'a';
  EXPECT_NE(error_of({document("txt", "big", big)}).find("the limit is 4.5 MB"), std::string::npos);
  std::string huge(8 << 20, 'a');  // refused from the base64 length, before decoding
  EXPECT_NE(error_of({document("txt", "huge", huge)}).find("larger than the 4.5 MB limit"),
            std::string::npos);
}

TEST(ConverseDocuments, FormatsAndBytesMustAgree) {
  std::string pdf = make_pdf({{"x"}});
  EXPECT_NE(error_of({document("pdf", "d", "a,b\n")}).find("not a PDF"), std::string::npos);
  EXPECT_NE(error_of({document("docx", "d", pdf)}).find("no zip signature"), std::string::npos);
  EXPECT_NE(error_of({document("xlsx", "d", make_docx({"x"}))}).find("xl/workbook.xml"),
            std::string::npos);
  EXPECT_NE(error_of({document("csv", "d", pdf)}).find("not text"), std::string::npos);
  EXPECT_NE(error_of({document("doc", "d", "x")}).find("format 'doc'"), std::string::npos);
  EXPECT_NE(error_of({document("xls", "d", "x")}).find("format 'xls'"), std::string::npos);
  EXPECT_NE(error_of({document("rtf", "d", "x")}).find("enum value set"), std::string::npos);
  std::string zip = make_docx({"x"});
  EXPECT_NE(error_of({document("docx", "d", zip.substr(0, zip.size() - 30))}).find("corrupt"),
            std::string::npos);
}

TEST(ConverseDocuments, UnusableFilesSayWhy) {
  EXPECT_NE(error_of({document("pdf", "locked", make_pdf({{"secret"}}, {.encrypted = true}))})
                .find("could not be read: the PDF is encrypted"),
            std::string::npos);
  EXPECT_NE(error_of({document("pdf", "scan", make_pdf({{}}))}).find("no text layer"),
            std::string::npos);
  json::object bad_base64{
      {"document", {{"format", "txt"}, {"name", "b"}, {"source", {{"bytes", "%%%"}}}}}};
  EXPECT_NE(error_of({bad_base64}).find("not valid base64"), std::string::npos);
}

TEST(AnthropicDocuments, Base64PdfAndPlainText) {
  std::string pdf = make_pdf({{"Total 99"}});
  json::object body{
      {"anthropic_version", "bedrock-2023-05-31"},
      {"max_tokens", 16},
      {"messages", json::array{json::object{
                       {"role", "user"},
                       {"content", json::array{json::object{{"type", "text"}, {"text", "Sum?"}},
                                               json::object{{"type", "document"},
                                                            {"source",
                                                             {{"type", "base64"},
                                                              {"media_type", "application/pdf"},
                                                              {"data", base64_encode(pdf)}}}},
                                               json::object{{"type", "document"},
                                                            {"title", "Notes \"v2\""},
                                                            {"source",
                                                             {{"type", "text"},
                                                              {"media_type", "text/plain"},
                                                              {"data", "n1"}}}}}}}}}};
  catalog::ModelEntry model;
  model.id = "anthropic.claude-3-haiku-20240307-v1:0";
  auto request = parse_invoke_request(json::serialize(body), model, RequestLimits{});
  ASSERT_TRUE(request) << request.error().message;
  const auto& content = request->inference.messages[0].content;
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0].text,
            "<document name=\"Document 1\" format=\"pdf\">\nTotal 99\n</document>\n\n");
  EXPECT_EQ(content[1].text, "<document name=\"Notes  v2 \" format=\"txt\">\nn1\n</document>\n\n");
  EXPECT_EQ(content[2].text, "Sum?");
  body["messages"]
      .as_array()[0]
      .as_object()["content"]
      .as_array()[1]
      .as_object()["source"]
      .as_object()["media_type"] = "image/png";
  auto refused = parse_invoke_request(json::serialize(body), model, RequestLimits{});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("media_type image/png is not supported"),
            std::string::npos);
}

TEST(OpenAiDocuments, FilePartsWithDataUrls) {
  std::string xlsx = make_xlsx({{"S", {{"a", "b"}}}});
  json::object body{
      {"model", "small"},
      {"messages",
       json::array{json::object{
           {"role", "user"},
           {"content",
            json::array{json::object{{"type", "text"}, {"text", "Explain"}},
                        json::object{{"type", "file"},
                                     {"file",
                                      {{"filename", "book.xlsx"},
                                       {"file_data", "data:application/octet-stream;base64," +
                                                         base64_encode(xlsx)}}}},
                        json::object{{"type", "file"},
                                     {"file",
                                      {{"file_data",
                                        "data:text/csv;base64," + base64_encode("x,y\n")}}}}}}}}}};
  auto request = parse_chat_completion_request(json::serialize(body), RequestLimits{});
  ASSERT_TRUE(request) << request.error().message;
  const auto& content = request->inference.messages[0].content;
  ASSERT_EQ(content.size(), 3u);
  EXPECT_EQ(content[0].text,
            "<document name=\"book.xlsx\" format=\"xlsx\">\nSheet: S\na,b\n</document>\n\n");
  EXPECT_EQ(content[1].text, "<document name=\"Document 2\" format=\"csv\">\nx,y\n</document>\n\n");
  EXPECT_EQ(content[2].text, "Explain");
  body["messages"].as_array()[0].as_object()["content"].as_array()[2].as_object()["file"] =
      json::object{{"file_id", "file-123"}};
  auto refused = parse_chat_completion_request(json::serialize(body), RequestLimits{});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not file_id"), std::string::npos);
}

}  // namespace
}  // namespace plinth::api
