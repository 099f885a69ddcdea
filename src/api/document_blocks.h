// Document content blocks (Converse `document`, Anthropic `document`, OpenAI `file` parts): the
// Bedrock rules on formats, names, sizes and counts, and the ONE place a document becomes prompt
// text. Every API parser ends with render_document_blocks, so anything that parses a body with
// these parsers and renders the prompt the same way (CountTokens) counts the same tokens.
#pragma once

#include <string>
#include <string_view>

#include "plinth/core/result.h"
#include "plinth/providers/provider.h"

namespace plinth::api::document_blocks {

inline constexpr size_t kMaxDocuments = 5;            // per request (Bedrock)
inline constexpr size_t kMaxDocumentBytes = 4718592;  // 4.5 MB decoded (Bedrock)
inline constexpr size_t kMaxNameLength = 200;

// Bedrock's document name rule: alphanumerics, single whitespace characters, hyphens,
// parentheses and square brackets; 1 to 200 characters.
Status check_bedrock_name(std::string_view name, std::string_view path);

// A kDocument block for a format name (pdf, csv, html, txt, md, docx, xlsx; doc and xls are
// refused naming the format) and the decoded bytes (refused above kMaxDocumentBytes).
Result<providers::ContentBlock> document_block(std::string_view format, std::string name,
                                               std::string bytes, std::string_view path);

// Decodes base64 document bytes, refusing text that would decode past kMaxDocumentBytes
// before decoding it.
Result<std::string> decode_base64_bytes(std::string_view base64, std::string_view path);

// The format name for a media type ("application/pdf" -> "pdf"; the Office types, text/*);
// "" when unknown.
std::string format_of_media_type(std::string_view media_type);

// Request-wide rules, then rendering: at most kMaxDocuments documents; with unique_names, no
// two share a name (Converse); an unnamed document becomes "Document N"; each document's text is
// extracted with the document pipeline's parsers (the format must match the bytes; encrypted,
// corrupt or image-only files are refused with the reason) and rendered as
//   <document name="NAME" format="FORMAT">\nTEXT\n</document>\n\n
// into the block's text; documents move ahead of the other blocks of their message, so the
// question follows the documents it is about. kInvalidArgument on any problem.
Status render_document_blocks(providers::InferenceRequest& request, bool unique_names);

}  // namespace plinth::api::document_blocks
