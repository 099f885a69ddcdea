// Text of Office Open XML documents: a .docx's paragraphs and tables, a .xlsx's sheets as CSV rows
// (shared strings resolved), read with libzip + libxml2 through OoxmlPackage's bounds.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "ooxml_package.h"
#include "plinth/documents/parsing.h"

namespace plinth::documents {
namespace {

// The text a spreadsheet may render to (empty cells between far-apart columns become commas).
constexpr size_t kMaxSheetTextBytes = 32 << 20;
constexpr int kMaxColumns = 16384;  // Excel's own limit (XFD)
constexpr size_t kMaxSheets = 1000;

std::unexpected<Error> invalid(std::string message) {
  return std::unexpected(Error(ErrorCode::kInvalidArgument, std::move(message)));
}

void append_node_text(const xmlNode* node, std::string& out) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) && c->content != nullptr) {
      out += reinterpret_cast<const char*>(c->content);
    }
  }
}

// --- docx -------------------------------------------------------------------------------------

void append_docx_runs(const xmlNode* node, std::string& out) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    std::string_view name = local_name(c);
    if (name == "t") {
      append_node_text(c, out);
    } else if (name == "tab") {
      out += '\t';
    } else if (name == "br" || name == "cr") {
      out += '\n';
    } else if (!name.empty() && name != "delText" && name != "instrText") {
      append_docx_runs(c, out);  // runs, hyperlinks, fields, smart tags
    }
  }
}

void append_docx_block(const xmlNode* node, std::string& out);

// A table row per line, cells separated by " | ".
void append_docx_table(const xmlNode* table, std::string& out) {
  for (const xmlNode* row = table->children; row != nullptr; row = row->next) {
    if (local_name(row) != "tr") continue;
    bool first = true;
    for (const xmlNode* cell = row->children; cell != nullptr; cell = cell->next) {
      if (local_name(cell) != "tc") continue;
      std::string text;
      append_docx_block(cell, text);
      std::replace(text.begin(), text.end(), '\n', ' ');
      while (!text.empty() && text.back() == ' ') text.pop_back();
      if (!first) out += " | ";
      out += text;
      first = false;
    }
    out += '\n';
  }
  out += '\n';
}

void append_docx_block(const xmlNode* node, std::string& out) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    std::string_view name = local_name(c);
    if (name == "p") {
      append_docx_runs(c, out);
      out += '\n';
    } else if (name == "tbl") {
      append_docx_table(c, out);
    } else if (!name.empty()) {
      append_docx_block(c, out);  // body, content controls (sdt), custom XML
    }
  }
}

// --- xlsx -------------------------------------------------------------------------------------

// Text of a shared string or inline string: its <t> elements, without phonetic runs (<rPh>).
void append_string_item(const xmlNode* node, std::string& out) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    std::string_view name = local_name(c);
    if (name == "t") {
      append_node_text(c, out);
    } else if (name == "r") {
      append_string_item(c, out);
    }
  }
}

const xmlNode* child(const xmlNode* node, std::string_view name) {
  for (const xmlNode* c = node->children; c != nullptr; c = c->next) {
    if (local_name(c) == name) return c;
  }
  return nullptr;
}

// "BC12" -> column 54 (0-based); -1 when the reference has no letters or is past XFD.
int column_of(std::string_view reference) {
  int column = 0;
  size_t i = 0;
  for (; i < reference.size() && reference[i] >= 'A' && reference[i] <= 'Z'; ++i) {
    column = column * 26 + (reference[i] - 'A' + 1);
    if (column > kMaxColumns) return -1;
  }
  return i == 0 ? -1 : column - 1;
}

void append_csv_field(std::string_view value, std::string& out) {
  if (value.find_first_of(",\"\n\r") == std::string_view::npos) {
    out += value;
    return;
  }
  out += '"';
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

Result<std::vector<std::string>> shared_strings(OoxmlPackage& package, const std::string& what) {
  std::vector<std::string> strings;
  if (!package.has_part("xl/sharedStrings.xml")) return strings;
  auto xml = package.read_part("xl/sharedStrings.xml");
  if (!xml) return std::unexpected(xml.error());
  auto doc = parse_part_xml(*xml, what);
  if (!doc) return std::unexpected(doc.error());
  for (const xmlNode* si = xmlDocGetRootElement(doc->get())->children; si; si = si->next) {
    if (local_name(si) != "si") continue;
    std::string text;
    append_string_item(si, text);
    strings.push_back(std::move(text));
  }
  return strings;
}

Status append_sheet(const xmlDoc* sheet, const std::vector<std::string>& strings,
                    const std::string& what, std::string& out) {
  const xmlNode* data = child(xmlDocGetRootElement(sheet), "sheetData");
  if (data == nullptr) return ok();
  for (const xmlNode* row = data->children; row != nullptr; row = row->next) {
    if (local_name(row) != "row") continue;
    std::string line;
    int next_column = 0;
    for (const xmlNode* cell = row->children; cell != nullptr; cell = cell->next) {
      if (local_name(cell) != "c") continue;
      int column = column_of(attribute(cell, "r"));
      if (column < 0) column = next_column;  // "r" is optional: cells then come in order
      if (column < next_column) continue;    // out of order: a damaged sheet; keep the first
      std::string type = attribute(cell, "t");
      std::string value;
      if (type == "inlineStr") {
        if (const xmlNode* is = child(cell, "is")) append_string_item(is, value);
      } else if (const xmlNode* v = child(cell, "v")) {
        append_node_text(v, value);
        if (type == "s") {
          char* end = nullptr;
          unsigned long index = std::strtoul(value.c_str(), &end, 10);
          if (value.empty() || *end != '\0' || index >= strings.size()) {
            return invalid(what + " is corrupt (a cell names shared string " + value +
                           ", which does not exist)");
          }
          value = strings[index];
        } else if (type == "b") {
          value = value == "1" ? "TRUE" : "FALSE";
        }
      }
      // Empty fields for the columns skipped, then the separator before this one.
      line.append(static_cast<size_t>(column - next_column + (next_column > 0 ? 1 : 0)), ',');
      append_csv_field(value, line);
      next_column = column + 1;
      if (out.size() + line.size() > kMaxSheetTextBytes) {
        return invalid(what + "'s sheets render to more than " +
                       std::to_string(kMaxSheetTextBytes >> 20) + " MB of text");
      }
    }
    out += line;
    out += '\n';
  }
  return ok();
}

// Sheet names and part names in workbook order, through the workbook's relationships.
struct SheetPart {
  std::string name;
  std::string part;
};

Result<std::vector<SheetPart>> sheet_parts(OoxmlPackage& package, const std::string& what) {
  auto workbook_xml = package.read_part("xl/workbook.xml");
  if (!workbook_xml) return std::unexpected(workbook_xml.error());
  auto workbook = parse_part_xml(*workbook_xml, what);
  if (!workbook) return std::unexpected(workbook.error());
  auto rels_xml = package.read_part("xl/_rels/workbook.xml.rels");
  if (!rels_xml) return std::unexpected(rels_xml.error());
  auto rels = parse_part_xml(*rels_xml, what);
  if (!rels) return std::unexpected(rels.error());
  std::vector<SheetPart> parts;
  const xmlNode* sheets = child(xmlDocGetRootElement(workbook->get()), "sheets");
  if (sheets == nullptr) return parts;
  size_t seen = 0;
  for (const xmlNode* sheet = sheets->children; sheet != nullptr; sheet = sheet->next) {
    if (local_name(sheet) != "sheet") continue;
    if (++seen > kMaxSheets) {
      return invalid(what + " has more than " + std::to_string(kMaxSheets) + " sheets");
    }
    std::string id = attribute(sheet, "id");
    for (const xmlNode* r = xmlDocGetRootElement(rels->get())->children; r; r = r->next) {
      if (local_name(r) != "Relationship" || attribute(r, "Id") != id) continue;
      std::string target = attribute(r, "Target");
      target = target.starts_with('/') ? target.substr(1) : "xl/" + target;
      parts.push_back({attribute(sheet, "name"), std::move(target)});
      break;
    }
  }
  return parts;
}

Result<ParsedText> finish(std::string text, const std::string& what) {
  if (text.find_first_not_of(" \t\r\n,|") == std::string::npos) {
    return invalid(what + " has no text");
  }
  if (!is_valid_utf8(text)) return invalid(what + "'s text is not valid UTF-8");
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text_stats(std::move(text), 1);
}

}  // namespace

Result<ParsedText> parse_docx(std::string_view bytes) {
  const std::string what = "the docx document";
  auto package = OoxmlPackage::open(bytes, what);
  if (!package) return std::unexpected(package.error());
  if (!package->has_part("word/document.xml")) {
    return invalid(what + " is a zip file without word/document.xml (not a Word document)");
  }
  auto xml = package->read_part("word/document.xml");
  if (!xml) return std::unexpected(xml.error());
  auto doc = parse_part_xml(*xml, what);
  if (!doc) return std::unexpected(doc.error());
  std::string text;
  append_docx_block(xmlDocGetRootElement(doc->get()), text);
  return finish(std::move(text), what);
}

Result<ParsedText> parse_xlsx(std::string_view bytes) {
  const std::string what = "the xlsx document";
  auto package = OoxmlPackage::open(bytes, what);
  if (!package) return std::unexpected(package.error());
  if (!package->has_part("xl/workbook.xml")) {
    return invalid(what + " is a zip file without xl/workbook.xml (not an Excel workbook)");
  }
  auto strings = shared_strings(*package, what);
  if (!strings) return std::unexpected(strings.error());
  auto parts = sheet_parts(*package, what);
  if (!parts) return std::unexpected(parts.error());
  std::string text;
  for (const SheetPart& part : *parts) {
    auto xml = package->read_part(part.part);
    if (!xml) return std::unexpected(xml.error());
    auto sheet = parse_part_xml(*xml, what);
    if (!sheet) return std::unexpected(sheet.error());
    text += "Sheet: " + part.name + "\n";
    if (auto status = append_sheet(sheet->get(), *strings, what, text); !status) {
      return std::unexpected(status.error());
    }
    text += '\n';
  }
  return finish(std::move(text), what);
}

}  // namespace plinth::documents
