// Turning submitted bytes into text: PDF (poppler-cpp), HTML (libgumbo), plain text, Markdown and
// CSV, Word and Excel (Office Open XML: libzip + libxml2), the multipart/form-data envelope, and
// splitting text into overlapping chunks for embeddings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "plinth/core/result.h"

namespace plinth::documents {

struct ParsedText {
  std::string text;        // UTF-8
  int pages = 1;           // PDF pages; 1 for the other formats
  int64_t characters = 0;  // Unicode code points
  int64_t words = 0;       // whitespace-separated
};

// The media types a pipeline accepts (kDocxMediaType, kXlsxMediaType, "application/pdf",
// "text/plain", "text/markdown", "text/html", "text/csv"); parameters such as "; charset=utf-8"
// are ignored. Anything else: "".
inline constexpr std::string_view kDocxMediaType =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document";
inline constexpr std::string_view kXlsxMediaType =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
std::string normalized_media_type(std::string_view content_type);

// Extracts the text of a document. Every failure is about the input and will not change on a
// retry: kInvalidArgument with a reason a person can act on ("the PDF is encrypted", "the PDF is
// corrupt or truncated", "the PDF has no text layer (scanned images?)", "the document is empty",
// "the text is not valid UTF-8", "the docx document is corrupt or truncated ...").
Result<ParsedText> parse_document(std::string_view media_type, std::string_view bytes);

Result<ParsedText> parse_pdf(std::string_view bytes);
// Word: paragraphs one per line, table rows one per line with cells separated by " | ".
Result<ParsedText> parse_docx(std::string_view bytes);
// Excel: each sheet as a "Sheet: <name>" line followed by its rows as CSV.
Result<ParsedText> parse_xlsx(std::string_view bytes);
// Visible text of an HTML document, parsed as HTML5 (libgumbo): comments, <script> and <style>
// removed, block elements become line breaks, character references decoded. kInvalidArgument
// for elements nested more than 512 deep (the parser's cost grows with the square of depth).
Result<std::string> html_to_text(std::string_view html);
bool is_valid_utf8(std::string_view text);
// Counts code points and whitespace-separated words of UTF-8 text.
ParsedText text_stats(std::string text, int pages);

// The one file part of a multipart/form-data body. content_type is the request's header (it
// carries the boundary).
struct FilePart {
  std::string filename;
  std::string content_type;  // the part's own Content-Type ("" when absent)
  std::string bytes;
};
Result<FilePart> parse_multipart_file(std::string_view content_type, std::string_view body);

// Chunking for embeddings. Tokens are approximated by whitespace-separated words (the embedding
// model's tokenizer is not at hand here): max_words per chunk, consecutive chunks sharing
// overlap_words.
struct ChunkOptions {
  int max_words = 200;
  int overlap_words = 40;
};
std::vector<std::string> chunk_text(std::string_view text, const ChunkOptions& options = {});

}  // namespace plinth::documents
