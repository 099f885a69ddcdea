// HTML to visible text with libgumbo (an HTML5 parser): scripts, styles and comments dropped,
// block elements become line breaks, character references decoded as a browser would.
#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
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

// Elements that never hold children, and elements whose end tag HTML implies when a sibling
// starts: neither deepens the tree, so they are not counted.
bool never_nests(std::string_view name) {
  static constexpr std::array<std::string_view, 32> kNames{
      "area", "base", "br",    "col",    "embed", "hr",     "img",      "input",
      "link", "meta", "param", "source", "track", "wbr",    "p",        "li",
      "dd",   "dt",   "td",    "th",     "tr",    "option", "optgroup", "rb",
      "rp",   "rt",   "rtc",   "tbody",  "thead", "tfoot",  "colgroup", "html"};
  return std::find(kNames.begin(), kNames.end(), name) != kNames.end();
}

bool ends_tag_name(char c) {
  return c == '>' || c == '/' || std::isspace(static_cast<unsigned char>(c));
}

// An upper bound of the element depth Gumbo can build, from a stack of the elements opened: an
// end tag pops only an element it matches near the top (Gumbo ignores an end tag with nothing to
// close), and only the elements above are implicitly closed. Implied end tags not modelled here
// only lower the real depth. Linear: names are compared over at most 16 bytes and 8 levels.
int html_nesting_bound(std::string_view html) {
  constexpr size_t kNameBytes = 16;
  constexpr size_t kSearchLevels = 8;
  std::vector<std::string> open;
  size_t deepest = 0;
  for (size_t i = 0; i + 1 < html.size(); ++i) {
    if (html[i] != '<') continue;
    bool end_tag = html[i + 1] == '/';
    size_t at = i + (end_tag ? 2 : 1);
    if (at >= html.size() || !std::isalpha(static_cast<unsigned char>(html[at]))) continue;
    std::string name;
    while (at < html.size() && !ends_tag_name(html[at]) && name.size() <= kNameBytes) {
      name += static_cast<char>(std::tolower(static_cast<unsigned char>(html[at++])));
    }
    if (never_nests(name)) continue;
    if (!end_tag) {
      open.push_back(std::move(name));
      deepest = std::max(deepest, open.size());
      if (deepest > kMaxHtmlDepth) break;
      continue;
    }
    for (size_t level = 0; level < std::min(open.size(), kSearchLevels); ++level) {
      if (open[open.size() - 1 - level] == name) {
        open.resize(open.size() - 1 - level);
        break;
      }
    }
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
