// DFA analysis: dead-state pruning and per-state distances to acceptance (chars, JSON bytes).
#include <algorithm>
#include <deque>
#include <queue>

#include "regex_dfa.h"

namespace plinth::structured {

// Removes transitions into dead states and computes per-state character distances.
void finish_dfa(ByteDfa& dfa) {
  size_t n = dfa.next.size();
  std::vector<std::vector<std::pair<int, int>>> reverse(n);  // (source, weight)
  for (size_t s = 0; s < n; ++s)
    for (int b = 0; b < 256; ++b)
      if (dfa.next[s][b] >= 0)
        reverse[dfa.next[s][b]].push_back({static_cast<int>(s), (b & 0xC0) == 0x80 ? 0 : 1});
  // 0/1 BFS backwards from accepting states.
  dfa.min_chars_to_accept.assign(n, INT32_MAX);
  std::deque<int> queue;
  for (size_t s = 0; s < n; ++s)
    if (dfa.accepting[s]) {
      dfa.min_chars_to_accept[s] = 0;
      queue.push_back(static_cast<int>(s));
    }
  while (!queue.empty()) {
    int t = queue.front();
    queue.pop_front();
    for (auto [s, w] : reverse[t]) {
      int d = dfa.min_chars_to_accept[t] + w;
      if (d < dfa.min_chars_to_accept[s]) {
        dfa.min_chars_to_accept[s] = d;
        w == 0 ? queue.push_front(s) : queue.push_back(s);
      }
    }
  }
  // Dijkstra backwards with JSON escaping costs.
  dfa.min_json_bytes_to_accept.assign(n, INT32_MAX);
  std::priority_queue<std::pair<int, int>, std::vector<std::pair<int, int>>, std::greater<>> heap;
  for (size_t s = 0; s < n; ++s)
    if (dfa.accepting[s]) {
      dfa.min_json_bytes_to_accept[s] = 0;
      heap.push({0, static_cast<int>(s)});
    }
  std::vector<std::vector<std::pair<int, int>>> reverse_bytes(n);  // (source, cost)
  for (size_t s = 0; s < n; ++s)
    for (int b = 0; b < 256; ++b)
      if (dfa.next[s][b] >= 0)
        reverse_bytes[dfa.next[s][b]].push_back(
            {static_cast<int>(s), (b == '"' || b == '\\' || b < 0x20) ? 2 : 1});
  while (!heap.empty()) {
    auto [d, t] = heap.top();
    heap.pop();
    if (d > dfa.min_json_bytes_to_accept[t]) continue;
    for (auto [s, w] : reverse_bytes[t])
      if (d + w < dfa.min_json_bytes_to_accept[s]) {
        dfa.min_json_bytes_to_accept[s] = d + w;
        heap.push({d + w, s});
      }
  }
  for (size_t s = 0; s < n; ++s)
    for (int b = 0; b < 256; ++b) {
      int t = dfa.next[s][b];
      if (t >= 0 && dfa.min_chars_to_accept[t] == INT32_MAX) dfa.next[s][b] = ByteDfa::kDead;
    }
  // Longest path to acceptance over live states; any reachable cycle makes it unbounded.
  dfa.max_chars_to_accept.assign(n, -1);
  std::vector<uint8_t> colour(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<std::pair<int, int>> stack;
  for (size_t root = 0; root < n; ++root) {
    if (colour[root] || dfa.min_chars_to_accept[root] == INT32_MAX) continue;
    stack.push_back({static_cast<int>(root), 0});
    colour[root] = 1;
    while (!stack.empty()) {
      auto& [s, b] = stack.back();
      if (b < 256) {
        int byte = b++;
        int t = dfa.next[s][byte];
        if (t < 0) continue;
        if (colour[t] == 1) {
          dfa.max_chars_to_accept[s] = ByteDfa::kUnbounded;
        } else if (colour[t] == 0) {
          colour[t] = 1;
          stack.push_back({t, 0});
        }
        continue;
      }
      int best = dfa.accepting[s] ? 0 : -1;
      if (dfa.max_chars_to_accept[s] == ByteDfa::kUnbounded) best = ByteDfa::kUnbounded;
      for (int byte = 0; byte < 256 && best != ByteDfa::kUnbounded; ++byte) {
        int t = dfa.next[s][byte];
        if (t < 0) continue;
        int m = dfa.max_chars_to_accept[t];
        if (m == ByteDfa::kUnbounded) {
          best = ByteDfa::kUnbounded;
        } else if (m >= 0) {
          best = std::max(best, m + ((byte & 0xC0) == 0x80 ? 0 : 1));
        }
      }
      dfa.max_chars_to_accept[s] = best;
      colour[s] = 2;
      stack.pop_back();
    }
  }
}

}  // namespace plinth::structured
