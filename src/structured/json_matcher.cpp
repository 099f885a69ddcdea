// The pushdown byte matcher: one frame per open JSON value, one stack per live anyOf branch.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#include "matcher_core.h"
#include "number_bounds.h"

namespace plinth::structured::detail {
namespace {

using ir::Kind;
using Thread = std::vector<Frame>;
constexpr size_t kMaxThreads = 64;

enum class Step { kReject, kConsumed, kConsumedDone, kRefeedDone, kPush };

Frame fresh(ir::NodeId node) {
  Frame f;
  f.node = node;
  return f;
}

// ---- strings ----
bool string_char_ok(const ir::Grammar& g, const ir::StringSpec& s, Frame& f, uint8_t c) {
  if (s.max_length >= 0 && f.a + 1 > s.max_length) return false;
  if (s.dfa >= 0) {
    const ByteDfa& dfa = g.dfas[s.dfa];
    int32_t t = dfa.next[f.b][c];
    if (t < 0) return false;
    int32_t chars = f.a + 1;
    if (s.max_length >= 0 && dfa.min_chars_to_accept[t] > s.max_length - chars) return false;
    if (dfa.max_chars_to_accept[t] != ByteDfa::kUnbounded &&
        chars + dfa.max_chars_to_accept[t] < s.min_length)
      return false;
    f.b = t;
  }
  // Unlimited strings do not count, so their state repeats and masks come from the cache.
  if (s.max_length >= 0 || s.min_length > 0) ++f.a;
  return true;
}

Step step_string(const ir::Grammar& g, const ir::StringSpec& s, Frame& f, uint8_t c) {
  switch (f.phase) {
    case 0:
      if (c != '"') return Step::kReject;
      f.phase = 1;
      if (s.dfa >= 0) f.b = g.dfas[s.dfa].start;
      return Step::kConsumed;
    case 1:
      if (c == '"') {
        if (f.a < s.min_length) return Step::kReject;
        if (s.dfa >= 0 && !g.dfas[s.dfa].accepting[f.b]) return Step::kReject;
        return Step::kConsumedDone;
      }
      if (c == '\\') {
        if (s.max_length >= 0 && f.a >= s.max_length) return Step::kReject;
        if (s.dfa >= 0) {  // only start an escape that some escaped character can finish
          bool any = false;
          for (char e : kEscapedBytes) {
            Frame probe = f;
            any = any || string_char_ok(g, s, probe, static_cast<uint8_t>(e));
          }
          if (!any) return Step::kReject;
        }
        f.phase = 2;
        return Step::kConsumed;
      }
      if (c < 0x20) return Step::kReject;
      if (c < 0x80) return string_char_ok(g, s, f, c) ? Step::kConsumed : Step::kReject;
      {
        uint8_t lo = 0x80, hi = 0xBF, rest = 0;
        if (c >= 0xC2 && c <= 0xDF) {
          rest = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
          rest = 2;
          if (c == 0xE0) lo = 0xA0;
          if (c == 0xED) hi = 0x9F;  // no surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
          // A supplementary character is one code point (JSON Schema) but two UTF-16 units
          // (JavaScript's length): with a length limit, keep to the BMP so both agree.
          if (s.max_length >= 0 || s.min_length > 0) return Step::kReject;
          rest = 3;
          if (c == 0xF0) lo = 0x90;
          if (c == 0xF4) hi = 0x8F;
        } else {
          return Step::kReject;
        }
        if (!string_char_ok(g, s, f, c)) return Step::kReject;
        f.phase = 4;
        f.aux = rest;
        f.small = static_cast<uint16_t>(lo << 8 | hi);
        return Step::kConsumed;
      }
    case 2: {
      size_t i = kEscapeLetters.find(static_cast<char>(c));
      if (i != std::string_view::npos) {
        if (!string_char_ok(g, s, f, static_cast<uint8_t>(kEscapedBytes[i]))) return Step::kReject;
        f.phase = 1;
        return Step::kConsumed;
      }
      // \u escapes only where no pattern applies (the DFA sees decoded bytes).
      if (c == 'u' && s.dfa < 0) {
        f.phase = 3;
        f.aux = 0;
        f.small = 0;
        return Step::kConsumed;
      }
      return Step::kReject;
    }
    case 3: {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
                                       : -1;
      if (d < 0) return Step::kReject;
      uint16_t value = static_cast<uint16_t>(f.small * 16 + d);
      // Lone surrogates are refused as soon as the second digit reveals them.
      if (f.aux == 1 && value >= 0xD8 && value <= 0xDF) return Step::kReject;
      f.small = value;
      if (++f.aux == 4) {
        if (s.max_length >= 0 || s.min_length > 0) ++f.a;
        f.phase = 1;
      }
      return Step::kConsumed;
    }
    case 4: {
      uint8_t lo = f.small >> 8, hi = f.small & 0xFF;
      if (c < lo || c > hi) return Step::kReject;
      if (s.dfa >= 0) {
        int32_t t = g.dfas[s.dfa].next[f.b][c];
        if (t < 0) return Step::kReject;
        f.b = t;
      }
      f.small = 0x80BF;
      if (--f.aux == 0) f.phase = 1;
      return Step::kConsumed;
    }
  }
  return Step::kReject;
}

// ---- numbers ----
// phase: 0 start, 1 '-', 2 int "0", 3 int digits, 4 '.', 5 fraction, 6 'e', 7 exp sign, 8 exp.
// a = integer digits, aux = fraction digits, b = exponent digits, v = mantissa as an integer,
// small bit 0 = negative.
Step step_number(const ir::NumberSpec& s, Frame& f, uint8_t c) {
  bool digit = c >= '0' && c <= '9';
  bool bounded = s.has_min || s.has_max || s.multiple > 0;
  Frame next = f;
  switch (f.phase) {
    case 0:
      if (c == '-')
        next.phase = 1, next.small = 1;
      else if (c == '0')
        next.phase = 2, next.a = 1;
      else if (digit)
        next.phase = 3, next.a = 1, next.v = c - '0';
      else
        return Step::kReject;
      break;
    case 1:
      if (c == '0')
        next.phase = 2, next.a = 1;
      else if (digit)
        next.phase = 3, next.a = 1, next.v = c - '0';
      else
        return Step::kReject;
      break;
    case 2:
    case 3:
    case 5:
      if (digit && f.phase != 2 && f.a + f.aux < kMaxNumberDigits) {
        next.v = f.v * 10 + (c - '0');
        if (f.phase == 3)
          ++next.a;
        else
          ++next.aux;
      } else if (c == '.' && f.phase != 5 && !s.integer && f.a < kMaxNumberDigits) {
        next.phase = 4;
      } else if ((c == 'e' || c == 'E') && !s.integer && !bounded) {
        next.phase = 6;
      } else {
        if (!number_value_ok(s, f)) return Step::kReject;
        return Step::kRefeedDone;
      }
      break;
    case 4:
      if (!digit || f.a + f.aux >= kMaxNumberDigits) return Step::kReject;
      next.phase = 5, next.aux = 1, next.v = f.v * 10 + (c - '0');
      break;
    case 6:
      if (c == '+' || c == '-')
        next.phase = 7;
      else if (digit)
        next.phase = 8, next.b = 1;
      else
        return Step::kReject;
      break;
    case 7:
      if (!digit) return Step::kReject;
      next.phase = 8, next.b = 1;
      break;
    case 8:
      if (digit && f.b < 2) {
        ++next.b;
      } else {
        return Step::kRefeedDone;
      }
      break;
  }
  if (bounded && !number_prefix_feasible(s, next)) return Step::kReject;
  f = next;
  return Step::kConsumed;
}

// ---- arrays and objects ----
Step step_array(const ir::ArraySpec& s, Frame& f, uint8_t c, ir::NodeId& child) {
  switch (f.phase) {
    case 0:
      if (c != '[') return Step::kReject;
      f.phase = 1;
      return Step::kConsumed;
    case 1:
    case 2:
      if (c == ']') return f.a >= s.min_items ? Step::kConsumedDone : Step::kReject;
      if (f.phase == 2) {
        if (c != ',' || array_item(s, f.a) == ir::kNoNode) return Step::kReject;
        f.phase = 3;
        return Step::kConsumed;
      }
      [[fallthrough]];
    case 3:
      child = array_item(s, f.a);
      return child == ir::kNoNode ? Step::kReject : Step::kPush;
  }
  return Step::kReject;
}

bool key_range_contains(const std::vector<int32_t>& below, int32_t lo, int32_t hi) {
  auto it = std::lower_bound(below.begin(), below.end(), lo);
  return it != below.end() && *it <= hi;
}

Step step_object(const ir::ObjectSpec& s, Frame& f, uint8_t c, ir::NodeId& child) {
  const int32_t n = static_cast<int32_t>(s.properties.size());
  auto can_close = [&] {
    return s.free_form ? f.a >= s.min_properties : s.next_required[f.a] == n;
  };
  auto can_add = [&] {
    return s.free_form ? (s.max_properties < 0 || f.a < s.max_properties) : f.a < n;
  };
  auto start_key = [&]() -> Step {
    f.phase = 2;
    if (s.free_form) {
      child = s.key_node;
      return Step::kPush;
    }
    f.b = 0;
    return Step::kConsumed;
  };
  switch (f.phase) {
    case 0:
      if (c != '{') return Step::kReject;
      f.phase = 1;
      return Step::kConsumed;
    case 1:
      if (c == '}') return can_close() ? Step::kConsumedDone : Step::kReject;
      if (c == '"' && can_add()) return start_key();
      return Step::kReject;
    case 2: {  // declared keys only; free-form keys are a child string frame
      int32_t next = s.keys.child(f.b, c);
      if (next < 0) return Step::kReject;
      int32_t last = std::min(s.next_required[f.a], n - 1);
      if (!key_range_contains(s.keys.nodes[next].texts_below, f.a, last)) return Step::kReject;
      f.b = next;
      int32_t terminal = s.keys.nodes[next].terminal;
      if (terminal >= 0) {
        f.phase = 3;
        f.b = terminal;
      }
      return Step::kConsumed;
    }
    case 3:
      if (c != ':') return Step::kReject;
      f.phase = 4;
      return Step::kConsumed;
    case 4:
      child = s.free_form ? s.values : s.properties[f.b].value;
      return Step::kPush;
    case 5:
      if (c == '}') return can_close() ? Step::kConsumedDone : Step::kReject;
      if (c == ',' && can_add()) {
        f.phase = 6;
        return Step::kConsumed;
      }
      return Step::kReject;
    case 6:
      if (c != '"') return Step::kReject;
      return start_key();
  }
  return Step::kReject;
}

Step step_literal(const ir::ByteTrie& trie, Frame& f, uint8_t c) {
  int32_t next = trie.child(f.b, c);
  if (next < 0) return trie.nodes[f.b].terminal >= 0 ? Step::kRefeedDone : Step::kReject;
  f.b = next;
  const auto& node = trie.nodes[next];
  return node.terminal >= 0 && node.next.empty() ? Step::kConsumedDone : Step::kConsumed;
}

// One byte into a (non-root) frame, by the kind of node it matches; nullopt for a node kind that
// never holds a frame.
std::optional<Step> step_frame(const ir::Grammar& g, Frame& f, uint8_t c, ir::NodeId& child) {
  const ir::Node& n = g.nodes[f.node];
  switch (n.kind) {
    case Kind::kString:
      return step_string(g, n.string, f, c);
    case Kind::kNumber:
      return step_number(n.number, f, c);
    case Kind::kArray:
      return step_array(n.array, f, c, child);
    case Kind::kObject:
      return step_object(n.object, f, c, child);
    case Kind::kLiteral:
      return step_literal(n.literals, f, c);
    default:
      return std::nullopt;
  }
}

void child_done(const ir::Grammar& g, Thread& t) {
  Frame& f = t.back();
  if (f.node == kRootFrame) {
    f.phase = 1;
    return;
  }
  const ir::Node& n = g.nodes[f.node];
  if (n.kind == Kind::kArray) {
    ++f.a;
    f.phase = 2;
  } else if (n.kind == Kind::kObject) {
    if (f.phase == 2) {
      f.phase = 3;
    } else {
      f.a = n.object.free_form ? f.a + 1 : f.b + 1;
      f.phase = 5;
    }
  }
}

bool feed_thread(const ir::Grammar& g, Thread& t, uint8_t c, std::vector<Thread>& forks);

bool push_value(const ir::Grammar& g, Thread& t, ir::NodeId id, uint8_t c,
                std::vector<Thread>& forks) {
  const ir::Node& node = g.nodes[id];
  if (node.kind != Kind::kUnion) {
    t.push_back(fresh(id));
    return feed_thread(g, t, c, forks);
  }
  std::vector<Thread> alive;
  for (ir::NodeId alt : node.alternatives) {
    Thread copy = t;
    copy.push_back(fresh(alt));
    std::vector<Thread> nested;
    if (feed_thread(g, copy, c, nested)) alive.push_back(std::move(copy));
    for (auto& n : nested) alive.push_back(std::move(n));
  }
  if (alive.empty()) return false;
  t = std::move(alive[0]);
  for (size_t i = 1; i < alive.size(); ++i) forks.push_back(std::move(alive[i]));
  return true;
}

bool feed_thread(const ir::Grammar& g, Thread& t, uint8_t c, std::vector<Thread>& forks) {
  while (!t.empty()) {
    Frame& f = t.back();
    ir::NodeId child = ir::kNoNode;
    Step step;
    if (f.node == kRootFrame) {
      if (f.phase != 0) return false;
      child = g.root;
      step = Step::kPush;
    } else {
      auto stepped = step_frame(g, f, c, child);
      if (!stepped) return false;
      step = *stepped;
    }
    switch (step) {
      case Step::kReject:
        return false;
      case Step::kConsumed:
        return true;
      case Step::kConsumedDone:
        t.pop_back();
        child_done(g, t);
        return true;
      case Step::kRefeedDone:
        t.pop_back();
        child_done(g, t);
        continue;
      case Step::kPush:
        return push_value(g, t, child, c, forks);
    }
  }
  return false;
}

bool frames_equal(const Thread& x, const Thread& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(Frame)) == 0;
}

}  // namespace

MatcherState initial_state(const ir::Grammar& g) {
  MatcherState s;
  Frame root;
  root.node = kRootFrame;
  s.threads.push_back({root});
  return s;
}

bool feed_byte(const ir::Grammar& g, MatcherState& state, uint8_t c) {
  auto& threads = state.threads;
  std::vector<Thread> forks;
  size_t kept = 0;
  for (size_t i = 0; i < threads.size(); ++i) {
    if (feed_thread(g, threads[i], c, forks)) {
      if (kept != i) std::swap(threads[kept], threads[i]);
      ++kept;
    }
  }
  threads.resize(kept);
  for (auto& f : forks) {
    if (threads.size() >= kMaxThreads) break;
    bool duplicate = false;
    for (const auto& t : threads) duplicate = duplicate || frames_equal(t, f);
    if (!duplicate) threads.push_back(std::move(f));
  }
  return !threads.empty();
}

int feed_top_frame(const ir::Grammar& g, Frame& f, uint8_t c) {
  if (f.node == kRootFrame) return -1;
  ir::NodeId child = ir::kNoNode;
  auto stepped = step_frame(g, f, c, child);
  if (!stepped) return -1;
  Step step = *stepped;
  // Exactly feed_thread's outcomes for these two; the others reshape the stack.
  if (step == Step::kConsumed) return 1;
  if (step == Step::kReject) return 0;
  return -1;
}

bool is_complete(const ir::Grammar& g, const MatcherState& state) {
  for (const auto& t : state.threads) {
    if (t.size() == 1 && t[0].phase == 1) return true;
    if (t.size() != 2) continue;
    const Frame& f = t[1];
    const ir::Node& n = g.nodes[f.node];
    if (n.kind == Kind::kNumber && number_complete_phase(f.phase) &&
        (f.phase == 8 || number_value_ok(n.number, f)))
      return true;
    if (n.kind == Kind::kLiteral && n.literals.nodes[f.b].terminal >= 0) return true;
  }
  return false;
}

int64_t plain_string_room(const ir::Grammar& g, const MatcherState& state) {
  // With several threads (anyOf of strings), plain content is accepted while any thread has
  // room for it, and content of equal length leaves every thread in the same place.
  int64_t room = -1;
  for (const auto& t : state.threads) {
    if (t.empty()) return -1;
    const Frame& f = t.back();
    if (f.node < 0 || f.phase != 1) return -1;
    const ir::Node& n = g.nodes[f.node];
    if (n.kind != Kind::kString || n.string.dfa >= 0) return -1;
    room = std::max<int64_t>(
        room, n.string.max_length < 0 ? INT32_MAX : std::max(0, n.string.max_length - f.a));
  }
  return room;
}

void state_key(const MatcherState& state, std::string& out) {
  // Frame has no padding (checked below), so its bytes are its value. Each thread is prefixed
  // with its frame count so that different splits of the same frames never share a key.
  static_assert(sizeof(Frame) == 24, "4+1+1+2+4+4+8 bytes: a padding byte would break keys");
  out.clear();
  for (const auto& t : state.threads) {
    uint32_t frames = static_cast<uint32_t>(t.size());
    out.append(reinterpret_cast<const char*>(&frames), sizeof frames);
    out.append(reinterpret_cast<const char*>(t.data()), t.size() * sizeof(Frame));
  }
}

}  // namespace plinth::structured::detail
