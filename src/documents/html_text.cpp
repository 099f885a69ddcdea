// HTML to visible text with libgumbo (an HTML5 parser): scripts, styles and comments dropped,
// block elements become line breaks, character references decoded as a browser would.
#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "plinth/documents/parsing.h"

namespace plinth::documents {
namespace {

// Gumbo's tree construction slows down and grows quadratically with element depth (20,000
// nested <div>: 13 s and 3 GB), and it frees its tree recursively: deeper documents are refused
// before parsing (see html_nesting_bound).
constexpr size_t kMaxHtmlDepth = 512;

bool is_block_element(GumboTag tag) {
  static constexpr std::array kBlocks{
      GUMBO_TAG_P,          GUMBO_TAG_DIV,    GUMBO_TAG_LI,         GUMBO_TAG_UL,
      GUMBO_TAG_OL,         GUMBO_TAG_TR,     GUMBO_TAG_TABLE,      GUMBO_TAG_H1,
      GUMBO_TAG_H2,         GUMBO_TAG_H3,     GUMBO_TAG_H4,         GUMBO_TAG_H5,
      GUMBO_TAG_H6,         GUMBO_TAG_HR,     GUMBO_TAG_SECTION,    GUMBO_TAG_ARTICLE,
      GUMBO_TAG_HEADER,     GUMBO_TAG_FOOTER, GUMBO_TAG_TITLE,      GUMBO_TAG_PRE,
      GUMBO_TAG_BLOCKQUOTE, GUMBO_TAG_DD,     GUMBO_TAG_DT,         GUMBO_TAG_NAV,
      GUMBO_TAG_MAIN,       GUMBO_TAG_ASIDE,  GUMBO_TAG_FIGCAPTION, GUMBO_TAG_CAPTION};
  return std::find(kBlocks.begin(), kBlocks.end(), tag) != kBlocks.end();
}

bool is_invisible_element(GumboTag tag) {
  return tag == GUMBO_TAG_SCRIPT || tag == GUMBO_TAG_STYLE || tag == GUMBO_TAG_NOSCRIPT ||
         tag == GUMBO_TAG_TEMPLATE;
}

bool one_of(std::string_view name, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Void elements: never on the stack of open elements.
bool is_void(std::string_view name) {
  return one_of(name,
                {"area", "base", "basefont", "bgsound", "br", "col", "embed", "frame", "hr", "img",
                 "input", "keygen", "link", "meta", "param", "source", "track", "wbr"});
}

// Start tags that close an open <p> in button scope (HTML5 "in body" rules).
bool closes_paragraph(std::string_view name) {
  return one_of(
      name,
      {"address", "article", "aside",    "blockquote", "center", "details", "dialog",   "dir",
       "div",     "dl",      "fieldset", "figcaption", "figure", "footer",  "form",     "header",
       "hgroup",  "main",    "menu",     "nav",        "ol",     "p",       "section",  "summary",
       "ul",      "h1",      "h2",       "h3",         "h4",     "h5",      "h6",       "pre",
       "listing", "li",      "dd",       "dt",         "hr",     "xmp",     "plaintext"});
}

// End tags that pop up to their element when it is in scope, through any other element.
bool closes_through_scope(std::string_view name) {
  return one_of(name,
                {"address", "article", "aside",   "blockquote", "button",   "center",     "details",
                 "dialog",  "dir",     "div",     "dl",         "fieldset", "figcaption", "figure",
                 "footer",  "header",  "hgroup",  "listing",    "main",     "menu",       "nav",
                 "ol",      "pre",     "section", "summary",    "ul"});
}

// Elements that end an element scope: an end tag never closes anything below them.
bool is_scope_boundary(std::string_view name) {
  return one_of(name, {"applet",         "caption",       "html", "table", "td",  "th",  "marquee",
                       "object",         "template",      "mi",   "mo",    "mn",  "ms",  "mtext",
                       "annotation-xml", "foreignobject", "desc", "title", "svg", "math"});
}

bool ends_tag_name(char c) {
  return c == '>' || c == '/' || std::isspace(static_cast<unsigned char>(c));
}

bool is_table_part(std::string_view name) {
  return one_of(name, {"caption", "colgroup", "tbody", "td", "tfoot", "th", "thead", "tr"});
}

// An upper bound of the element depth Gumbo builds, from a model of its stack of open elements
// that only ever pops where HTML5's tree construction certainly pops, and ignores only what it
// certainly ignores (table parts outside any table). A start tag closes the same kind of
// element when that is the current one (<li> after <li>, <p> after <p>, a cell after a cell, a
// row after a row's cell), or an open <p> before a block; an end tag closes its element when it
// is the current one; a block's end tag (</div>, </ul>, ...) also closes what lies above it up
// to a scope boundary, a table part's end tag what lies above it within its table, and
// </select> its options. Whatever
// else HTML5 does only lowers the real depth. Linear: 16-byte names, 8 levels searched.
int html_nesting_bound(std::string_view html) {
  constexpr size_t kNameBytes = 16;
  constexpr size_t kSearchLevels = 8;
  std::vector<std::string> open;
  size_t tables = 0;  // <table> elements in `open`
  auto top_is = [&](std::initializer_list<std::string_view> names) {
    return !open.empty() && one_of(open.back(), names);
  };
  auto pop_to = [&](size_t size) {
    while (open.size() > size) {
      if (open.back() == "table") --tables;
      open.pop_back();
    }
  };
  size_t deepest = 0;
  std::string name;
  for (size_t i = 0; i + 1 < html.size(); ++i) {
    if (html[i] != '<') continue;
    bool end_tag = html[i + 1] == '/';
    size_t at = i + (end_tag ? 2 : 1);
    if (at >= html.size() || !std::isalpha(static_cast<unsigned char>(html[at]))) continue;
    name.clear();
    while (at < html.size() && !ends_tag_name(html[at]) && name.size() <= kNameBytes) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[at++])));
    }
    if (is_void(name)) continue;
    bool table_tag = name == "table" || is_table_part(name);
    if (table_tag && tables == 0 && (end_tag || name != "table")) continue;  // HTML5 ignores it
    if (end_tag) {
      bool deep = closes_through_scope(name) || table_tag || name == "select";
      size_t levels =
          deep ? std::min(open.size(), kSearchLevels) : std::min<size_t>(open.size(), 1);
      for (size_t level = 0; level < levels; ++level) {
        const std::string& node = open[open.size() - 1 - level];
        if (node == name) {
          pop_to(open.size() - 1 - level);
          break;
        }
        bool boundary = name == "select" ? !one_of(node, {"option", "optgroup"})
                        : table_tag      ? one_of(node, {"table", "html", "template"})
                                         : is_scope_boundary(node);
        if (boundary) break;
      }
      continue;
    }
    if (name == "li" && top_is({"li"})) pop_to(open.size() - 1);
    if ((name == "dd" || name == "dt") && top_is({"dd", "dt"})) pop_to(open.size() - 1);
    if ((name == "td" || name == "th" || name == "tr") && top_is({"td", "th"})) {
      pop_to(open.size() - 1);
    }
    if (name == "tr" && top_is({"tr"})) pop_to(open.size() - 1);
    if (name == "option" && top_is({"option"})) pop_to(open.size() - 1);
    if (closes_paragraph(name) && top_is({"p"})) pop_to(open.size() - 1);
    if (name == "table") ++tables;
    open.push_back(name);
    deepest = std::max(deepest, open.size());
    if (deepest > kMaxHtmlDepth) break;
  }
  return static_cast<int>(deepest);
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

struct GumboOutputDeleter {
  void operator()(GumboOutput* output) const {
    gumbo_destroy_output(&kGumboDefaultOptions, output);
  }
};

// Appends the visible text under root, walking with an explicit stack (no recursion here).
void append_visible_text(const GumboNode* root, std::string& out) {
  // (node, index of the next child to visit); a block element's closing newline is written
  // when its children are done.
  std::vector<std::pair<const GumboNode*, unsigned>> stack{{root, 0}};
  while (!stack.empty()) {
    auto& [node, next] = stack.back();
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_WHITESPACE ||
        node->type == GUMBO_NODE_CDATA) {
      out += node->v.text.text;
      stack.pop_back();
      continue;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT &&
        node->type != GUMBO_NODE_TEMPLATE) {
      stack.pop_back();  // comments
      continue;
    }
    bool document = node->type == GUMBO_NODE_DOCUMENT;
    GumboTag tag = document ? GUMBO_TAG_UNKNOWN : node->v.element.tag;
    const GumboVector& children = document ? node->v.document.children : node->v.element.children;
    if (!document && is_invisible_element(tag)) {
      stack.pop_back();
      continue;
    }
    if (next == 0 && !document && is_block_element(tag)) out += '\n';
    if (next == 0 && tag == GUMBO_TAG_BR) out += '\n';
    if (next < children.length) {
      const auto* child = static_cast<const GumboNode*>(children.data[next++]);
      stack.emplace_back(child, 0);
      continue;
    }
    if (!document && is_block_element(tag)) out += '\n';
    if (tag == GUMBO_TAG_TD || tag == GUMBO_TAG_TH) out += ' ';  // cells of a row stay apart
    stack.pop_back();
  }
}

}  // namespace

Result<std::string> html_to_text(std::string_view html) {
  if (html_nesting_bound(html) > static_cast<int>(kMaxHtmlDepth)) {
    return fail(ErrorCode::kInvalidArgument, "the HTML nests elements more than " +
                                                 std::to_string(kMaxHtmlDepth) + " levels deep");
  }
  std::unique_ptr<GumboOutput, GumboOutputDeleter> output(
      gumbo_parse_with_options(&kGumboDefaultOptions, html.data(), html.size()));
  if (!output) return fail(ErrorCode::kInvalidArgument, "the HTML could not be parsed");
  std::string out;
  append_visible_text(output->document, out);
  return tidy_whitespace(out);
}

}  // namespace plinth::documents
