// Document content blocks: Bedrock's format, name, size and count rules, and their rendering
// into prompt text with the document pipeline's parsers (poppler, libgumbo, libzip + libxml2).
#include "document_blocks.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <set>
#include <utility>

#include "plinth/core/encoding.h"
#include "plinth/documents/parsing.h"

namespace plinth::api::document_blocks {
namespace {

using providers::ContentBlock;

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

struct Format {
  std::string_view name;
  std::string_view media_type;
};
constexpr std::array<Format, 7> kFormats{{{"pdf", "application/pdf"},
                                          {"csv", "text/csv"},
                                          {"html", "text/html"},
                                          {"txt", "text/plain"},
                                          {"md", "text/markdown"},
                                          {"docx", documents::kDocxMediaType},
                                          {"xlsx", documents::kXlsxMediaType}}};

const Format* find_format(std::string_view name) {
  for (const Format& f : kFormats) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

// The name as it appears in the prompt's name="..." attribute: no quotes, angle brackets or
// line breaks (Converse names cannot hold them; Anthropic titles and OpenAI filenames can).
std::string prompt_name(std::string_view name) {
  std::string out;
  for (char c : name.substr(0, kMaxNameLength)) {
    bool unsafe = c == '"' || c == '<' || c == '>' || c == '\n' || c == '\r' || c == '\t';
    out += unsafe ? ' ' : c;
  }
  return out;
}

Result<std::string> extract_text(const ContentBlock& block) {
  const Format* format = find_format(block.document_format);
  if (format == nullptr) return invalid("unsupported format " + block.document_format);
  auto parsed = documents::parse_document(format->media_type, block.document_bytes);
  if (!parsed) {
    return invalid("The document '" + block.document_name + "' (format " + block.document_format +
                   ") could not be read: " + parsed.error().message);
  }
  return std::move(parsed->text);
}

}  // namespace

Status check_bedrock_name(std::string_view name, std::string_view path) {
  if (name.empty() || name.size() > kMaxNameLength) {
    return invalid("The document name at " + std::string(path) + " must be 1 to " +
                   std::to_string(kMaxNameLength) + " characters long.");
  }
  bool previous_space = false;
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    bool space = std::isspace(u) != 0;
    bool allowed =
        std::isalnum(u) || space || c == '-' || c == '(' || c == ')' || c == '[' || c == ']';
    if (!allowed || (space && previous_space)) {
      return invalid("The document name '" + std::string(name) + "' at " + std::string(path) +
                     " is not valid: it may contain only alphanumeric characters, whitespace "
                     "characters (no more than one in a row), hyphens, parentheses and square "
                     "brackets.");
    }
    previous_space = space;
  }
  return ok();
}

Result<ContentBlock> document_block(std::string_view format, std::string name, std::string bytes,
                                    std::string_view path) {
  if (format == "doc" || format == "xls") {
    return invalid("The document format '" + std::string(format) + "' at " + std::string(path) +
                   " is not supported: legacy binary Office files cannot be read here. Save the "
                   "file as " +
                   (format == "doc" ? "docx" : "xlsx") + " (or pdf) and try again.");
  }
  if (find_format(format) == nullptr) {
    return invalid("1 validation error detected: Value '" + std::string(format) + "' at '" +
                   std::string(path) +
                   ".format' failed to satisfy constraint: Member must satisfy enum value set: "
                   "[pdf, csv, doc, docx, xls, xlsx, html, txt, md]");
  }
  if (bytes.size() > kMaxDocumentBytes) {
    return invalid("The document '" + name + "' at " + std::string(path) + " is " +
                   std::to_string(bytes.size()) + " bytes; the limit is 4.5 MB (" +
                   std::to_string(kMaxDocumentBytes) + " bytes).");
  }
  if (bytes.empty())
    return invalid("The document '" + name + "' at " + std::string(path) + " is empty.");
  ContentBlock block;
  block.kind = ContentBlock::Kind::kDocument;
  block.document_name = std::move(name);
  block.document_format = std::string(format);
  block.document_bytes = std::move(bytes);
  return block;
}

Result<std::string> decode_base64_bytes(std::string_view base64, std::string_view path) {
  // Four characters carry three bytes: refuse before decoding anything far too large.
  if (base64.size() / 4 * 3 > kMaxDocumentBytes + 3) {
    return invalid("The document at " + std::string(path) + " is larger than the 4.5 MB limit (" +
                   std::to_string(kMaxDocumentBytes) + " bytes).");
  }
  auto bytes = base64_decode(base64);
  if (!bytes)
    return invalid("The document bytes at " + std::string(path) + " are not valid base64.");
  return std::move(*bytes);
}

std::string format_of_media_type(std::string_view media_type) {
  std::string type(media_type.substr(0, media_type.find(';')));
  for (char& c : type) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (type == "application/msword") return "doc";
  if (type == "application/vnd.ms-excel") return "xls";
  std::string normalized = documents::normalized_media_type(type);
  for (const Format& f : kFormats) {
    if (!normalized.empty() && f.media_type == normalized) return std::string(f.name);
  }
  return "";
}

Status render_document_blocks(providers::InferenceRequest& request, bool unique_names) {
  size_t count = 0;
  std::set<std::string> names;
  for (providers::Message& message : request.messages) {
    for (ContentBlock& block : message.content) {
      if (block.kind != ContentBlock::Kind::kDocument) continue;
      // Anthropic titles and OpenAI filenames are optional: an unnamed document is numbered.
      if (block.document_name.empty())
        block.document_name = "Document " + std::to_string(count + 1);
      if (++count > kMaxDocuments) {
        return invalid("A request may contain at most " + std::to_string(kMaxDocuments) +
                       " documents.");
      }
      if (unique_names && !names.insert(block.document_name).second) {
        return invalid("The document name '" + block.document_name +
                       "' is used more than once; each document in a request needs a unique "
                       "name.");
      }
    }
  }
  if (count == 0) return ok();
  for (providers::Message& message : request.messages) {
    for (ContentBlock& block : message.content) {
      if (block.kind != ContentBlock::Kind::kDocument) continue;
      auto text = extract_text(block);
      if (!text) return std::unexpected(text.error());
      // Leading and trailing whitespace (a PDF page's closing form feed) carries nothing.
      std::string_view body = *text;
      size_t first = body.find_first_not_of(" \t\r\n\f\v");
      body = first == std::string_view::npos ? "" : body.substr(first);
      body = body.substr(0, body.find_last_not_of(" \t\r\n\f\v") + 1);
      block.text = "<document name=\"" + prompt_name(block.document_name) + "\" format=\"" +
                   block.document_format + "\">\n" + std::string(body) + "\n</document>\n\n";
      block.document_bytes.clear();
      block.document_bytes.shrink_to_fit();
    }
    std::stable_partition(
        message.content.begin(), message.content.end(),
        [](const ContentBlock& b) { return b.kind == ContentBlock::Kind::kDocument; });
  }
  return ok();
}

}  // namespace plinth::api::document_blocks
