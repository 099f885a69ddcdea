// Builds Office Open XML files in memory for tests: a zip writer over libzip, and minimal .docx
// and .xlsx packages (the parts Word and Excel write that the reader needs).
#pragma once

#include <zip.h>

#include <string>
#include <utility>
#include <vector>

namespace plinth::documents::testing {

struct ZipEntry {
  std::string name;
  std::string bytes;
  const char* password = nullptr;  // AES-256 encrypted when set
};

inline std::string make_zip(const std::vector<ZipEntry>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* buffer = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_source_keep(buffer);
  zip_t* archive = zip_open_from_source(buffer, ZIP_TRUNCATE, &error);
  for (const ZipEntry& e : entries) {
    zip_source_t* part = zip_source_buffer_create(e.bytes.data(), e.bytes.size(), 0, &error);
    zip_int64_t index = zip_file_add(archive, e.name.c_str(), part, ZIP_FL_ENC_UTF_8);
    if (e.password != nullptr) zip_file_set_encryption(archive, index, ZIP_EM_AES_256, e.password);
  }
  zip_close(archive);  // writes the archive into `buffer`
  std::string out;
  zip_source_open(buffer);
  char chunk[65536];
  for (zip_int64_t n; (n = zip_source_read(buffer, chunk, sizeof chunk)) > 0;) out.append(chunk, n);
  zip_source_close(buffer);
  zip_source_free(buffer);
  zip_error_fini(&error);
  return out;
}

inline std::string xml_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '<')
      out += "&lt;";
    else if (c == '&')
      out += "&amp;";
    else
      out += c;
  }
  return out;
}

// Paragraphs, then a table of rows of cells.
inline std::string make_docx(const std::vector<std::string>& paragraphs,
                             const std::vector<std::vector<std::string>>& table = {}) {
  std::string body;
  for (const auto& p : paragraphs) body += "<w:p><w:r><w:t>" + xml_escape(p) + "</w:t></w:r></w:p>";
  if (!table.empty()) {
    body += "<w:tbl>";
    for (const auto& row : table) {
      body += "<w:tr>";
      for (const auto& cell : row) {
        body += "<w:tc><w:p><w:r><w:t>" + xml_escape(cell) + "</w:t></w:r></w:p></w:tc>";
      }
      body += "</w:tr>";
    }
    body += "</w:tbl>";
  }
  std::string document =
      "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"
      "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\">"
      "<w:body>" +
      body + "</w:body></w:document>";
  return make_zip({{"[Content_Types].xml", "<Types/>"}, {"word/document.xml", document}});
}

// One sheet per (name, rows); every cell a shared string.
inline std::string make_xlsx(
    const std::vector<std::pair<std::string, std::vector<std::vector<std::string>>>>& sheets) {
  std::vector<std::string> strings;
  std::vector<ZipEntry> entries{{"[Content_Types].xml", "<Types/>"}};
  std::string sheet_list, rels;
  for (size_t s = 0; s < sheets.size(); ++s) {
    std::string n = std::to_string(s + 1);
    sheet_list +=
        "<sheet name=\"" + sheets[s].first + "\" sheetId=\"" + n + "\" r:id=\"rId" + n + "\"/>";
    rels += "<Relationship Id=\"rId" + n + "\" Target=\"worksheets/sheet" + n + ".xml\"/>";
    std::string data;
    for (size_t r = 0; r < sheets[s].second.size(); ++r) {
      data += "<row r=\"" + std::to_string(r + 1) + "\">";
      for (size_t c = 0; c < sheets[s].second[r].size(); ++c) {
        const std::string& v = sheets[s].second[r][c];
        if (v.empty()) continue;  // a gap: the reader fills it from the cell references
        std::string ref = std::string(1, static_cast<char>('A' + c)) + std::to_string(r + 1);
        data += "<c r=\"" + ref + "\" t=\"s\"><v>" + std::to_string(strings.size()) + "</v></c>";
        strings.push_back(v);
      }
      data += "</row>";
    }
    entries.push_back({"xl/worksheets/sheet" + n + ".xml",
                       "<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/"
                       "main\"><sheetData>" +
                           data + "</sheetData></worksheet>"});
  }
  std::string sst;
  for (const auto& v : strings) sst += "<si><t>" + xml_escape(v) + "</t></si>";
  entries.push_back({"xl/sharedStrings.xml", "<sst>" + sst + "</sst>"});
  entries.push_back({"xl/workbook.xml",
                     "<workbook xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/"
                     "relationships\"><sheets>" +
                         sheet_list + "</sheets></workbook>"});
  entries.push_back({"xl/_rels/workbook.xml.rels", "<Relationships>" + rels + "</Relationships>"});
  return make_zip(entries);
}

}  // namespace plinth::documents::testing
