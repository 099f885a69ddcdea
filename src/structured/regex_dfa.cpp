// Regex subset -> Thompson NFA -> subset-construction DFA, with liveness and length bounds.
#include "regex_dfa.h"

#include <algorithm>
#include <bitset>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>

namespace plinth::structured {
namespace {

using ByteSet = std::bitset<256>;

constexpr int kMaxNfaStates = 60000;
constexpr int kMaxDfaStates = 3000;
constexpr int kMaxRepeat = 1000;

// Regex syntax tree. Non-ASCII only ever appears as literal byte sequences: '.', \W and negated
// classes match ASCII only, so byte-wise and code-point-wise regex engines agree on the result.
struct RegexNode {
  enum class Kind { kBytes, kConcat, kAlt, kRepeat } kind = Kind::kBytes;
  ByteSet bytes;
  std::vector<std::unique_ptr<RegexNode>> children;
  int min = 0, max = 0;  // kRepeat; max < 0 = unbounded
};
using NodePtr = std::unique_ptr<RegexNode>;

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

class RegexParser {
 public:
  explicit RegexParser(std::string_view p) : p_(p) {}

  Result<NodePtr> parse_top() {
    auto alt = make(RegexNode::Kind::kAlt);
    while (true) {
      bool anchored_start = eat('^');
      auto body = parse_seq(/*top=*/true);
      if (!body) return std::unexpected(body.error());
      bool anchored_end = eat('$');
      auto seq = make(RegexNode::Kind::kConcat);
      if (!anchored_start) seq->children.push_back(any_star());
      seq->children.push_back(std::move(*body));
      if (!anchored_end) seq->children.push_back(any_star());
      alt->children.push_back(std::move(seq));
      if (pos_ >= p_.size()) break;
      if (!eat('|')) return error("unexpected ')' or '$'");
    }
    return alt;
  }

 private:
  NodePtr any_star() {
    auto r = make(RegexNode::Kind::kRepeat);
    r->min = 0;
    r->max = -1;
    r->children.push_back(
        make_bytes(ascii_range(0, 127)));  // ASCII filler keeps both readings equal
    return r;
  }
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
  bool at_end_of_top_alt() const {
    return pos_ + 1 == p_.size() || (pos_ + 1 < p_.size() && p_[pos_ + 1] == '|');
  }

  Result<NodePtr> parse_alt() {
    auto alt = make(RegexNode::Kind::kAlt);
    do {
      auto seq = parse_seq(false);
      if (!seq) return seq;
      alt->children.push_back(std::move(*seq));
    } while (eat('|'));
    return alt;
  }

  Result<NodePtr> parse_seq(bool top) {
    auto seq = make(RegexNode::Kind::kConcat);
    while (pos_ < p_.size() && p_[pos_] != '|' && p_[pos_] != ')') {
      if (p_[pos_] == '$') {
        if (top && at_end_of_top_alt()) break;
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
    if (!quantifiable) return error("quantifier after a non-ASCII character or anchor");
    if (eat('+')) return error("possessive quantifier");
    eat('?');  // lazy and greedy accept the same strings
    auto r = make(RegexNode::Kind::kRepeat);
    r->min = min;
    r->max = max;
    r->children.push_back(std::move(atom));
    return r;
  }

  // An escape outside or inside a class; `in_class` makes \b a backspace.
  Result<ByteSet> parse_escape(bool in_class) {
    if (pos_ >= p_.size()) return error("trailing backslash");
    char c = p_[pos_++];
    ByteSet s;
    auto hex = [&](int n) -> std::optional<int> {
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
    };
    switch (c) {
      case 'd':
        return digits();
      case 'D':
        return ascii_complement(digits());
      case 'w':
        return word();
      case 'W':
        return ascii_complement(word());
      case 's':
        return space();
      case 'S':
        return ascii_complement(space());
      case 'n':
        s.set('\n');
        return s;
      case 'r':
        s.set('\r');
        return s;
      case 't':
        s.set('\t');
        return s;
      case 'f':
        s.set('\f');
        return s;
      case 'v':
        s.set('\v');
        return s;
      case '0':
        s.set(0);
        return s;
      case 'b':
        if (in_class) {
          s.set('\b');
          return s;
        }
        return error("word boundary \\b");
      case 'B':
        return error("word boundary \\B");
      case 'u':
      case 'x': {
        auto v = hex(c == 'u' ? 4 : 2);
        if (!v) return error("malformed \\" + std::string(1, c) + " escape");
        if (*v > 127) return error("non-ASCII escape");
        s.set(*v);
        return s;
      }
      default:
        if (c >= '1' && c <= '9') return error("backreference");
        if (c == 'k' || c == 'p' || c == 'P' || c == 'c')
          return error("escape \\" + std::string(1, c));
        if (static_cast<uint8_t>(c) > 127) return error("non-ASCII escape");
        s.set(static_cast<uint8_t>(c));
        return s;
    }
  }

  Result<NodePtr> parse_class() {
    bool negated = eat('^');
    ByteSet set;
    while (true) {
      if (pos_ >= p_.size()) return error("unterminated class");
      if (eat(']')) break;
      auto one = [&]() -> Result<std::pair<ByteSet, int>> {  // set, single byte or -1
        char c = p_[pos_++];
        if (static_cast<uint8_t>(c) > 127) return error("non-ASCII class member");
        if (c == '\\') {
          auto e = parse_escape(true);
          if (!e) return std::unexpected(e.error());
          int single = -1;
          if (e->count() == 1)
            for (int i = 0; i < 128; ++i)
              if (e->test(i)) single = i;
          return std::pair{*e, single};
        }
        ByteSet s;
        s.set(static_cast<uint8_t>(c));
        return std::pair{s, static_cast<int>(static_cast<uint8_t>(c))};
      };
      auto lo = one();
      if (!lo) return std::unexpected(lo.error());
      if (pos_ + 1 < p_.size() && p_[pos_] == '-' && p_[pos_ + 1] != ']') {
        ++pos_;
        auto hi = one();
        if (!hi) return std::unexpected(hi.error());
        if (lo->second < 0 || hi->second < 0 || hi->second < lo->second)
          return error("bad class range");
        set |= ascii_range(lo->second, hi->second);
      } else {
        set |= lo->first;
      }
    }
    return make_bytes(negated ? ascii_complement(set) : set);
  }

  Result<NodePtr> parse_atom(bool& quantifiable) {
    char c = p_[pos_++];
    switch (c) {
      case '(': {
        if (eat('?')) {
          if (eat(':')) {
          } else if (eat('<') && pos_ < p_.size() && p_[pos_] != '=' && p_[pos_] != '!') {
            while (pos_ < p_.size() && p_[pos_] != '>') ++pos_;  // named group
            if (!eat('>')) return error("unterminated group name");
          } else {
            return error("lookaround or inline flags");
          }
        }
        auto inner = parse_alt();
        if (!inner) return inner;
        if (!eat(')')) return error("missing ')'");
        return inner;
      }
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
        return make_bytes(*e);
      }
      case '*':
      case '+':
      case '?':
        return error("nothing to repeat");
      default: {
        uint8_t b = static_cast<uint8_t>(c);
        if (b < 0x80) {
          ByteSet s;
          s.set(b);
          return make_bytes(s);
        }
        // A literal non-ASCII character: its whole UTF-8 sequence, not quantifiable.
        quantifiable = false;
        auto seq = make(RegexNode::Kind::kConcat);
        ByteSet s;
        s.set(b);
        seq->children.push_back(make_bytes(s));
        while (pos_ < p_.size() && (static_cast<uint8_t>(p_[pos_]) & 0xC0) == 0x80) {
          ByteSet t;
          t.set(static_cast<uint8_t>(p_[pos_++]));
          seq->children.push_back(make_bytes(t));
        }
        return seq;
      }
    }
  }

  std::string_view p_;
  size_t pos_ = 0;
};

// Thompson NFA.
struct Nfa {
  struct State {
    std::vector<int> eps;
    std::vector<std::pair<int, int>> moves;  // (byte-set index, target)
  };
  std::vector<State> states;
  std::vector<ByteSet> sets;
  bool overflow = false;

  int add() {
    if (states.size() >= kMaxNfaStates) overflow = true;
    states.emplace_back();
    return static_cast<int>(states.size()) - 1;
  }
  // Builds `n` between fresh states; returns (start, end).
  std::pair<int, int> build(const RegexNode& n) {
    int s = add(), e = add();
    if (overflow) return {s, e};
    switch (n.kind) {
      case RegexNode::Kind::kBytes:
        sets.push_back(n.bytes);
        states[s].moves.push_back({static_cast<int>(sets.size()) - 1, e});
        break;
      case RegexNode::Kind::kConcat: {
        int cur = s;
        for (const auto& c : n.children) {
          auto [cs, ce] = build(*c);
          if (overflow) return {s, e};
          states[cur].eps.push_back(cs);
          cur = ce;
        }
        states[cur].eps.push_back(e);
        break;
      }
      case RegexNode::Kind::kAlt:
        for (const auto& c : n.children) {
          auto [cs, ce] = build(*c);
          if (overflow) return {s, e};
          states[s].eps.push_back(cs);
          states[ce].eps.push_back(e);
        }
        break;
      case RegexNode::Kind::kRepeat: {
        int cur = s;
        const RegexNode& child = *n.children[0];
        for (int i = 0; i < n.min; ++i) {
          auto [cs, ce] = build(child);
          if (overflow) return {s, e};
          states[cur].eps.push_back(cs);
          cur = ce;
        }
        if (n.max < 0) {
          auto [cs, ce] = build(child);
          if (overflow) return {s, e};
          states[cur].eps.push_back(cs);
          states[ce].eps.push_back(cur);
        } else {
          for (int i = n.min; i < n.max; ++i) {
            auto [cs, ce] = build(child);
            if (overflow) return {s, e};
            states[cur].eps.push_back(cs);
            states[cur].eps.push_back(e);
            cur = ce;
          }
        }
        states[cur].eps.push_back(e);
        break;
      }
    }
    return {s, e};
  }
};

void close_over_eps(const Nfa& nfa, std::vector<int>& set) {
  std::vector<uint8_t> seen(nfa.states.size(), 0);
  for (int s : set) seen[s] = 1;
  for (size_t i = 0; i < set.size(); ++i)
    for (int t : nfa.states[set[i]].eps)
      if (!seen[t]) {
        seen[t] = 1;
        set.push_back(t);
      }
  std::sort(set.begin(), set.end());
}

}  // namespace

Result<ByteDfa> compile_regex(std::string_view pattern) {
  RegexParser parser(pattern);
  auto tree = parser.parse_top();
  if (!tree) return std::unexpected(tree.error());
  Nfa nfa;
  auto [start, end] = nfa.build(**tree);
  if (nfa.overflow) return fail(ErrorCode::kInvalidArgument, "unsupported regex: too large");

  ByteDfa dfa;
  std::map<std::vector<int>, int> ids;
  std::vector<std::vector<int>> sets;
  std::vector<int> first{start};
  close_over_eps(nfa, first);
  ids[first] = 0;
  sets.push_back(first);
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets.size() > kMaxDfaStates)
      return fail(ErrorCode::kInvalidArgument, "unsupported regex: automaton too large");
    std::array<int32_t, 256> row;
    row.fill(ByteDfa::kDead);
    std::vector<int> current = sets[i];
    for (int b = 0; b < 256; ++b) {
      std::vector<int> target;
      for (int s : current)
        for (auto [set, t] : nfa.states[s].moves)
          if (nfa.sets[set].test(b)) target.push_back(t);
      if (target.empty()) continue;
      close_over_eps(nfa, target);
      target.erase(std::unique(target.begin(), target.end()), target.end());
      auto [it, inserted] = ids.emplace(target, static_cast<int>(sets.size()));
      if (inserted) sets.push_back(target);
      row[b] = it->second;
    }
    dfa.next.push_back(row);
    dfa.accepting.push_back(std::binary_search(current.begin(), current.end(), end) ? 1 : 0);
  }
  finish_dfa(dfa);
  if (dfa.min_chars_to_accept[0] == INT32_MAX)
    return fail(ErrorCode::kInvalidArgument, "regex matches nothing");
  return dfa;
}

}  // namespace plinth::structured
