// Distance to close: the fewest bytes that still complete the current value (for steering).
#include <algorithm>

#include "matcher_core.h"
#include "number_bounds.h"

namespace plinth::structured::detail {
using ir::Kind;

namespace {
int64_t frame_distance(const ir::Grammar& g, const Frame& f, bool child_active) {
  if (f.node == kRootFrame) return f.phase == 0 && !child_active ? g.nodes[g.root].min_bytes : 0;
  const ir::Node& n = g.nodes[f.node];
  if (f.phase == 0 && !child_active) return n.min_bytes;
  switch (n.kind) {
    case Kind::kString: {
      int64_t need = std::max(0, n.string.min_length - f.a);
      if (n.string.dfa < 0) {
        int64_t pending = f.phase == 2 ? 1 : f.phase == 3 ? 4 - f.aux : f.phase == 4 ? f.aux : 0;
        return pending + need + 1;
      }
      // With a pattern, count JSON bytes along the DFA's cheapest accepting path.
      const ByteDfa& dfa = g.dfas[n.string.dfa];
      int64_t bytes = dfa.min_json_bytes_to_accept[f.b];
      if (f.phase == 2) {  // the escape letter finishes a character: count from after it
        bytes = ir::kInfinite;
        for (char e : kEscapedBytes) {
          int32_t t = dfa.next[f.b][static_cast<uint8_t>(e)];
          if (t >= 0) bytes = std::min<int64_t>(bytes, 1 + dfa.min_json_bytes_to_accept[t]);
        }
        need = std::max<int64_t>(0, need - 1) + 1;
      }
      return std::max(need, bytes) + 1;
    }
    case Kind::kNumber:
      return number_complete_phase(f.phase) && number_value_ok(n.number, f) ? 0 : 1;
    case Kind::kLiteral:
      return n.literals.nodes[f.b].min_to_end;
    case Kind::kArray: {
      const auto& s = n.array;
      int32_t count = f.a + (child_active ? 1 : 0);
      int64_t bytes = 1;
      if (f.phase == 3 && !child_active) {
        ir::NodeId item = array_item(s, count);
        if (item != ir::kNoNode) bytes += g.nodes[item].min_bytes;
        ++count;
      }
      int32_t prefix = std::min<int32_t>(s.min_items, static_cast<int32_t>(s.prefix.size()));
      for (int32_t i = count; i < prefix; ++i) bytes += 1 + g.nodes[s.prefix[i]].min_bytes;
      int64_t rest = s.min_items - std::max(count, prefix);
      if (rest > 0)  // the rest are all `items`: no loop over minItems
        bytes += rest * (1 + (s.items == ir::kNoNode ? 0 : g.nodes[s.items].min_bytes));
      return bytes;
    }
    case Kind::kObject: {
      const auto& s = n.object;
      int64_t bytes = 1;
      if (s.free_form) {
        int32_t count = f.a;
        if (f.phase == 2 || f.phase == 3 || f.phase == 4) {
          if (f.phase == 2) bytes += child_active ? 1 : 3;
          if (f.phase == 3) bytes += 1;
          if (!child_active || f.phase != 4) bytes += g.nodes[s.values].min_bytes;
          ++count;
        } else if (f.phase == 6) {
          bytes += 3 + g.nodes[s.values].min_bytes;
          ++count;
        }
        int64_t per = 4 + g.nodes[s.key_node].min_bytes + g.nodes[s.values].min_bytes;
        bytes += std::max(0, s.min_properties - count) * per;
        return bytes;
      }
      int32_t next = f.a;
      if (f.phase == 2) {
        int64_t value = ir::kInfinite;
        int32_t typed = f.a;  // the earliest key this prefix can still become
        for (int32_t j : s.keys.nodes[f.b].texts_below)
          if (j >= f.a) {
            value = std::min(value, g.nodes[s.properties[j].value].min_bytes);
            typed = std::max(typed, j);
            break;
          }
        bytes += s.keys.nodes[f.b].min_to_end + 1 + (value < ir::kInfinite ? value : 1);
        next = typed + 1;
      } else if (f.phase == 3 || f.phase == 4) {
        if (f.phase == 3) bytes += 1;
        if (!(f.phase == 4 && child_active)) bytes += g.nodes[s.properties[f.b].value].min_bytes;
        next = f.b + 1;
      }
      // After '{' or ',' the next property needs no comma; after a property each one does.
      bool first = f.phase == 1 || f.phase == 6;
      if (f.phase == 2) first = false;
      bool need_one = f.phase == 6;
      for (size_t i = next; i < s.properties.size(); ++i) {
        const auto& p = s.properties[i];
        if (!p.required && !need_one) continue;
        bytes += p.key_json.size() + (first ? 1 : 2) + g.nodes[p.value].min_bytes;
        need_one = false;
        first = false;
      }
      return bytes;
    }
    default:
      return 0;
  }
}
}  // namespace

int64_t distance_to_close(const ir::Grammar& g, const MatcherState& state) {
  if (is_complete(g, state)) return 0;
  int64_t best = ir::kInfinite;
  for (const auto& t : state.threads) {
    int64_t total = 0;
    for (size_t i = 0; i < t.size(); ++i) total += frame_distance(g, t[i], i + 1 < t.size());
    best = std::min(best, total);
  }
  return best;
}

}  // namespace plinth::structured::detail
