// PDF text extraction with poppler-cpp, page by page, with clear reasons for unusable files.
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>

#include <memory>
#include <mutex>

#include "plinth/documents/parsing.h"

namespace plinth::documents {
namespace {

// Poppler reports syntax errors of damaged files on stderr; they become our own error message.
void silence_poppler() {
  static std::once_flag once;
  std::call_once(
      once, [] { poppler::set_debug_error_function([](const std::string&, void*) {}, nullptr); });
}

constexpr int kMaxPages = 5000;

}  // namespace

Result<ParsedText> parse_pdf(std::string_view bytes) {
  silence_poppler();
  if (bytes.empty()) return fail(ErrorCode::kInvalidArgument, "the document is empty");
  if (!bytes.starts_with("%PDF-")) {
    return fail(ErrorCode::kInvalidArgument, "the document is not a PDF (no %PDF- header)");
  }
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    return fail(ErrorCode::kInvalidArgument, "the PDF is too large");
  }
  std::unique_ptr<poppler::document> document(
      poppler::document::load_from_raw_data(bytes.data(), static_cast<int>(bytes.size())));
  if (!document) {
    return fail(ErrorCode::kInvalidArgument, "the PDF is corrupt or truncated");
  }
  if (document->is_locked()) {
    return fail(ErrorCode::kInvalidArgument,
                "the PDF is encrypted with a password; submit an unencrypted copy");
  }
  int pages = document->pages();
  if (pages <= 0) return fail(ErrorCode::kInvalidArgument, "the PDF has no pages");
  if (pages > kMaxPages) {
    return fail(ErrorCode::kInvalidArgument, "the PDF has " + std::to_string(pages) +
                                                 " pages; the limit is " +
                                                 std::to_string(kMaxPages));
  }
  std::string text;
  for (int i = 0; i < pages; ++i) {
    std::unique_ptr<poppler::page> page(document->create_page(i));
    if (!page) return fail(ErrorCode::kInvalidArgument, "the PDF is corrupt or truncated");
    poppler::byte_array utf8 = page->text().to_utf8();
    if (!text.empty()) text += "\n\n";  // a paragraph break between pages
    text.append(utf8.begin(), utf8.end());
  }
  bool has_text = text.find_first_not_of(" \t\r\n\f\v") != std::string::npos;
  if (!has_text) {
    return fail(ErrorCode::kInvalidArgument,
                "the PDF has no text layer (scanned images?); run OCR on it first");
  }
  if (!is_valid_utf8(text)) {
    return fail(ErrorCode::kInvalidArgument, "the PDF's text is not valid UTF-8");
  }
  return text_stats(std::move(text), pages);
}

}  // namespace plinth::documents
