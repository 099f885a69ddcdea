// Vector search figures: synthetic embeddings, exact top-k by brute force, and recall@k and search
// latency of a VectorStore against it (tests/vectors/vectors_bench and `plinth bench documents`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::bench {

inline constexpr const char* kBenchAccount = "000000000000";
inline constexpr const char* kBenchKnowledgeBase = "kb-bench";

struct VectorSet {
  int n = 0;
  int dims = 0;
  std::vector<float> base;  // n rows of dims, L2-normalized
  std::vector<std::vector<float>> queries;
};

// kind "sphere": uniform on the unit sphere (the hard case: no structure). "clustered": 1,000
// Gaussian clusters with a spread comparable to their separation, closer to text embeddings.
VectorSet generate_vectors(const std::string& kind, int n, int dims, int queries, uint32_t seed);

// Exact top-k row indexes by inner product for every query, on every core.
std::vector<std::vector<int>> exact_top_k(const VectorSet& set, int k);

// Adds the rows to knowledge base kBenchKnowledgeBase the way the pipeline does: add() in
// batches of 1,000 chunks, one transaction each; a row's document id is its index.
Status add_vectors(vectors::VectorStore& store, const VectorSet& set);

struct SearchFigures {
  double recall = 0;            // hits in the exact top k / (queries * k)
  std::vector<double> wall_ms;  // per query
  std::vector<double> cpu_ms;   // the searching thread's CPU time per query
};

Result<SearchFigures> measure_search(vectors::VectorStore& store, const VectorSet& set,
                                     const std::vector<std::vector<int>>& exact, int k);

}  // namespace plinth::bench
