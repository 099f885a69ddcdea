// Post-build grammar passes: byte tries, shortest-instance sizes, pruning and union flattening.
#include "grammar_passes.h"

#include <algorithm>
#include <cmath>

#include "number_bounds.h"

namespace plinth::structured {
namespace ir {

void ByteTrie::add(const std::string& text, int32_t index) {
  int32_t cur = 0;
  nodes[0].texts_below.push_back(index);
  for (char ch : text) {
    uint8_t b = static_cast<uint8_t>(ch);
    int32_t next = child(cur, b);
    if (next < 0) {
      next = static_cast<int32_t>(nodes.size());
      nodes.emplace_back();
      auto& edges = nodes[cur].next;
      edges.insert(std::lower_bound(edges.begin(), edges.end(), std::pair<uint8_t, int32_t>{b, 0}),
                   {b, next});
    }
    cur = next;
    nodes[cur].texts_below.push_back(index);
  }
  if (nodes[cur].terminal < 0) nodes[cur].terminal = index;
}

void ByteTrie::finish() {
  // Children always have larger indices than parents: one reverse sweep suffices.
  for (size_t i = nodes.size(); i-- > 0;) {
    auto& n = nodes[i];
    int32_t best = n.terminal >= 0 ? 0 : INT32_MAX;
    for (auto [b, c] : n.next) best = std::min(best, nodes[c].min_to_end + 1);
    n.min_to_end = best;
    std::sort(n.texts_below.begin(), n.texts_below.end());
  }
}

}  // namespace ir

namespace {
using ir::Kind;
using ir::kInfinite;

int64_t add_sat(int64_t a, int64_t b) { return std::min<int64_t>(kInfinite, a + b); }

int64_t node_min_bytes(const ir::Grammar& g, const ir::Node& n) {
  auto min_of = [&](ir::NodeId id) { return id < 0 ? kInfinite : g.nodes[id].min_bytes; };
  switch (n.kind) {
    case Kind::kLiteral:
      return n.literals.nodes[0].min_to_end == INT32_MAX ? kInfinite
                                                         : n.literals.nodes[0].min_to_end;
    case Kind::kNumber:
      return detail::number_feasible(n.number) ? 1 : kInfinite;
    case Kind::kString: {
      const auto& s = n.string;
      if (s.max_length >= 0 && s.max_length < s.min_length) return kInfinite;
      int64_t chars = s.min_length;
      if (s.dfa >= 0) {
        const ByteDfa& dfa = g.dfas[s.dfa];
        int32_t shortest = dfa.min_chars_to_accept[dfa.start];
        int32_t longest = dfa.max_chars_to_accept[dfa.start];
        if (s.max_length >= 0 && shortest > s.max_length) return kInfinite;
        if (longest != ByteDfa::kUnbounded && longest < s.min_length) return kInfinite;
        chars = std::max<int64_t>(chars, shortest);
      }
      return 2 + chars;
    }
    case Kind::kArray: {
      const auto& s = n.array;
      if (s.max_items >= 0 && s.max_items < s.min_items) return kInfinite;
      int64_t total = 2;
      int32_t prefix = std::min<int32_t>(s.min_items, static_cast<int32_t>(s.prefix.size()));
      for (int32_t i = 0; i < prefix; ++i)
        total = add_sat(total, add_sat(min_of(s.prefix[i]), i > 0 ? 1 : 0));
      // The rest are all `items`: one multiplication, not a loop over minItems.
      int64_t rest = s.min_items - prefix;
      if (rest > 0) {
        int64_t each = add_sat(min_of(s.items), 1);
        total = each >= kInfinite ? kInfinite : add_sat(total, std::min(kInfinite, each * rest));
      }
      return total;
    }
    case Kind::kObject: {
      const auto& s = n.object;
      if (s.free_form) {
        if (s.max_properties >= 0 && s.max_properties < s.min_properties) return kInfinite;
        int64_t per = add_sat(min_of(s.key_node), add_sat(min_of(s.values), 2));
        return s.min_properties == 0 ? 2 : add_sat(2, per * s.min_properties);
      }
      int64_t total = 2;
      bool first = true;
      for (const auto& p : s.properties) {
        if (!p.required) continue;
        total = add_sat(total, add_sat(min_of(p.value),
                                       static_cast<int64_t>(p.key_json.size()) + (first ? 1 : 2)));
        first = false;
      }
      return total;
    }
    case Kind::kUnion: {
      int64_t best = kInfinite;
      for (ir::NodeId a : n.alternatives) best = std::min(best, min_of(a));
      return best;
    }
  }
  return kInfinite;
}

void flatten_union(const ir::Grammar& g, ir::NodeId id, std::vector<uint8_t>& seen,
                   std::vector<ir::NodeId>& out) {
  if (seen[id]) return;
  seen[id] = 1;
  const ir::Node& n = g.nodes[id];
  if (n.kind != Kind::kUnion) {
    out.push_back(id);
    return;
  }
  for (ir::NodeId a : n.alternatives) flatten_union(g, a, seen, out);
}

}  // namespace

Status finish_grammar(ir::Grammar& g) {
  for (auto& n : g.nodes) {
    n.literals.finish();
    n.min_bytes = kInfinite;
  }
  // Least fixed point: sizes only shrink, so iterate until nothing changes.
  for (bool changed = true; changed;) {
    changed = false;
    for (auto& n : g.nodes) {
      int64_t m = node_min_bytes(g, n);
      if (m < n.min_bytes) {
        n.min_bytes = m;
        changed = true;
      }
    }
  }
  if (g.nodes[g.root].min_bytes >= kInfinite)
    return fail(ErrorCode::kInvalidArgument, "schema admits no finite instance (none under 2 GiB)");
  auto finite = [&](ir::NodeId id) { return id >= 0 && g.nodes[id].min_bytes < kInfinite; };
  for (auto& n : g.nodes) {
    if (n.kind == Kind::kUnion) {
      std::erase_if(n.alternatives, [&](ir::NodeId a) { return !finite(a); });
    } else if (n.kind == Kind::kArray) {
      auto& s = n.array;
      for (size_t i = 0; i < s.prefix.size(); ++i)
        if (!finite(s.prefix[i])) {
          s.prefix.resize(i);
          s.items = ir::kNoNode;
          s.max_items = static_cast<int32_t>(i);
          break;
        }
      if (!finite(s.items)) s.items = ir::kNoNode;
    } else if (n.kind == Kind::kObject) {
      auto& s = n.object;
      if (s.free_form && !finite(s.values)) s.max_properties = 0;
      std::erase_if(s.properties, [&](const ir::Property& p) { return !finite(p.value); });
    }
  }
  // Unions list only concrete kinds, so the matcher forks once per value.
  std::vector<uint8_t> seen(g.nodes.size());
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].kind != Kind::kUnion) continue;
    std::fill(seen.begin(), seen.end(), 0);
    std::vector<ir::NodeId> flat;
    flatten_union(g, static_cast<ir::NodeId>(i), seen, flat);
    g.nodes[i].alternatives = std::move(flat);
  }
  for (auto& n : g.nodes) {
    if (n.kind != Kind::kObject || n.object.free_form) continue;
    auto& s = n.object;
    int32_t count = static_cast<int32_t>(s.properties.size());
    s.keys = {};
    for (int32_t i = 0; i < count; ++i) s.keys.add(s.properties[i].key_json.substr(1), i);
    s.keys.finish();
    s.next_required.assign(count + 1, count);
    for (int32_t i = count - 1; i >= 0; --i)
      s.next_required[i] = s.properties[i].required ? i : s.next_required[i + 1];
  }
  return ok();
}

}  // namespace plinth::structured
