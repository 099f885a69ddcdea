// HTML to visible text: drops markup, comments, scripts and styles; decodes character references.
#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <string>

#include "plinth/documents/parsing.h"

namespace plinth::documents {
namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct NamedEntity {
  std::string_view name;
  uint32_t code_point;
};
constexpr std::array<NamedEntity, 20> kEntities{{
    {"amp", '&'},      {"lt", '<'},       {"gt", '>'},        {"quot", '"'},     {"apos", '\''},
    {"nbsp", 0xA0},    {"copy", 0xA9},    {"reg", 0xAE},      {"euro", 0x20AC},  {"pound", 0xA3},
    {"mdash", 0x2014}, {"ndash", 0x2013}, {"hellip", 0x2026}, {"lsquo", 0x2018}, {"rsquo", 0x2019},
    {"ldquo", 0x201C}, {"rdquo", 0x201D}, {"laquo", 0xAB},    {"raquo", 0xBB},   {"shy", 0xAD},
}};

// Decodes the reference starting at text[i] == '&'; returns the bytes consumed (0: not one).
// Looks no further than the longest reference (12 bytes), so decoding is linear in the text.
size_t decode_reference(std::string_view text, size_t i, std::string& out) {
  constexpr size_t kMaxReference = 12;  // "&#x10FFFF;" and the longest name fit
  size_t semi = text.substr(i, kMaxReference + 1).find(';');
  if (semi == std::string_view::npos) return 0;
  semi += i;
  std::string_view body = text.substr(i + 1, semi - i - 1);
  if (body.starts_with('#')) {
    bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    uint32_t cp = 0;
    for (char c : digits) {
      int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
              : hex && std::isxdigit(static_cast<unsigned char>(c))
                  ? std::tolower(static_cast<unsigned char>(c)) - 'a' + 10
                  : -1;
      if (v < 0) return 0;
      cp = std::min<uint32_t>(cp * (hex ? 16 : 10) + v, 0x110000);
    }
    append_utf8(out, cp);
    return semi - i + 1;
  }
  for (const NamedEntity& entity : kEntities) {
    if (entity.name == body) {
      append_utf8(out, entity.code_point);
      return semi - i + 1;
    }
  }
  return 0;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The position of "</name" (any case) at or after `from`.
size_t find_end_tag(std::string_view html, size_t from, std::string_view name) {
  for (size_t at = html.find("</", from); at != std::string_view::npos;
       at = html.find("</", at + 2)) {
    if (lower(html.substr(at + 2, name.size())) == name) return at;
  }
  return std::string_view::npos;
}

bool is_block_element(std::string_view name) {
  static constexpr std::array<std::string_view, 22> kBlocks{
      "p",       "br",     "div",    "li",    "ul",  "ol",        "tr", "table",
      "h1",      "h2",     "h3",     "h4",    "h5",  "h6",        "hr", "section",
      "article", "header", "footer", "title", "pre", "blockquote"};
  return std::find(kBlocks.begin(), kBlocks.end(), name) != kBlocks.end();
}

// Collapses runs of spaces and keeps at most one blank line between blocks.
std::string tidy_whitespace(std::string_view text) {
  std::string out;
  int newlines = 0;
  bool space = false;
  for (char c : text) {
    if (c == '\n') {
      ++newlines;
      space = false;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
      space = true;
      continue;
    }
    if (!out.empty()) {
      if (newlines > 0) {
        out += newlines > 1 ? "\n\n" : "\n";
      } else if (space) {
        out += ' ';
      }
    }
    newlines = 0;
    space = false;
    out += c;
  }
  return out;
}

}  // namespace

std::string html_to_text(std::string_view html) {
  std::string out;
  size_t i = 0;
  while (i < html.size()) {
    char c = html[i];
    if (c == '&') {
      size_t used = decode_reference(html, i, out);
      if (used == 0) {
        out += '&';
        ++i;
      } else {
        i += used;
      }
      continue;
    }
    if (c != '<') {
      out += c;
      ++i;
      continue;
    }
    if (html.substr(i, 4) == "<!--") {
      size_t end = html.find("-->", i + 4);
      i = end == std::string_view::npos ? html.size() : end + 3;
      continue;
    }
    size_t close = html.find('>', i);
    if (close == std::string_view::npos) break;  // an unterminated tag: drop the rest
    std::string_view tag = html.substr(i + 1, close - i - 1);
    bool end_tag = tag.starts_with('/');
    if (end_tag) tag.remove_prefix(1);
    size_t name_end = 0;
    while (name_end < tag.size() && (std::isalnum(static_cast<unsigned char>(tag[name_end])))) {
      ++name_end;
    }
    std::string name = lower(tag.substr(0, name_end));
    i = close + 1;
    if (!end_tag && (name == "script" || name == "style" || name == "noscript")) {
      // Raw text elements: skip to their end tag.
      size_t end = find_end_tag(html, i, name);
      if (end == std::string_view::npos) break;
      size_t end_close = html.find('>', end);
      i = end_close == std::string_view::npos ? html.size() : end_close + 1;
      continue;
    }
    if (is_block_element(name)) out += '\n';
  }
  return tidy_whitespace(out);
}

}  // namespace plinth::documents
