// A tiny PDF writer for tests and `plinth bench documents` (bench/pipeline_bench.cpp): pages of
// Helvetica text lines, image-only pages, and an encrypted variant (a standard security handler
// whose user password is not empty).
#pragma once

#include <string>
#include <vector>

namespace plinth::documents::testing {

struct PdfOptions {
  bool encrypted = false;
};

inline std::string pdf_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Each page is a list of lines; a page with no lines draws a filled rectangle (no text layer).
inline std::string make_pdf(const std::vector<std::vector<std::string>>& pages,
                            const PdfOptions& options = {}) {
  std::vector<std::string> objects;  // objects[i] is object i+1's body
  int page_count = static_cast<int>(pages.size());
  // 1 catalog, 2 pages, 3 font, then per page: page object, contents.
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  std::string kids;
  for (int i = 0; i < page_count; ++i) kids += std::to_string(4 + 2 * i) + " 0 R ";
  objects.push_back("<< /Type /Pages /Kids [" + kids + "] /Count " + std::to_string(page_count) +
                    " >>");
  objects.push_back("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>");
  for (int i = 0; i < page_count; ++i) {
    std::string content;
    if (pages[i].empty()) {
      content = "0 0 1 rg 100 100 200 200 re f";
    } else {
      content = "BT /F1 12 Tf 72 720 Td 14 TL";
      for (const std::string& line : pages[i]) content += " (" + pdf_escape(line) + ") Tj T*";
      content += " ET";
    }
    objects.push_back("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents " +
                      std::to_string(5 + 2 * i) + " 0 R /Resources << /Font << /F1 3 0 R >> >> >>");
    objects.push_back("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
                      "\nendstream");
  }
  int encrypt_object = 0;
  if (options.encrypted) {
    std::string o(64, 'A'), u(64, 'B');
    objects.push_back("<< /Filter /Standard /V 1 /R 2 /O <" + o + "> /U <" + u + "> /P -44 >>");
    encrypt_object = static_cast<int>(objects.size());
  }
  std::string pdf = "%PDF-1.4\n";
  std::vector<size_t> offsets;
  for (size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(pdf.size());
    pdf += std::to_string(i + 1) + " 0 obj\n" + objects[i] + "\nendobj\n";
  }
  size_t xref = pdf.size();
  pdf += "xref\n0 " + std::to_string(objects.size() + 1) + "\n0000000000 65535 f \n";
  for (size_t offset : offsets) {
    char line[32];
    std::snprintf(line, sizeof line, "%010zu 00000 n \n", offset);
    pdf += line;
  }
  pdf += "trailer\n<< /Size " + std::to_string(objects.size() + 1) + " /Root 1 0 R";
  if (encrypt_object != 0) {
    pdf += " /Encrypt " + std::to_string(encrypt_object) +
           " 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>]";
  }
  pdf += " >>\nstartxref\n" + std::to_string(xref) + "\n%%EOF\n";
  return pdf;
}

}  // namespace plinth::documents::testing
