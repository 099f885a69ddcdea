// One knowledge base's in-memory approximate nearest-neighbour index (hnswlib HNSW, inner product
// on unit vectors, so distance = 1 - cosine). Private to the vectors module.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "plinth/core/result.h"
#include "plinth/vectors/vector_store.h"

namespace plinth::vectors {

struct IndexPoint {
  uint64_t label;     // the chunk's row id in vectors_chunks
  const float* data;  // `dimensions` floats, unit length
};

struct Neighbour {
  uint64_t label;
  float score;  // inner product (cosine for unit vectors)
};

// Not synchronized: the owner serializes writers against readers (search() may run
// concurrently with other search() calls).
class AnnIndex {
 public:
  AnnIndex(int dimensions, const IndexOptions& options);
  ~AnnIndex();
  AnnIndex(const AnnIndex&) = delete;
  AnnIndex& operator=(const AnnIndex&) = delete;

  int dimensions() const { return dimensions_; }
  // Points present and not deleted.
  size_t live() const;
  // Points marked deleted (still in the graph).
  size_t deleted() const;

  // Adds points with new labels, growing the capacity as needed; large batches are inserted on
  // several threads. kInternal when hnswlib fails (out of memory).
  Status add(std::span<const IndexPoint> points);
  // Marks a label deleted (searches skip it); unknown or already deleted labels are ignored.
  void remove(uint64_t label);
  // Up to k nearest live points, best first.
  Result<std::vector<Neighbour>> search(const float* query, size_t k) const;

 private:
  struct Impl;
  int dimensions_;
  IndexOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace plinth::vectors
