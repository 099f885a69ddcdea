// The compiled form of a JSON Schema: a graph of grammar nodes the byte matcher walks.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "regex_dfa.h"

namespace plinth::structured::ir {

using NodeId = int32_t;
constexpr NodeId kNoNode = -1;
constexpr int64_t kInfinite = std::numeric_limits<int32_t>::max();

// A byte trie over a fixed set of texts (enum literals, or property keys followed by '"').
struct ByteTrie {
  struct TrieNode {
    std::vector<std::pair<uint8_t, int32_t>> next;  // sorted by byte
    int32_t terminal = -1;                          // index of the text ending here
    int32_t min_to_end = 0;                         // fewest bytes to some terminal
    std::vector<int32_t> texts_below;               // sorted indices of texts through here
  };
  std::vector<TrieNode> nodes{1};

  void add(const std::string& text, int32_t index);
  void finish();  // computes min_to_end
  int32_t child(int32_t node, uint8_t byte) const {
    for (auto [b, n] : nodes[node].next)
      if (b == byte) return n;
    return -1;
  }
};

enum class Kind : uint8_t { kNumber, kString, kArray, kObject, kLiteral, kUnion };

struct NumberSpec {
  bool integer = false;
  bool has_min = false, has_max = false;
  bool exclusive_min = false, exclusive_max = false;
  double min = 0, max = 0;
  // multipleOf as a whole number >= 1 (then only integers are generated); 0 = none. With
  // `decimals` > 0 the multiple is multiple * 10^-decimals instead: numbers are generated with
  // at most `decimals` fraction digits, and multiple divides their digits read as an integer.
  double multiple = 0;
  int32_t decimals = 0;
};

struct StringSpec {
  int32_t min_length = 0;
  int32_t max_length = -1;  // -1 = unbounded
  int32_t dfa = -1;         // index into CompiledGrammar::dfas, -1 = none
};

struct ArraySpec {
  std::vector<NodeId> prefix;
  NodeId items = kNoNode;  // after the prefix; kNoNode = no further items
  int32_t min_items = 0;
  int32_t max_items = -1;
};

struct Property {
  std::string key_json;  // the key as a JSON string literal, quotes included
  NodeId value = kNoNode;
  bool required = false;
};

struct ObjectSpec {
  // Declared properties are emitted in this order; optional ones may be skipped.
  std::vector<Property> properties;
  std::vector<int32_t> next_required;  // per index i: first required index >= i, or size
  ByteTrie keys;                       // over key_json without the opening quote
  // Free-form map (no declared properties): any keys matching key_node, values of `values`.
  bool free_form = false;
  NodeId key_node = kNoNode;
  NodeId values = kNoNode;
  int32_t min_properties = 0;
  int32_t max_properties = -1;
};

struct Node {
  Kind kind = Kind::kUnion;
  NumberSpec number;
  StringSpec string;
  ArraySpec array;
  ObjectSpec object;
  ByteTrie literals;                 // kLiteral
  std::vector<NodeId> alternatives;  // kUnion, flattened: never another union
  int64_t min_bytes = kInfinite;     // shortest instance, kInfinite = no finite instance
};

struct Grammar {
  std::vector<Node> nodes;
  std::vector<ByteDfa> dfas;
  NodeId root = kNoNode;
};

}  // namespace plinth::structured::ir
