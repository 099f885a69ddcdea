// Media types, UTF-8 checks, text statistics, multipart bodies and chunking for embeddings.
#include "plinth/documents/parsing.h"

#include <algorithm>
#include <cctype>

namespace plinth::documents {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// The value of parameter `name` in a header like `multipart/form-data; boundary="x"`.
std::string header_parameter(std::string_view header, std::string_view name) {
  size_t semi = header.find(';');
  while (semi != std::string_view::npos) {
    std::string_view rest = header.substr(semi + 1);
    size_t next = rest.find(';');
    std::string_view pair = trim(rest.substr(0, next));
    size_t eq = pair.find('=');
    if (eq != std::string_view::npos && lower(trim(pair.substr(0, eq))) == name) {
      std::string_view value = trim(pair.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      return std::string(value);
    }
    semi = next == std::string_view::npos ? next : semi + 1 + next;
  }
  return "";
}

}  // namespace

std::string normalized_media_type(std::string_view content_type) {
  std::string type = lower(trim(content_type.substr(0, content_type.find(';'))));
  if (type == "application/pdf" || type == "text/plain" || type == "text/markdown" ||
      type == "text/html" || type == "text/csv" || type == kDocxMediaType ||
      type == kXlsxMediaType) {
    return type;
  }
  if (type == "text/x-markdown") return "text/markdown";
  if (type == "application/csv") return "text/csv";
  return "";
}

bool is_valid_utf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    int extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;
    for (int k = 1; k <= extra; ++k) {
      auto d = static_cast<unsigned char>(text[i + k]);
      if ((d & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

ParsedText text_stats(std::string text, int pages) {
  ParsedText parsed;
  parsed.pages = pages;
  bool in_word = false;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++parsed.characters;
    bool space = is_space(c);
    if (!space && !in_word) ++parsed.words;
    in_word = !space;
  }
  parsed.text = std::move(text);
  return parsed;
}

Result<ParsedText> parse_document(std::string_view media_type, std::string_view bytes) {
  std::string type = normalized_media_type(media_type);
  if (type.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "unsupported content type '" + std::string(media_type) +
                    "'; use application/pdf, text/plain, text/markdown, text/html, text/csv, " +
                    std::string(kDocxMediaType) + " or " + std::string(kXlsxMediaType));
  }
  if (type == "application/pdf") return parse_pdf(bytes);
  if (type == kDocxMediaType) return parse_docx(bytes);
  if (type == kXlsxMediaType) return parse_xlsx(bytes);
  // Text formats: the bytes must be text, not a file of another format sent under a text name.
  if (bytes.starts_with("%PDF-") || bytes.starts_with("PK\x03\x04") ||
      bytes.starts_with("\xD0\xCF\x11\xE0")) {
    return fail(ErrorCode::kInvalidArgument, "the " + type +
                                                 " document's bytes are a PDF or Office file, "
                                                 "not text; send it with its own format");
  }
  if (bytes.find('\0') != std::string_view::npos || !is_valid_utf8(bytes)) {
    return fail(ErrorCode::kInvalidArgument,
                "the " + type + " document is not valid UTF-8 text (binary data?)");
  }
  std::string text;
  if (type == "text/html") {
    auto html = html_to_text(bytes);
    if (!html) return std::unexpected(html.error());
    text = std::move(*html);
  } else {
    text = std::string(bytes);
  }
  if (trim(text).empty()) return fail(ErrorCode::kInvalidArgument, "the document is empty");
  return text_stats(std::move(text), 1);
}

Result<FilePart> parse_multipart_file(std::string_view content_type, std::string_view body) {
  std::string boundary = header_parameter(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 200) {
    return fail(ErrorCode::kInvalidArgument, "multipart/form-data needs a boundary parameter");
  }
  std::string delimiter = "--" + boundary;
  size_t at = body.find(delimiter);
  while (at != std::string_view::npos) {
    size_t start = at + delimiter.size();
    if (body.substr(start, 2) == "--") break;  // the closing delimiter
    size_t headers_end = body.find("\r\n\r\n", start);
    if (headers_end == std::string_view::npos) break;
    std::string_view headers = body.substr(start, headers_end - start);
    size_t content_start = headers_end + 4;
    size_t next = body.find("\r\n" + delimiter, content_start);
    if (next == std::string_view::npos) {
      return fail(ErrorCode::kInvalidArgument, "the multipart body is truncated");
    }
    FilePart part;
    bool is_file = false;
    size_t line_start = 0;
    while (line_start < headers.size()) {
      size_t line_end = headers.find("\r\n", line_start);
      std::string_view line = headers.substr(line_start, line_end - line_start);
      line_start = line_end == std::string_view::npos ? headers.size() : line_end + 2;
      size_t colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      std::string name = lower(trim(line.substr(0, colon)));
      std::string_view value = trim(line.substr(colon + 1));
      if (name == "content-type") part.content_type = std::string(value);
      if (name == "content-disposition") {
        part.filename = header_parameter(value, "filename");
        is_file = value.find("filename") != std::string_view::npos;
      }
    }
    if (is_file) {
      part.bytes = std::string(body.substr(content_start, next - content_start));
      return part;
    }
    at = next + 2;
  }
  return fail(ErrorCode::kInvalidArgument,
              "the multipart/form-data body has no file part (a part with a filename)");
}

std::vector<std::string> chunk_text(std::string_view text, const ChunkOptions& options) {
  std::vector<std::string_view> words;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i])) ++i;
    size_t start = i;
    while (i < text.size() && !is_space(text[i])) ++i;
    if (i > start) words.push_back(text.substr(start, i - start));
  }
  int max_words = std::max(1, options.max_words);
  int step = std::max(1, max_words - std::clamp(options.overlap_words, 0, max_words - 1));
  std::vector<std::string> chunks;
  for (size_t first = 0; first < words.size(); first += step) {
    size_t last = std::min(words.size(), first + max_words);
    std::string chunk;
    for (size_t w = first; w < last; ++w) {
      if (w > first) chunk += ' ';
      chunk.append(words[w]);
    }
    chunks.push_back(std::move(chunk));
    if (last == words.size()) break;
  }
  return chunks;
}

}  // namespace plinth::documents
