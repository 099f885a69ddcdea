// Regex tree -> Thompson NFA -> subset-construction DFA; products for lookahead and format.
#include "regex_dfa.h"

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <unordered_map>
#include <unordered_set>

#include "regex_ast.h"

namespace plinth::structured {
namespace {

using regex::ByteSet;
using regex::RegexNode;
using Kind = RegexNode::Kind;

constexpr int kMaxNfaStates = 60000;
constexpr size_t kMaxDfaStates = 3000;
// Products (lookahead, format with pattern) keep the states nearest the start: every string
// they still accept is in the intersection, so a large product shrinks to a subset, never
// beyond it.
constexpr size_t kMaxProductStates = 2500;
// NFA states visited while building one automaton: bounds compile time whatever the pattern.
constexpr size_t kMaxDeterminizeWork = size_t{4} << 20;

// A complete-or-partial DFA before pruning: next[s][b] = -1 for "no move".
struct RawDfa {
  std::vector<std::array<int32_t, 256>> next;
  std::vector<uint8_t> accepting;
};

Result<RawDfa> determinize(const RegexNode& n, size_t max_states);

struct Nfa {
  struct State {
    std::vector<int> eps;
    std::vector<std::pair<int, int>> moves;  // (byte-set index, target)
  };
  std::vector<State> states;
  std::vector<ByteSet> sets;
  bool overflow = false;
  std::optional<Error> error;

  int add() {
    if (states.size() >= kMaxNfaStates) overflow = true;
    states.emplace_back();
    return static_cast<int>(states.size()) - 1;
  }
  // Embeds a DFA between s and e.
  void embed(const RawDfa& d, int s, int e) {
    int base = static_cast<int>(states.size());
    for (size_t i = 0; i < d.next.size(); ++i) add();
    if (overflow) return;
    states[s].eps.push_back(base);
    for (size_t i = 0; i < d.next.size(); ++i) {
      std::map<int, ByteSet> by_target;
      for (int b = 0; b < 256; ++b)
        if (d.next[i][b] >= 0) by_target[d.next[i][b]].set(b);
      for (auto& [t, set] : by_target) {
        sets.push_back(set);
        states[base + i].moves.push_back({static_cast<int>(sets.size()) - 1, base + t});
      }
      if (d.accepting[i]) states[base + i].eps.push_back(e);
    }
  }
  // Builds `n` between fresh states; returns (start, end).
  std::pair<int, int> build(const RegexNode& n);
};

// The product of two DFAs from their starts, truncated at kMaxProductStates (a subset).
RawDfa product(const RawDfa& a, const RawDfa& b, bool subtract) {
  RawDfa out;
  // (a state, b state + 1) packed into one key; b's -1 (dead, when subtracting) becomes 0.
  auto key = [](int x, int y) {
    return static_cast<uint64_t>(x) << 32 | static_cast<uint32_t>(y + 1);
  };
  std::unordered_map<uint64_t, int> ids;
  std::vector<std::pair<int, int>> pairs{{0, 0}};
  ids[key(0, 0)] = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    auto [x, y] = pairs[i];
    std::array<int32_t, 256> row;
    row.fill(-1);
    for (int c = 0; c < 256; ++c) {
      int nx = a.next[x][c];
      int ny = y < 0 ? -1 : b.next[y][c];
      if (nx < 0 || (!subtract && ny < 0)) continue;
      auto it = ids.find(key(nx, ny));
      if (it == ids.end()) {
        if (pairs.size() >= kMaxProductStates) continue;  // dropped: a subset
        it = ids.emplace(key(nx, ny), static_cast<int>(pairs.size())).first;
        pairs.push_back({nx, ny});
      }
      row[c] = it->second;
    }
    out.next.push_back(row);
    bool in_b = y >= 0 && b.accepting[y];
    out.accepting.push_back(a.accepting[x] && (subtract ? !in_b : in_b));
  }
  return out;
}

std::pair<int, int> Nfa::build(const RegexNode& n) {
  int s = add(), e = add();
  if (overflow || error) return {s, e};
  switch (n.kind) {
    case Kind::kBytes:
      sets.push_back(n.bytes);
      states[s].moves.push_back({static_cast<int>(sets.size()) - 1, e});
      break;
    case Kind::kConcat: {
      int cur = s;
      for (const auto& c : n.children) {
        auto [cs, ce] = build(*c);
        if (overflow || error) return {s, e};
        states[cur].eps.push_back(cs);
        cur = ce;
      }
      states[cur].eps.push_back(e);
      break;
    }
    case Kind::kAlt:
      for (const auto& c : n.children) {
        auto [cs, ce] = build(*c);
        if (overflow || error) return {s, e};
        states[s].eps.push_back(cs);
        states[ce].eps.push_back(e);
      }
      break;
    case Kind::kRepeat: {
      int cur = s;
      const RegexNode& child = *n.children[0];
      for (int i = 0; i < n.min; ++i) {
        auto [cs, ce] = build(child);
        if (overflow || error) return {s, e};
        states[cur].eps.push_back(cs);
        cur = ce;
      }
      if (n.max < 0) {
        auto [cs, ce] = build(child);
        if (overflow || error) return {s, e};
        states[cur].eps.push_back(cs);
        states[ce].eps.push_back(cur);
      } else {
        for (int i = n.min; i < n.max; ++i) {
          auto [cs, ce] = build(child);
          if (overflow || error) return {s, e};
          states[cur].eps.push_back(cs);
          states[cur].eps.push_back(e);
          cur = ce;
        }
      }
      states[cur].eps.push_back(e);
      break;
    }
    case Kind::kAnd:
    case Kind::kAndNot: {
      auto a = determinize(*n.children[0], kMaxDfaStates);
      auto b = a ? determinize(*n.children[1], kMaxDfaStates) : a;
      if (!a || !b) {
        error = (!a ? a : b).error();
        return {s, e};
      }
      embed(product(*a, *b, n.kind == Kind::kAndNot), s, e);
      break;
    }
    case Kind::kLook:
      error = Error{ErrorCode::kInvalidArgument, "unsupported regex: lookahead"};
      break;
  }
  return {s, e};
}

void close_over_eps(const Nfa& nfa, std::vector<int>& set, std::vector<uint8_t>& seen) {
  for (int s : set) seen[s] = 1;
  for (size_t i = 0; i < set.size(); ++i)
    for (int t : nfa.states[set[i]].eps)
      if (!seen[t]) {
        seen[t] = 1;
        set.push_back(t);
      }
  for (int s : set) seen[s] = 0;
  std::sort(set.begin(), set.end());
}

// Bytes no NFA move tells apart share a class, so subsets are built once per class, not once
// per byte (a pattern over a few characters has a handful of classes).
std::vector<std::vector<int>> byte_classes(const Nfa& nfa) {
  std::unordered_set<ByteSet> distinct(nfa.sets.begin(), nfa.sets.end());
  std::array<int, 256> cls{};
  int count = 1;
  std::vector<int> renumber;
  for (const ByteSet& set : distinct) {
    if (set.none() || set.all()) continue;
    renumber.assign(2 * count, -1);
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      int& id = renumber[2 * cls[b] + (set.test(b) ? 1 : 0)];
      if (id < 0) id = next++;
      cls[b] = id;
    }
    count = next;
  }
  std::vector<std::vector<int>> classes(count);
  for (int b = 0; b < 256; ++b) classes[cls[b]].push_back(b);
  return classes;
}

struct StateSetHash {
  size_t operator()(const std::vector<int>& v) const {
    uint64_t h = 1469598103934665603ULL;
    for (int x : v) h = (h ^ static_cast<uint32_t>(x)) * 1099511628211ULL;
    return static_cast<size_t>(h);
  }
};

Result<RawDfa> determinize(const RegexNode& node, size_t max_states) {
  Nfa nfa;
  auto [start, end] = nfa.build(node);
  if (nfa.error) return std::unexpected(*nfa.error);
  if (nfa.overflow) return fail(ErrorCode::kInvalidArgument, "unsupported regex: too large");
  auto classes = byte_classes(nfa);
  RawDfa dfa;
  std::unordered_map<std::vector<int>, int, StateSetHash> ids;
  std::vector<std::vector<int>> sets;
  std::vector<uint8_t> seen(nfa.states.size(), 0);
  std::vector<int> first{start};
  close_over_eps(nfa, first, seen);
  ids[first] = 0;
  sets.push_back(first);
  size_t work = 0;
  for (size_t i = 0; i < sets.size(); ++i) {
    if (sets.size() > max_states)
      return fail(ErrorCode::kInvalidArgument,
                  "unsupported regex: automaton above " + std::to_string(max_states) + " states");
    std::array<int32_t, 256> row;
    row.fill(ByteDfa::kDead);
    std::vector<int> current = sets[i];
    for (const auto& members : classes) {
      int probe = members[0];
      std::vector<int> target;
      for (int s : current)
        for (auto [set, t] : nfa.states[s].moves)
          if (nfa.sets[set].test(probe)) target.push_back(t);
      work += current.size() + target.size();
      if (target.empty()) continue;
      close_over_eps(nfa, target, seen);
      target.erase(std::unique(target.begin(), target.end()), target.end());
      work += target.size();
      auto [it, inserted] = ids.emplace(target, static_cast<int>(sets.size()));
      if (inserted) sets.push_back(std::move(target));
      for (int b : members) row[b] = it->second;
    }
    if (work > kMaxDeterminizeWork)
      return fail(ErrorCode::kInvalidArgument, "unsupported regex: too complex to compile");
    dfa.next.push_back(row);
    dfa.accepting.push_back(std::binary_search(current.begin(), current.end(), end) ? 1 : 0);
  }
  return dfa;
}

ByteDfa finished(RawDfa raw) {
  ByteDfa dfa;
  dfa.next = std::move(raw.next);
  dfa.accepting = std::move(raw.accepting);
  finish_dfa(dfa);
  return dfa;
}

}  // namespace

Result<ByteDfa> compile_regex(std::string_view pattern) {
  auto tree = regex::parse(pattern);
  if (!tree) return std::unexpected(tree.error());
  auto raw = determinize(**tree, kMaxDfaStates);
  if (!raw) return std::unexpected(raw.error());
  ByteDfa dfa = finished(std::move(*raw));
  if (dfa.min_chars_to_accept[0] == INT32_MAX)
    return fail(ErrorCode::kInvalidArgument, "regex matches nothing");
  return dfa;
}

Result<ByteDfa> intersect_dfas(const ByteDfa& a, const ByteDfa& b) {
  RawDfa ra{a.next, a.accepting}, rb{b.next, b.accepting};
  // Products start at state 0; reorder nothing since compile_regex always starts at 0.
  if (a.start != 0 || b.start != 0)
    return fail(ErrorCode::kInvalidArgument, "internal: automaton does not start at 0");
  ByteDfa dfa = finished(product(ra, rb, false));
  if (dfa.min_chars_to_accept[0] == INT32_MAX)
    return fail(ErrorCode::kInvalidArgument, "pattern and format admit no common string");
  return dfa;
}

bool dfa_matches(const ByteDfa& dfa, std::string_view text) {
  int32_t state = dfa.start;
  for (char c : text) {
    state = dfa.next[state][static_cast<uint8_t>(c)];
    if (state < 0) return false;
  }
  return dfa.accepting[state] != 0;
}

}  // namespace plinth::structured
