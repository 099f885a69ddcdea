// Regex parser (ECMAScript subset) producing regex::RegexNode trees; lookaheads become
// intersections with the rest of the text.
#include <optional>
#include <string>

#include "regex_ast.h"

namespace plinth::structured::regex {

NodePtr make_bytes(ByteSet set) {
  auto n = std::make_unique<RegexNode>();
  n->bytes = set;
  return n;
}
NodePtr make(RegexNode::Kind kind) {
  auto n = std::make_unique<RegexNode>();
  n->kind = kind;
  return n;
}

namespace {

using Kind = RegexNode::Kind;
constexpr int kMaxGroupDepth = 64;

ByteSet ascii_range(int lo, int hi) {
  ByteSet s;
  for (int c = lo; c <= hi; ++c) s.set(c);
  return s;
}
ByteSet digits() { return ascii_range('0', '9'); }
ByteSet word() {
  return ascii_range('a', 'z') | ascii_range('A', 'Z') | digits() | ascii_range('_', '_');
}
ByteSet space() {
  ByteSet s;
  for (char c : std::string_view(" \t\n\r\f\v")) s.set(static_cast<uint8_t>(c));
  return s;
}
ByteSet ascii_complement(const ByteSet& s) { return ~s & ascii_range(0, 127); }
ByteSet one(char c) {
  ByteSet s;
  s.set(static_cast<uint8_t>(c));
  return s;
}

// What one escape or class member stands for: ASCII bytes plus whole multi-byte characters.
struct CharSet {
  ByteSet ascii;
  std::vector<Utf8Range> ranges;
  int single = -1;  // the one ASCII byte, for class ranges
};

NodePtr charset_node(const CharSet& c) {
  if (c.ranges.empty()) return make_bytes(c.ascii);
  auto alt = make(Kind::kAlt);
  if (c.ascii.any()) alt->children.push_back(make_bytes(c.ascii));
  for (const auto& r : c.ranges) alt->children.push_back(utf8_node(r));
  return alt;
}

class Parser {
 public:
  explicit Parser(std::string_view p) : p_(p) {}

  Result<NodePtr> parse_top() {
    auto alt = make(Kind::kAlt);
    while (true) {
      bool anchored_start = eat('^');
      bool anchored_end = false;
      auto body = parse_seq(/*top=*/true, &anchored_end);
      if (!body) return std::unexpected(body.error());
      auto seq = make(Kind::kConcat);
      if (!anchored_start) seq->children.push_back(any_ascii_star());
      for (auto& c : (*body)->children) seq->children.push_back(std::move(c));
      if (!anchored_end) seq->children.push_back(any_ascii_star());
      alt->children.push_back(std::move(seq));
      if (pos_ >= p_.size()) break;
      if (!eat('|')) return error("unexpected ')'");
    }
    return alt;
  }

 private:
  std::unexpected<Error> error(std::string what) {
    return fail(ErrorCode::kInvalidArgument,
                "unsupported regex: " + what + " at offset " + std::to_string(pos_));
  }
  bool eat(char c) {
    if (pos_ < p_.size() && p_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  // '$' ends a sequence when what follows ends the enclosing top-level alternative or (in a
  // lookahead) the lookahead's alternative.
  bool dollar_ends_sequence(bool top) const {
    size_t next = pos_ + 1;
    if (top) return next == p_.size() || p_[next] == '|';
    return look_depth_ > 0 && group_depth_ == look_group_depth_ && next < p_.size() &&
           (p_[next] == ')' || p_[next] == '|');
  }

  Result<NodePtr> parse_alt() {
    auto alt = make(Kind::kAlt);
    do {
      auto seq = parse_seq(false, nullptr);
      if (!seq) return seq;
      alt->children.push_back(std::move(*seq));
    } while (eat('|'));
    return alt;
  }

  // `ended` (top level and lookahead bodies): set when the sequence ends in '$'.
  Result<NodePtr> parse_seq(bool top, bool* ended) {
    auto seq = make(Kind::kConcat);
    while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
      if (p_[pos_] == '$') {
        if (ended && dollar_ends_sequence(top)) {
          ++pos_;
          *ended = true;
          break;
        }
        return error("'$' not at the end");
      }
      if (p_[pos_] == '^') return error("'^' not at the start");
      bool quantifiable = true;
      auto atom = parse_atom(quantifiable);
      if (!atom) return atom;
      auto quantified = parse_quantifier(std::move(*atom), quantifiable);
      if (!quantified) return quantified;
      seq->children.push_back(std::move(*quantified));
    }
    return seq;
  }

  std::optional<int> read_int() {
    size_t start = pos_;
    long v = 0;
    while (pos_ < p_.size() && p_[pos_] >= '0' && p_[pos_] <= '9') {
      v = v * 10 + (p_[pos_++] - '0');
      if (v > 100000) v = 100000;
    }
    if (pos_ == start) return std::nullopt;
    return static_cast<int>(v);
  }

  Result<NodePtr> parse_quantifier(NodePtr atom, bool quantifiable) {
    if (pos_ >= p_.size()) return atom;
    int min = 0, max = 0;
    char c = p_[pos_];
    if (c == '*') {
      min = 0, max = -1, ++pos_;
    } else if (c == '+') {
      min = 1, max = -1, ++pos_;
    } else if (c == '?') {
      min = 0, max = 1, ++pos_;
    } else if (c == '{') {
      size_t save = pos_++;
      auto lo = read_int();
      if (!lo) {
        pos_ = save;
        return atom;  // a literal '{' (ECMAScript Annex B)
      }
      min = max = *lo;
      if (eat(',')) {
        auto hi = read_int();
        max = hi ? *hi : -1;
      }
      if (!eat('}')) {
        pos_ = save;
        return atom;
      }
      if (max >= 0 && max < min) return error("quantifier {n,m} with m < n");
      if (min > kMaxRepeat || max > kMaxRepeat) return error("repetition count above 1000");
    } else {
      return atom;
    }
    if (!quantifiable) return error("quantifier after a supplementary character or lookahead");
    if (eat('+')) return error("possessive quantifier");
    eat('?');  // lazy and greedy accept the same strings
    auto r = make(Kind::kRepeat);
    r->min = min;
    r->max = max;
    r->children.push_back(std::move(atom));
    return r;
  }

  std::optional<int> hex(int n) {
    if (pos_ + n > p_.size()) return std::nullopt;
    int v = 0;
    for (int i = 0; i < n; ++i) {
      char h = p_[pos_ + i];
      int d = (h >= '0' && h <= '9')   ? h - '0'
              : (h >= 'a' && h <= 'f') ? h - 'a' + 10
              : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                       : -1;
      if (d < 0) return std::nullopt;
      v = v * 16 + d;
    }
    pos_ += n;
    return v;
  }

  // An escape outside or inside a class; `in_class` makes \b a backspace.
  Result<CharSet> parse_escape(bool in_class) {
    if (pos_ >= p_.size()) return error("trailing backslash");
    char c = p_[pos_++];
    CharSet s;
    auto just = [&](char b) {
      s.ascii = one(b);
      s.single = static_cast<uint8_t>(b);
      return s;
    };
    switch (c) {
      case 'd':
        s.ascii = digits();
        return s;
      case 'D':
        s.ascii = ascii_complement(digits());
        return s;
      case 'w':
        s.ascii = word();
        return s;
      case 'W':
        s.ascii = ascii_complement(word());
        return s;
      case 's':
        s.ascii = space();
        return s;
      case 'S':
        s.ascii = ascii_complement(space());
        return s;
      case 'n':
        return just('\n');
      case 'r':
        return just('\r');
      case 't':
        return just('\t');
      case 'f':
        return just('\f');
      case 'v':
        return just('\v');
      case '0':
        return just('\0');
      case 'b':
        if (in_class) return just('\b');
        return error("word boundary \\b");
      case 'B':
        return error("word boundary \\B");
      case 'p': {
        if (!eat('{')) return error("escape \\p without a name");
        size_t end = p_.find('}', pos_);
        if (end == std::string_view::npos) return error("unterminated \\p{");
        std::string_view name = p_.substr(pos_, end - pos_);
        if (auto eq = name.find('='); eq != std::string_view::npos) name = name.substr(eq + 1);
        auto prop = unicode_property(name);
        if (!prop) return error("unicode property '" + std::string(name) + "'");
        pos_ = end + 1;
        s.ascii = prop->ascii;
        s.ranges = prop->ranges;
        return s;
      }
      case 'u':
      case 'x': {
        auto v = hex(c == 'u' ? 4 : 2);
        if (!v) return error("malformed \\" + std::string(1, c) + " escape");
        if (*v >= 0xD800 && *v <= 0xDFFF) return error("surrogate escape");
        if (*v < 0x80) return just(static_cast<char>(*v));
        std::string bytes = utf8(static_cast<uint32_t>(*v));
        s.ranges.push_back({bytes.substr(0, bytes.size() - 1), static_cast<uint8_t>(bytes.back()),
                            static_cast<uint8_t>(bytes.back())});
        return s;
      }
      default:
        if (c >= '1' && c <= '9') return error("backreference");
        if (c == 'k' || c == 'P' || c == 'c') return error("escape \\" + std::string(1, c));
        if (static_cast<uint8_t>(c) > 127) return error("non-ASCII escape");
        return just(c);
    }
  }

  Result<NodePtr> parse_class() {
    bool negated = eat('^');
    CharSet set;
    while (true) {
      if (pos_ >= p_.size()) return error("unterminated class");
      if (eat(']')) break;
      auto member = [&]() -> Result<CharSet> {
        char c = p_[pos_++];
        if (c == '\\') return parse_escape(true);
        if (static_cast<uint8_t>(c) > 127) {
          // A whole literal character (only its last byte varies in the range).
          size_t start = pos_ - 1;
          while (pos_ < p_.size() && (static_cast<uint8_t>(p_[pos_]) & 0xC0) == 0x80) ++pos_;
          std::string_view bytes = p_.substr(start, pos_ - start);
          if (bytes.size() > 3) return error("supplementary character in a class");
          CharSet s;
          s.ranges.push_back({std::string(bytes.substr(0, bytes.size() - 1)),
                              static_cast<uint8_t>(bytes.back()),
                              static_cast<uint8_t>(bytes.back())});
          return s;
        }
        CharSet s;
        s.ascii = one(c);
        s.single = static_cast<uint8_t>(c);
        return s;
      };
      auto lo = member();
      if (!lo) return std::unexpected(lo.error());
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        auto hi = member();
        if (!hi) return std::unexpected(hi.error());
        if (lo->single < 0 || hi->single < 0 || hi->single < lo->single)
          return error("bad or non-ASCII class range");
        set.ascii |= ascii_range(lo->single, hi->single);
      } else {
        set.ascii |= lo->ascii;
        for (auto& r : lo->ranges) set.ranges.push_back(r);
      }
    }
    if (negated) return make_bytes(ascii_complement(set.ascii));
    return charset_node(set);
  }

  Result<NodePtr> parse_group(bool& quantifiable) {
    bool look = false, negate = false;
    if (eat('?')) {
      if (eat(':')) {
      } else if (eat('=') || (negate = eat('!'))) {
        look = true;
      } else if (eat('<') && pos_ < p_.size() && p_[pos_] != '=' && p_[pos_] != '!') {
        while (pos_ < p_.size() && p_[pos_] != '>') ++pos_;  // named group
        if (!eat('>')) return error("unterminated group name");
      } else {
        return error("lookbehind or inline flags");
      }
    }
    if (++group_depth_ > kMaxGroupDepth) return error("groups nest deeper than 64");
    if (!look) {
      auto inner = parse_alt();
      --group_depth_;
      if (!inner) return inner;
      if (!eat(')')) return error("missing ')'");
      return inner;
    }
    // A lookahead's language: each alternative followed by anything unless it ends in '$'.
    quantifiable = false;
    int saved_group = look_group_depth_;
    look_group_depth_ = group_depth_;
    ++look_depth_;
    auto alt = make(Kind::kAlt);
    bool anchored = false;
    do {
      bool ended = false;
      auto seq = parse_seq(false, &ended);
      if (!seq) return seq;
      if (!ended) (*seq)->children.push_back(any_ascii_star());
      anchored = anchored || ended;
      alt->children.push_back(std::move(*seq));
    } while (eat('|'));
    --look_depth_;
    look_group_depth_ = saved_group;
    --group_depth_;
    if (!eat(')')) return error("missing ')'");
    auto marker = make(Kind::kLook);
    marker->negate = negate;
    marker->min = anchored ? 1 : 0;
    marker->children.push_back(std::move(alt));
    return marker;
  }

  Result<NodePtr> parse_atom(bool& quantifiable) {
    char c = p_[pos_++];
    switch (c) {
      case '(':
        return parse_group(quantifiable);
      case '[':
        return parse_class();
      case '.': {
        ByteSet s = ascii_range(0, 127);
        s.reset('\n');
        s.reset('\r');
        return make_bytes(s);
      }
      case '\\': {
        auto e = parse_escape(false);
        if (!e) return std::unexpected(e.error());
        return charset_node(*e);
      }
      case '*':
      case '+':
      case '?':
        return error("nothing to repeat");
      default: {
        uint8_t b = static_cast<uint8_t>(c);
        if (b < 0x80) return make_bytes(one(c));
        // A literal non-ASCII character: its whole UTF-8 sequence. A supplementary character
        // is two UTF-16 units, which a quantifier would split in ECMAScript without the u flag.
        auto seq = make(Kind::kConcat);
        seq->children.push_back(make_bytes(one(c)));
        while (pos_ < p_.size() && (static_cast<uint8_t>(p_[pos_]) & 0xC0) == 0x80)
          seq->children.push_back(make_bytes(one(p_[pos_++])));
        if (seq->children.size() > 3) quantifiable = false;
        return seq;
      }
    }
  }

  std::string_view p_;
  size_t pos_ = 0;
  int group_depth_ = 0, look_depth_ = 0, look_group_depth_ = -1;
};

// Replaces lookahead markers: in a sequence A (?=X) R, the text after A must match both R and
// X; exact when R reaches the end of the text (`at_end`). Elsewhere a positive lookahead keeps
// R ∩ X (a subset: the text after R only extends a match of X), a negative one is refused.
Status resolve(RegexNode& n, bool at_end) {
  switch (n.kind) {
    case Kind::kBytes:
    case Kind::kAnd:
    case Kind::kAndNot:
      return ok();
    case Kind::kLook:
      return fail(ErrorCode::kInvalidArgument, "unsupported regex: lookahead here");
    case Kind::kAlt:
      for (auto& c : n.children)
        if (auto s = resolve(*c, at_end); !s) return s;
      return ok();
    case Kind::kRepeat:
      return resolve(*n.children[0], at_end && n.max >= 0 && n.max <= 1);
    case Kind::kConcat:
      break;
  }
  auto& kids = n.children;
  for (size_t i = 0; i < kids.size(); ++i)
    if (kids[i]->kind != Kind::kLook)
      if (auto s = resolve(*kids[i], at_end && i + 1 == kids.size()); !s) return s;
  for (size_t i = kids.size(); i-- > 0;) {
    if (kids[i]->kind != Kind::kLook) continue;
    NodePtr look = std::move(kids[i]->children[0]);
    if (!at_end && (kids[i]->negate || kids[i]->min == 1))
      return fail(ErrorCode::kInvalidArgument,
                  "unsupported regex: negative or '$' lookahead before the end of the pattern");
    if (auto s = resolve(*look, true); !s) return s;
    auto rest = make(Kind::kConcat);
    for (size_t j = i + 1; j < kids.size(); ++j) rest->children.push_back(std::move(kids[j]));
    auto both = make(kids[i]->negate ? Kind::kAndNot : Kind::kAnd);
    both->children.push_back(std::move(rest));
    both->children.push_back(std::move(look));
    kids.resize(i);
    kids.push_back(std::move(both));
  }
  return ok();
}

}  // namespace

NodePtr any_ascii_star() {
  auto r = make(Kind::kRepeat);
  r->min = 0;
  r->max = -1;
  r->children.push_back(make_bytes(ascii_range(0, 127)));
  return r;
}

Result<NodePtr> parse(std::string_view pattern) {
  if (pattern.size() > kMaxPatternBytes)
    return fail(ErrorCode::kInvalidArgument,
                "unsupported regex: longer than " + std::to_string(kMaxPatternBytes) + " bytes");
  Parser parser(pattern);
  auto tree = parser.parse_top();
  if (!tree) return tree;
  if (auto s = resolve(**tree, true); !s) return std::unexpected(s.error());
  return tree;
}

}  // namespace plinth::structured::regex
